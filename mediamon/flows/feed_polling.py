"""The feed side of a run: which feeds are due, polling them, which of their entries are new, and their new state.

None of it needs Elasticsearch: feed states come from the local copy and the index (`flows/feed_states.py`), and
an entry is known when the index (if it answers) or the spool already holds its link. Every entry read leaves with
an outcome or in a batch of new entries.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from elasticsearch import ApiError, TransportError

from ingest.feed_state import FeedPoll, IntervalPolicy, advance, is_due, read_feed
from ingest.fetch import Fetcher, Validators
from ingest.sources import Source, load_sources
from mediamon.core.feeds import HEALTHY, FetchOutcome
from mediamon.core.records import FeedEntry
from mediamon.core.runs import DuplicateRule, EntryOutcome, Outcome
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from mediamon.flows.batches import (
    batch_part,
    batch_path,
    read_json,
    read_jsonl,
    read_stats,
    run_dir,
    to_json,
    write_json,
    write_jsonl,
    write_stats,
)
from mediamon.flows.feed_states import read_states, write_states
from mediamon.flows.spool import waiting_ids
from search.client import EsUnavailable, check_health, make_client
from search.index_versions import articles_alias
from search.write import existing_ids

LOG = logging.getLogger(__name__)


class FeedBatch(TypedDict):
    """One batch of feeds to poll: its number in the run and the feed URLs."""

    part: int
    feeds: list[str]


def new_run_id() -> str:
    """A run id for runs started outside Airflow."""
    return f"manual__{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"


def seconds_since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def batch_feeds(feed_urls: Sequence[str], size: int) -> list[FeedBatch]:
    """Batches of about `size` feeds, in order; one host's feeds stay in one batch (its politeness limits hold)."""
    by_host: dict[str, list[str]] = {}
    for url in feed_urls:
        by_host.setdefault(host_of(url), []).append(url)
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


def sources_by_feed(sources: Iterable[Source]) -> dict[str, Source]:
    """Feed URL -> source (a feed listed twice belongs to its first source)."""
    by_feed: dict[str, Source] = {}
    for source in sources:
        for url in source.feeds:
            by_feed.setdefault(str(url), source)
    return by_feed


def run_sources(folder: Path) -> dict[str, Source]:
    """The sources a run was started with, by id."""
    return {s["id"]: Source.model_validate(s) for s in read_json(folder / "run.json")["sources"]}


def run_polls(folder: Path) -> list[FeedPoll]:
    """Every poll of a run."""
    return [FeedPoll.from_json(row) for path in sorted(folder.glob("feeds-*.jsonl.gz")) for row in read_jsonl(path)]


def select_feeds(
    settings: Settings,
    run_id: str,
    sources: Sequence[Source] | None = None,
    *,
    every_feed: bool = False,
    owner: str = "airflow",
) -> list[FeedBatch]:
    """Start run `run_id`: the feeds due now (every feed with `every_feed`), most overdue first, in batches.

    Sources default to the feeds file (its bad entries go into the run record). `owner` is `cli` for a run that
    holds its folder's lock from start to end (`run_once`), so that its spool is drained at once if it dies.
    """
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    source_errors: list[str] = []
    if sources is None:
        loaded = load_sources(settings.feeds_path)
        sources, source_errors = loaded.sources, [str(e) for e in loaded.errors]
    urls = list(sources_by_feed(sources))
    due = urls
    if not every_feed:
        now = datetime.now(UTC)
        states = read_states(settings, urls)
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
            "owner": owner,
            "started_at": begun,
            "source_errors": source_errors,
            "sources": [source.model_dump(mode="json") for source in sources],
        }
        | ({"host": socket.gethostname(), "pid": os.getpid()} if owner == "cli" else {}),  # `spool.is_running`
    )
    batches = batch_feeds(due, settings.feed_batch_size)
    write_stats(folder, "select", None, {"seconds": seconds_since(started), "feeds": len(urls), "due": len(due)})
    LOG.info("run %s: %d of %d feeds due, in %d batches", run_id, len(due), len(urls), len(batches))
    return batches


