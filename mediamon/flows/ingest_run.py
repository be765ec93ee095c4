"""The monitoring run as stage functions: select feeds → fetch feeds → fetch articles → enrich → index → feed state
→ run record.

Every stage takes settings, the run id and small references (feed URLs, paths of JSONL.gz batch files under
`data_dir/batches/<run_id>`) and returns such references, so the Airflow DAG maps them over batches and `run_once`
composes them in one process. A failing feed or page never fails a stage: it is recorded; Elasticsearch being
down does fail it (the DAG retries).
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from elasticsearch import Elasticsearch

from enrich.annotate import Enricher, annotate, load_enricher
from ingest.dedup import title_key
from ingest.feed_state import FeedPoll, IntervalPolicy, advance, is_due, read_feed
from ingest.fetch import Fetcher, Validators
from ingest.pages import article_from_page
from ingest.sources import Source, load_sources
from mediamon.core.feeds import HEALTHY, FetchOutcome
from mediamon.core.records import Article, Enrichment, FeedEntry
from mediamon.core.runs import RunReport
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from mediamon.flows.batches import (
    batch_part,
    batch_path,
    from_json,
    read_json,
    read_jsonl,
    read_stats,
    run_dir,
    to_json,
    write_json,
    write_jsonl,
    write_stats,
)
from mediamon.flows.indexing import index_enriched
from search.client import check_health, make_client
from search.feed_records import load_states, save_states
from search.index_versions import articles_alias, ensure_articles_index, ensure_feeds_index, feeds_alias
from search.run_records import save_run
from search.write import existing_ids, recent_title_keys

LOG = logging.getLogger(__name__)

# Batches `stream_articles` fetches ahead of the one being enriched.
FETCH_AHEAD = 2


class FeedBatch(TypedDict):
    """One batch of feeds to poll: its number in the run and the feed URLs."""

    part: int
    feeds: list[str]


def new_run_id() -> str:
    """A run id for runs started outside Airflow."""
    return f"manual__{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"


def _seconds(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def batch_feeds(feed_urls: Sequence[str], size: int) -> list[FeedBatch]:
    """Batches of about `size` feeds, in order; one host's feeds stay in one batch (its politeness limits hold)."""
    by_host: dict[str, list[str]] = {}
    for url in feed_urls:
        by_host.setdefault(_host(url), []).append(url)
    batches: list[list[str]] = []
    current: list[str] = []
    for group in by_host.values():
        if current and len(current) + len(group) > size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return [FeedBatch(part=n, feeds=feeds) for n, feeds in enumerate(batches)]


def _sources_by_feed(sources: Iterable[Source]) -> dict[str, Source]:
    """Feed URL -> source (a feed listed twice belongs to its first source)."""
    by_feed: dict[str, Source] = {}
    for source in sources:
        for url in source.feeds:
            by_feed.setdefault(str(url), source)
    return by_feed


def _run_sources(folder: Path) -> dict[str, Source]:
    return {s["id"]: Source.model_validate(s) for s in read_json(folder / "run.json")["sources"]}


def _polls(folder: Path) -> list[FeedPoll]:
    return [FeedPoll.from_json(row) for path in sorted(folder.glob("feeds-*.jsonl.gz")) for row in read_jsonl(path)]


# --- stages ---


def select_feeds(
    settings: Settings, run_id: str, sources: Sequence[Source] | None = None, *, every_feed: bool = False
) -> list[FeedBatch]:
    """Start run `run_id`: the feeds due now (every feed with `every_feed`), most overdue first, in batches.

    Sources default to the feeds file (its bad entries go into the run record). Raises EsUnavailable when
    Elasticsearch is down.
    """
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    source_errors: list[str] = []
    if sources is None:
        loaded = load_sources(settings.feeds_path)
        sources, source_errors = loaded.sources, [str(e) for e in loaded.errors]
    client = make_client(settings)
    check_health(client, settings.es_url)
    alias = ensure_feeds_index(client, settings)
    urls = list(_sources_by_feed(sources))
    due = urls
    if not every_feed:
        now = datetime.now(UTC)
        states = load_states(client, alias, urls)
        never = datetime.min.replace(tzinfo=UTC)
        due = sorted(
            (url for url in urls if is_due(states.get(url), now)),
            key=lambda url: states[url].next_due_at if url in states else never,
        )
    run_file = folder / "run.json"
    begun = read_json(run_file)["started_at"] if run_file.exists() else datetime.now(UTC).isoformat()
    write_json(
        run_file,
        {
            "run_id": run_id,
            "mode": "all" if every_feed else "due",
            "started_at": begun,
            "source_errors": source_errors,
            "sources": [source.model_dump(mode="json") for source in sources],
        },
    )
    batches = batch_feeds(due, settings.feed_batch_size)
    write_stats(folder, "select", None, {"seconds": _seconds(started), "feeds": len(urls), "due": len(due)})
    LOG.info("run %s: %d of %d feeds due, in %d batches", run_id, len(due), len(urls), len(batches))
    return batches


