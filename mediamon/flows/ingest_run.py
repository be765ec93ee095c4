"""The monitoring run in one process (`mediamon run`, the demo): drain the spool → fetch pages again → select and
poll feeds → chunks of new entries through fetch, enrich and index, overlapped → feed states → run record.

The Airflow DAG runs the same stage functions as tasks (`flows/feed_polling.py`, `flows/chunks.py`,
`flows/run_report.py`). Nothing here needs Elasticsearch but indexing: while it is away, feeds are polled and
articles fetched and enriched into the spool, the run says so (`RunReport.index_error`), and the next run indexes
them first. A run holds its folder's lock from start to end, so a killed run's spool is drained by the next. A run
stopped by an expected error (a configuration error found as it starts, the fetching process lost) closes with
its record saying so; a killed run's record is written by the drain that finishes it, ending where the run stopped.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from pathlib import Path

from enrich.annotate import Enricher, load_enricher
from ingest.sources import Source
from mediamon.core.errors import MediamonError, WorkerLost
from mediamon.core.runs import EntryOutcome, RunReport
from mediamon.core.settings import Settings
from mediamon.flows.batches import batch_part, batch_path, folder_lock, read_json, read_jsonl, run_dir, write_stats
from mediamon.flows.chunks import enrich_chunk, fetch_chunk, index_chunk, is_enriched
from mediamon.flows.feed_polling import (
    chunks_within,
    fetch_feeds,
    new_run_id,
    pending_chunks,
    plan_chunks,
    seconds_since,
    select_feeds,
    update_feed_states,
)
from mediamon.flows.page_retry import retry_pages
from mediamon.flows.run_report import finish_run, note_index_error, stop_reason
from mediamon.flows.spool import claim, is_abandoned, note_end, run_folders
from search.client import EsUnavailable

LOG = logging.getLogger(__name__)

# Chunks the fetching process works ahead of the ones being enriched.
FETCH_AHEAD = 2
# Chunks enriched at once: the next chunk's batches reach the model while the last one's finish and are written.
ENRICH_AHEAD = 2
# A run's first chunk, in entries (the next ones double up to `stream_batch_size`): enrichment starts once these
# few pages are in, not a whole chunk of them. The DAG keeps whole chunks: each of its tasks loads the model anew.
FIRST_CHUNK = 32
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: this worker is killed when the process that started it dies (even by SIGKILL), never orphaned."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the request took hold
        os._exit(1)


def _stop_now(signum: int, _frame: object) -> None:
    os._exit(128 + signum)


def start_fetch_worker() -> None:
    """The fetching process's start: it dies with its parent, and Ctrl-C (sent to the whole process group) ends it
    at once, without a traceback, idle or at work. Ending is safe: its files are written whole or not at all, so
    the chunk it was on is fetched again by the next run. Otherwise it would finish that chunk, and the next one
    already handed to it, before the run could stop (minutes when their hosts are down and every page retries)."""
    _die_with_parent()
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a run in the background ignores Ctrl-C, and so do we
        signal.signal(signal.SIGINT, _stop_now)


def process_chunks(
    settings: Settings, chunks: Sequence[tuple[str, str]], progress: Callable[[int], None] | None = None
) -> str | None:
    """Take chunks `(run_id, chunk file)` through fetch → enrich → index, each from where it stopped, overlapped:
    another process fetches and extracts, `FETCH_AHEAD` chunks ahead (apart, so its threads never hold up the model
    on the GIL); two threads enrich, `ENRICH_AHEAD` chunks at once (the model loads while the first chunk is
    fetched); a thread indexes, in the chunks' order.

    Returns why indexing stopped (Elasticsearch away), or None: from the first chunk that could not be indexed on,
    the chunks stay in the spool, still fetched and enriched, so nothing fetched is lost. `progress` is called with
    each chunk's number of entries once it is enriched. Raises WorkerLost when the fetching process dies (its chunks
    stay in the spool too).
    """
    if not chunks:
        return None
    enricher = _shared_loader(settings)
    index_error: str | None = None
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(1, mp_context=spawn, initializer=start_fetch_worker) as fetching,
        ThreadPoolExecutor(ENRICH_AHEAD, thread_name_prefix="enrich-chunks") as enriching,
        ThreadPoolExecutor(1, thread_name_prefix="index-chunks") as indexing,
    ):
        waiting = deque(chunks)
        fetched: deque[tuple[str, str, Future[str]]] = deque()
        enriched: deque[tuple[str, str, Future[str]]] = deque()
        indexed: list[Future[str]] = []

        def fetch_next() -> None:
            run_id, path = waiting.popleft()
            fetched.append((run_id, path, fetching.submit(fetch_chunk, settings, run_id, path)))

        def enrich_next() -> None:
            run_id, path, future = fetched.popleft()
            articles_path = future.result()
            if waiting:
                fetch_next()
            enriched.append((run_id, path, enriching.submit(enrich_chunk, settings, run_id, articles_path, enricher)))

        try:
            while waiting and len(fetched) < FETCH_AHEAD:
                fetch_next()
            if not is_enriched(chunks[0][1]):
                enricher()  # while the first chunk is fetched
            while fetched or enriched:
                while fetched and len(enriched) < ENRICH_AHEAD:
                    enrich_next()
                run_id, path, future = enriched.popleft()
                enriched_path = future.result()
                index_error = index_error or _first_error(indexed)
                if index_error is None:  # once the index is away, the rest waits in the spool, in order
                    indexed.append(indexing.submit(index_chunk, settings, run_id, enriched_path))
                if progress:
                    progress(sum(1 for _ in read_jsonl(Path(path))))
            for future in indexed:
                index_error = index_error or _error_of(future)
        except BrokenProcessPool as exc:
            raise WorkerLost(
                "the page-fetching process ended abruptly (killed, or out of memory?); the entries this run polled"
                " wait in the spool, and the next `mediamon run` finishes them"
            ) from exc
        finally:
            for _, _, future in [*fetched, *enriched]:
                future.cancel()
    return index_error


def _shared_loader(settings: Settings) -> Callable[[], Enricher]:
    """The enricher of `settings`, loaded once on first call, whichever thread calls first."""
    lock = threading.Lock()

    @cache
    def load() -> Enricher:
        return load_enricher(settings)

    def enricher() -> Enricher:
        with lock:
            return load()

    return enricher


def _error_of(future: Future[str]) -> str | None:
    try:
        future.result()
    except EsUnavailable as exc:
        return str(exc)
    return None


def _first_error(futures: list[Future[str]]) -> str | None:
    return next((error for future in futures if future.done() and (error := _error_of(future))), None)


def drain_spool(settings: Settings, run_id: str, budget: int | None = None) -> dict:
    """Finish the entries earlier runs left in the spool, oldest run first, within `budget` entries; each of those
    runs gets its record rewritten with the outcomes (its end stays its own; this run goes into its `drained_by`).
    Returns what was settled (`drained`, `drained_runs`) and how many entries it took (`entries`); `index_error`
    when Elasticsearch was away."""
    started = time.perf_counter()
    settled: Counter[str] = Counter()
    runs: list[str] = []
    used, index_error = 0, None
    for folder in run_folders(settings, exclude=run_id):
        if budget is not None and used >= budget or not is_abandoned(settings, folder):
            continue
        with claim(folder) as taken:
            if not taken:
                continue
            note_end(folder)
            earlier = read_json(folder / "run.json")["run_id"]
            plan_chunks(settings, earlier)
            chosen = chunks_within(pending_chunks(folder), None if budget is None else budget - used)
            index_error = process_chunks(settings, [(earlier, path) for path in chosen]) or index_error
            used += sum(sum(1 for _ in read_jsonl(Path(path))) for path in chosen)
            settled.update(_settled(folder, chosen))
            if not (folder / "stats" / "state.json").exists():
                update_feed_states(settings, earlier)
            finish_run(settings, earlier, drained_by=run_id)
            runs.append(earlier)
    stats = {"seconds": seconds_since(started), "drained": dict(settled), "drained_runs": runs}
    write_stats(run_dir(settings, run_id), "drain", None, stats)
    return {**stats, "entries": used, "index_error": index_error}


def _settled(folder: Path, chunks: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in chunks:
        outcomes = batch_path(folder, "outcomes-chunk", batch_part(Path(path)))
        if outcomes.exists():
            counts.update(str(EntryOutcome.from_json(row).outcome) for row in read_jsonl(outcomes))
    return counts


def run_once(
    settings: Settings,
    sources: Sequence[Source] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RunReport:
    """Poll every feed once, reading each in full, and index what is new, without Airflow.

    The spool of earlier runs goes first, then pages due to be fetched again, then this run's new entries, at most
    `max_entries_per_run` in all (the rest wait in the spool). Feed states and the run record are written as in
    the DAG. One bad feed or page never stops the run; with Elasticsearch away, the report says why
    (`index_error`) and everything fetched waits in the spool. `progress` is told what is done of what: feeds
    polled of the feeds, entries through the pipeline of this run's entries. An expected error that stops the run
    (a configuration error, say, found when the enricher loads) is raised once the run's record says so.
    """
    run_id = new_run_id()
    folder = run_dir(settings, run_id)
    with folder_lock(folder, exclusive=True):
        try:
            _run_stages(settings, run_id, sources, progress)
        except MediamonError as exc:
            if (folder / "run.json").exists():  # a run stopped before it began has no record
                finish_run(settings, run_id, error=stop_reason(exc))
            raise
        return finish_run(settings, run_id)


def _run_stages(
    settings: Settings,
    run_id: str,
    sources: Sequence[Source] | None,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    """`run_once`'s stages, up to its record: start, drain the spool, fetch pages again, poll, chunks, feed states."""
    budget = settings.max_entries_per_run
    batches = select_feeds(settings, run_id, sources, every_feed=True, owner="cli")
    drained = drain_spool(settings, run_id, budget)
    retry_pages(settings, run_id)
    feeds, polled = sum(len(batch["feeds"]) for batch in batches), 0
    for batch in batches:
        fetch_feeds(settings, run_id, batch, conditional=False)
        polled += len(batch["feeds"])
        if progress:
            progress("feeds polled", polled, feeds)
    chunks = plan_chunks(settings, run_id, budget - drained["entries"], first=FIRST_CHUNK)
    total, done = sum(sum(1 for _ in read_jsonl(Path(path))) for path in chunks), 0

    def entries_done(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress("entries", done, total)

    pairs = [(run_id, path) for path in chunks]
    index_error = process_chunks(settings, pairs, entries_done) or drained["index_error"]
    if index_error:
        note_index_error(settings, run_id, index_error)
    update_feed_states(settings, run_id)