def _indexed_ids(settings: Settings, ids: list[str]) -> set[str]:
    """The ids among `ids` the index holds; none when it does not answer (the spool and `create` catch them)."""
    try:
        client = make_client(settings)
        check_health(client, settings.es_url)
        alias = articles_alias(settings)
        return existing_ids(client, alias, ids) if client.indices.exists_alias(name=alias) else set()
    except (EsUnavailable, ApiError, TransportError) as exc:
        LOG.warning("cannot ask the index which entries it has (%s): all are fetched", str(exc).splitlines()[0])
        return set()


def sort_entries(
    settings: Settings, run_id: str, entries: list[FeedEntry]
) -> tuple[list[FeedEntry], list[EntryOutcome]]:
    """The entries to fetch, and the outcome of every other one: a link that is no usable URL fails, a link listed
    twice, indexed already or waiting in the spool is a duplicate."""
    new: dict[str, FeedEntry] = {}
    outcomes: list[EntryOutcome] = []
    for entry in entries:
        try:
            entry_id = article_id(entry.url)
        except ValueError:
            reason = f"the link {entry.url!r} is not an absolute http(s) URL"
            outcomes.append(EntryOutcome(entry.feed_url, entry.url, Outcome.FAILED, stage="feeds", reason=reason))
            continue
        if entry_id in new:
            duplicate = EntryOutcome(entry.feed_url, entry.url, Outcome.DUPLICATE, entry_id, DuplicateRule.LISTED_TWICE)
            outcomes.append(duplicate)
        else:
            new[entry_id] = entry
    indexed = _indexed_ids(settings, list(new))
    waiting = waiting_ids(settings, run_id) - indexed
    for entry_id, rule in [(i, DuplicateRule.INDEXED) for i in indexed] + [(i, DuplicateRule.SPOOLED) for i in waiting]:
        entry = new.pop(entry_id, None)
        if entry is not None:
            outcomes.append(EntryOutcome(entry.feed_url, entry.url, Outcome.DUPLICATE, entry_id, rule))
    return list(new.values()), outcomes


def fetch_feeds(settings: Settings, run_id: str, batch: FeedBatch, *, conditional: bool = True) -> str:
    """Poll one batch of feeds; record each poll, the outcome of every entry that needs no fetch, and write the
    entries to fetch. Returns that file.

    `conditional` sends the validators of the last poll and passes on nothing from an unchanged body; without
    it every body is read in full (its status still says `unchanged` when the hash is the same).
    """
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    source_of = sources_by_feed(run_sources(folder).values())
    states = read_states(settings, batch["feeds"])
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
    new, outcomes = sort_entries(settings, run_id, entries)
    write_jsonl(batch_path(folder, "feeds", batch["part"]), (poll.to_json() for poll in polls))
    write_jsonl(batch_path(folder, "outcomes-feeds", batch["part"]), (o.to_json() for o in outcomes))
    path = batch_path(folder, "entries", batch["part"])
    write_jsonl(path, (to_json(entry) for entry in new))
    stats = {
        "seconds": seconds_since(started),
        "entries": len(entries),
        "new": len(new),
        "new_by_feed": dict(Counter(entry.feed_url for entry in new)),
    }
    write_stats(folder, "feeds", batch["part"], stats)
    return str(path)