def _unknown_entries(
    client: Elasticsearch, alias: str, entries: list[FeedEntry], repost_days: int
) -> tuple[list[FeedEntry], int]:
    """The entries whose article is not indexed yet and that are no re-post under a new URL of a title their source
    published within `repost_days` (one lookup each), and how many distinct entries were known."""
    by_id: dict[str, FeedEntry] = {}
    for entry in entries:
        try:
            by_id.setdefault(article_id(entry.url), entry)
        except ValueError:
            LOG.warning("skipped entry %r of %s because its link is not a usable URL", entry.url, entry.feed_url)
    if not by_id or not client.indices.exists_alias(name=alias):
        return list(by_id.values()), 0
    known = existing_ids(client, alias, by_id)
    new = [entry for doc_id, entry in by_id.items() if doc_id not in known]
    keys = {entry.url: title_key(entry.source_id, entry.title) for entry in new}
    reposts = recent_title_keys(client, alias, (k for k in keys.values() if k), repost_days)
    fresh = []
    for entry in new:
        if keys[entry.url] in reposts:
            LOG.info("skipped entry %r because %s posted the same title recently", entry.url, entry.source_id)
        else:
            fresh.append(entry)
    return fresh, len(by_id) - len(fresh)


def fetch_feeds(settings: Settings, run_id: str, batch: FeedBatch, *, conditional: bool = True) -> str:
    """Poll one batch of feeds; record each poll and write the entries not indexed yet. Returns the entries file.

    `conditional` sends the validators of the last poll and passes on nothing from an unchanged body; without
    it every body is read in full (its status still says `unchanged` when the hash is the same).
    """
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    sources = _run_sources(folder)
    source_of = _sources_by_feed(sources.values())
    client = make_client(settings)
    states = load_states(client, feeds_alias(settings), batch["feeds"])
    validators = {url: Validators(s.etag, s.last_modified) for url, s in states.items()} if conditional else {}
    polls: list[FeedPoll] = []
    entries: list[FeedEntry] = []
    with Fetcher(settings) as fetcher:
        for result in fetcher.fetch_many(batch["feeds"], kind="feed", validators=validators):
            source, previous = source_of[result.requested_url], states.get(result.requested_url)
            poll, found = read_feed(result, source.id, previous and previous.body_hash, source.poll_minutes)
            polls.append(poll)
            if poll.status not in HEALTHY:
                LOG.warning("skipped feed %r because %s: %s", poll.feed_url, poll.status, poll.error)
            elif poll.status is FetchOutcome.OK or not conditional:
                entries.extend(found)
    new, known = _unknown_entries(client, articles_alias(settings), entries, settings.repost_days)
    write_jsonl(batch_path(folder, "feeds", batch["part"]), (poll.to_json() for poll in polls))
    path = batch_path(folder, "entries", batch["part"])
    write_jsonl(path, (to_json(entry) for entry in new))
    stats = {"seconds": _seconds(started), "entries": len(entries), "known": known, "new": len(new)}
    write_stats(folder, "feeds", batch["part"], stats)
    return str(path)


def fetch_articles(settings: Settings, run_id: str, entries_path: str) -> str:
    """Fetch and extract the pages of one batch of new entries. Returns the articles file."""
    started = time.perf_counter()
    folder, part = run_dir(settings, run_id), batch_part(Path(entries_path))
    by_url = {entry.url: entry for entry in (from_json(FeedEntry, row) for row in read_jsonl(Path(entries_path)))}
    articles: list[Article] = []
    failures: list[dict[str, str]] = []
    if by_url:
        sources, skew = _run_sources(folder), timedelta(hours=settings.future_skew_hours)
        with Fetcher(settings) as fetcher:
            for page in fetcher.fetch_many(list(by_url), kind="page"):
                entry = by_url[page.requested_url]
                if not page.ok:
                    reason = f"{page.status}: {page.error}"
                    failures.append({"stage": "fetch", "url": page.requested_url, "reason": reason})
                    LOG.warning("skipped article %r because %s", page.requested_url, reason)
                    continue
                source = sources[entry.source_id]
                articles.append(article_from_page(entry, page, source, settings.keep_raw_html, future_skew=skew))
    path = batch_path(folder, "articles", part)
    write_jsonl(path, (to_json(article) for article in articles))
    stats = {"seconds": _seconds(started), "fetched": len(articles), "failures": failures}
    write_stats(folder, "articles", part, stats)
    return str(path)