def plan_chunks(settings: Settings, run_id: str, budget: int | None = None, first: int | None = None) -> list[str]:
    """Cut the run's new entries into chunks (`chunk-*`) of `stream_batch_size`, hosts taking turns in each; a link
    in two feed batches goes once. With `first`, the first chunk has that many entries and the next ones double up
    to `stream_batch_size` (`chunk_sizes`), so that one process's enrichment starts on a few pages rather than a whole
    chunk. Returns the chunks to work on now: as many as `budget` entries allow (all when None); the others stay in
    the spool. Planning twice gives the same chunks."""
    folder = run_dir(settings, run_id)
    if not (folder / "stats" / "plan.json").exists():
        by_host: dict[str, deque[dict]] = {}
        seen: set[str] = set()
        repeated: list[EntryOutcome] = []
        for path in sorted(folder.glob("entries-*.jsonl.gz")):
            for row in read_jsonl(path):
                entry_id = article_id(row["url"])
                if entry_id in seen:
                    rule = DuplicateRule.LISTED_TWICE
                    repeated.append(EntryOutcome(row["feed_url"], row["url"], Outcome.DUPLICATE, entry_id, rule))
                    continue
                seen.add(entry_id)
                by_host.setdefault(host_of(row["url"]), deque()).append(row)
        rows = []
        while by_host:
            for host in list(by_host):
                rows.append(by_host[host].popleft())
                if not by_host[host]:
                    del by_host[host]
        size = settings.stream_batch_size
        sizes, start = chunk_sizes(len(rows), size if first is None else first, size), 0
        for part, count in enumerate(sizes):
            write_jsonl(batch_path(folder, "chunk", part), rows[start : start + count])
            start += count
        write_jsonl(batch_path(folder, "outcomes-plan", 0), (o.to_json() for o in repeated))
        write_stats(folder, "plan", None, {"seconds": 0.0, "chunks": len(sizes), "entries": len(rows)})
    return chunks_within(pending_chunks(folder), budget)


def chunk_sizes(total: int, first: int, size: int) -> list[int]:
    """How `total` entries are cut into chunks: `first` of them, then twice as many each time up to `size` (both at
    least 1), then `size` at a time; the last chunk takes what is left."""
    size = max(1, size)
    current, sizes = min(max(1, first), size), []
    while total > 0:
        sizes.append(min(current, total))
        total -= current
        current = min(2 * current, size)
    return sizes


def pending_chunks(folder: Path) -> list[Path]:
    """The chunks of a run whose entries have no outcome yet, in order."""
    return [
        path
        for path in sorted(folder.glob("chunk-*.jsonl.gz"))
        if not batch_path(folder, "outcomes-chunk", batch_part(path)).exists()
    ]


def chunks_within(chunks: Iterable[Path], budget: int | None) -> list[str]:
    """The first chunks whose entries add up to at most `budget` (the first chunk always, if there is budget)."""
    chosen: list[str] = []
    left = budget
    for path in chunks:
        size = sum(1 for _ in read_jsonl(path))
        if left is not None and (left <= 0 or (chosen and size > left)):
            break
        chosen.append(str(path))
        left = None if left is None else left - size
    return chosen


def update_feed_states(settings: Settings, run_id: str) -> dict[str, int]:
    """Write each polled feed's new state (status, validators, hash, interval, next due time) to the local copy and
    the index. Returns the feeds by status."""
    started = time.perf_counter()
    folder = run_dir(settings, run_id)
    polls = run_polls(folder)
    new: Counter[str] = Counter()
    for stats in read_stats(folder):
        new.update(stats.get("new_by_feed", {}))
    previous = read_states(settings, (poll.feed_url for poll in polls))
    policy = IntervalPolicy.from_settings(settings)
    write_states(settings, [advance(previous.get(p.feed_url), p, new[p.feed_url], policy) for p in polls])
    write_stats(folder, "state", None, {"seconds": seconds_since(started)})
    return dict(Counter(str(poll.status) for poll in polls))


def check_feeds(settings: Settings, sources: Sequence[Source]) -> list[tuple[FeedPoll, tuple[FeedEntry, ...]]]:
    """Fetch every feed of `sources` once now and read it; nothing is stored."""
    source_of = sources_by_feed(sources)
    with Fetcher(settings) as fetcher:
        results = list(fetcher.fetch_many(list(source_of), kind="feed"))
    return [read_feed(r, source_of[r.requested_url].id) for r in results]