def enrich_articles(
    settings: Settings, run_id: str, articles_paths: Iterable[str], enricher: Enricher | None = None
) -> list[str]:
    """Enrich every batch of articles; the model is loaded once (and only if there is an article). Returns the files."""
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    paths: list[str] = []
    enriched = 0
    for articles_path in articles_paths:
        articles = [from_json(Article, row) for row in read_jsonl(Path(articles_path))]
        if articles and enricher is None:
            enricher = load_enricher(settings)
        enrichments = annotate(articles, enricher) if articles else []
        path = batch_path(folder, "enriched", batch_part(Path(articles_path)))
        rows = ({"article": to_json(a), "enrichment": to_json(e)} for a, e in zip(articles, enrichments, strict=True))
        enriched += write_jsonl(path, rows)
        paths.append(str(path))
    # Keyed by the first batch: calls on other batches (as `stream_articles` makes) keep their own stats.
    first = batch_part(Path(paths[0])) if paths else None
    write_stats(folder, "enrich", first, {"seconds": _seconds(started), "enriched": enriched})
    return paths


def index_articles(settings: Settings, run_id: str, enriched_paths: Iterable[str]) -> dict[str, int]:
    """Index the enriched batches (`create`: an article already there counts as a duplicate). Returns counts."""
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    client = make_client(settings)
    alias: str | None = None
    indexed = duplicates = 0
    created_by_feed: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    first: int | None = None
    for enriched_path in enriched_paths:
        first = batch_part(Path(enriched_path)) if first is None else first
        rows = [
            (from_json(Article, row["article"]), from_json(Enrichment, row["enrichment"]))
            for row in read_jsonl(Path(enriched_path))
        ]
        if not rows:
            continue
        alias = alias or ensure_articles_index(client, settings, len(rows[0][1].embedding), rows[0][1].model)
        there = existing_ids(client, alias, (article.id for article, _ in rows))
        result = index_enriched(client, alias, rows)
        indexed, duplicates = indexed + result.created, duplicates + result.duplicates
        for article, _ in rows:
            if article.id in result.failed:
                failures.append({"stage": "index", "url": article.url, "reason": result.failed[article.id]})
            elif article.id not in there and article.feed_url:
                created_by_feed[article.feed_url] += 1
    stats = {
        "seconds": _seconds(started),
        "indexed": indexed,
        "duplicates": duplicates,
        "failures": failures,
        "created_by_feed": dict(created_by_feed),
    }
    write_stats(folder, "index", first, stats)  # keyed by the first batch, as in `enrich_articles`
    return {"indexed": indexed, "duplicates": duplicates, "failed": len(failures)}


def update_feed_states(settings: Settings, run_id: str) -> dict[str, int]:
    """Write each polled feed's new state (status, validators, hash, interval, next due time). Returns statuses."""
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    polls = _polls(folder)
    created: Counter[str] = Counter()
    for stats in read_stats(folder):
        created.update(stats.get("created_by_feed", {}))
    client = make_client(settings)
    alias = feeds_alias(settings)
    previous = load_states(client, alias, (poll.feed_url for poll in polls))
    policy = IntervalPolicy.from_settings(settings)
    save_states(client, alias, (advance(previous.get(p.feed_url), p, created[p.feed_url], policy) for p in polls))
    write_stats(folder, "state", None, {"seconds": _seconds(started)})
    return dict(Counter(str(poll.status) for poll in polls))


def finish_run(settings: Settings, run_id: str) -> RunReport:
    """Sum up the run from its files, store the run record and delete the run's batch files."""
    folder = run_dir(settings, run_id)
    run = read_json(folder / "run.json")
    report = RunReport(
        run_id=run_id,
        mode=run["mode"],
        started_at=datetime.fromisoformat(run["started_at"]),
        ended_at=datetime.now(UTC),
        feeds={poll.feed_url: str(poll.status) for poll in _polls(folder)},
        source_errors=run["source_errors"],
    )
    failed_by_stage: Counter[str] = Counter()
    for stats in read_stats(folder):
        stage = stats["stage"]
        report.seconds[stage] = round(report.seconds.get(stage, 0.0) + stats["seconds"], 3)
        report.entries += stats.get("entries", 0)
        report.known += stats.get("known", 0)
        report.fetched += stats.get("fetched", 0)
        report.indexed += stats.get("indexed", 0)
        report.duplicates += stats.get("duplicates", 0)
        for failure in stats.get("failures", []):
            report.failures.append(failure)
            report.failed[failure["url"]] = failure["reason"]
            failed_by_stage[failure["stage"]] += 1
    report.failed_by_stage = dict(failed_by_stage)
    save_run(make_client(settings), settings, report)
    shutil.rmtree(folder)
    return report


def split_entries(settings: Settings, run_id: str, entries_paths: Iterable[str], size: int) -> list[str]:
    """The entries of `entries_paths` again, in files (`chunk-*`) of at most `size`, hosts taking turns in each."""
    folder = run_dir(settings, run_id)
    by_host: dict[str, deque[dict]] = {}
    for path in entries_paths:
        for row in read_jsonl(Path(path)):
            by_host.setdefault(_host(row["url"]), deque()).append(row)
    rows = []
    while by_host:
        for host in list(by_host):
            rows.append(by_host[host].popleft())
            if not by_host[host]:
                del by_host[host]
    paths = []
    for part, start in enumerate(range(0, len(rows), max(1, size))):
        path = batch_path(folder, "chunk", part)
        write_jsonl(path, rows[start : start + size])
        paths.append(str(path))
    return paths


def stream_articles(settings: Settings, run_id: str, entries_paths: Sequence[str]) -> dict[str, int]:
    """`fetch_articles`, `enrich_articles` and `index_articles` over every batch, overlapped. Returns summed counts.

    Another process fetches and extracts the batches in turn, `FETCH_AHEAD` ahead (apart, so its threads never
    hold up this process's model on the GIL); this thread enriches each batch as it arrives (the model loads
    while the first is fetched) and a thread indexes it.
    """
    counts: Counter[str] = Counter()
    if not entries_paths:
        return dict(counts)
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(1, mp_context=spawn) as fetching,
        ThreadPoolExecutor(1, thread_name_prefix="index-articles") as indexing,
    ):
        waiting = deque(entries_paths)
        fetched: deque[Future[str]] = deque()
        indexed: list[Future[dict[str, int]]] = []
        try:
            while waiting and len(fetched) < FETCH_AHEAD:
                fetched.append(fetching.submit(fetch_articles, settings, run_id, waiting.popleft()))
            enricher = load_enricher(settings)
            while fetched:
                articles_path = fetched.popleft().result()
                if waiting:
                    fetched.append(fetching.submit(fetch_articles, settings, run_id, waiting.popleft()))
                enriched = enrich_articles(settings, run_id, [articles_path], enricher)
                indexed.append(indexing.submit(index_articles, settings, run_id, enriched))
            for future in indexed:
                counts.update(future.result())
        finally:
            for future in fetched:
                future.cancel()
    return dict(counts)


def run_once(settings: Settings, sources: Sequence[Source] | None = None) -> RunReport:
    """Poll every feed once, reading each in full, and index what is new, without Airflow.

    The stages of the DAG, with fetching, enrichment and indexing overlapped over batches of `stream_batch_size`
    entries (`stream_articles`). Feed states and the run record are written as in the DAG. One bad feed or page
    never stops the run.
    """
    run_id = new_run_id()
    batches = select_feeds(settings, run_id, sources, every_feed=True)
    entries = [fetch_feeds(settings, run_id, batch, conditional=False) for batch in batches]
    stream_articles(settings, run_id, split_entries(settings, run_id, entries, settings.stream_batch_size))
    update_feed_states(settings, run_id)
    return finish_run(settings, run_id)


def check_feeds(settings: Settings, sources: Sequence[Source]) -> list[tuple[FeedPoll, tuple[FeedEntry, ...]]]:
    """Fetch every feed of `sources` once now and read it; nothing is stored."""
    source_of = _sources_by_feed(sources)
    with Fetcher(settings) as fetcher:
        results = list(fetcher.fetch_many(list(source_of), kind="feed"))
    return [read_feed(r, source_of[r.requested_url].id) for r in results]
