"""Search latency on real articles (`../shared/bench/news`) from 13k up to a million documents, bulk indexing speed,
and what the index takes (store, segments, heap).

    .venv/bin/python -m bench.search [--size 100000] [--at 100000 ...] [--repeat 3] [--json out.json]
    .venv/bin/python -m bench.search --size 1000000 --keep        # 13k, 100k and 1M in one run, index kept
    .venv/bin/python -m bench.search --reuse [--force-merge 1]    # measure the kept index again (a quieter hour)

Indexes the benchmark's 13k articles with their real vectors (the model's, cached under the data folder as
`bench.relevance` caches them) through `search.write.bulk_create` into an index under the prefix `bench-search-`,
then grows it to each size of `--at` and to `--size` with copies (new ids and URLs, dates shifted back by whole
quarters, vectors nudged by a little noise so the HNSW graph sees distinct points) and measures again. The copies
are made as they are sent (`--threads` bulk senders of `--chunk` documents, so one serialises while another waits
for the node), never held all at once, and the index loads with `refresh_interval` -1 (restored and refreshed
before measuring). At each size: analyst queries through `search.query.search_articles` (phrases, AND/OR/NOT,
field syntax, filters), and "similar to this article" through `search.hybrid.similar_articles` (the article's text
for BM25, its vector for kNN, itself excluded) for random articles; latency is the wall time of the call in this
process, after one warm-up pass. `--force-merge N` also merges the index down to N segments after the last
measurement and measures again. The index is deleted at the end unless `--keep`; `--reuse` measures a kept index
at its present size without indexing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.table import Table

from bench.news_data import BenchArticle, cached_vectors, load_articles, news_dir
from enrich.embed import embedding_text, settings_embedder
from mediamon.core.records import Enrichment, build_article
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from search.client import make_client
from search.documents import article_document
from search.hybrid import similar_articles
from search.index_versions import articles_alias, delete_prefixed, ensure_articles_index
from search.query import SearchFilters, search_articles
from search.write import IndexReport, bulk_create

PREFIX = "bench-search-"
GOAL_P95_MS = 150.0
SEED = "belarus-2020-09"
COPY_SHIFT = timedelta(days=91)  # copy k of an article is dated k quarters earlier
COPY_NOISE = 0.01  # standard deviation of the noise added to each vector component of a copy
SEPTEMBER = SearchFilters(since="2020-09-01", until="2020-09-30")
SIMILAR_FILTERS = (SearchFilters(), SearchFilters(lang=("en",)), SEPTEMBER)  # taken in turn

# What an analyst types (query_string syntax, all words required), with the filters the form offers.
QUERIES: list[tuple[str, SearchFilters]] = [
    ("Belarus", SearchFilters()),
    ("Lukashenko", SearchFilters()),
    ("Belarus protests", SearchFilters()),
    ("Lukashenko AND Putin", SearchFilters()),
    ('"Minsk Group"', SearchFilters()),
    ("Tikhanovskaya OR Tsikhanouskaya OR Kolesnikova", SearchFilters()),
    ("Belarus AND (sanctions OR election)", SEPTEMBER),
    ("Navalny OR Novichok", SearchFilters()),
    ("Putin AND NOT Navalny", SearchFilters(lang=("en",))),
    ("Nagorno-Karabakh OR Armenia OR Azerbaijan", SearchFilters()),
    ('"second wave" AND lockdown', SEPTEMBER),
    ("coronavirus vaccine Oxford", SearchFilters()),
    ("Trump AND Biden AND debate", SearchFilters()),
    ('"Supreme Court" AND Ginsburg', SearchFilters()),
    ("Brexit AND (trade OR deal)", SearchFilters(lang=("en",))),
    ('"Prince Harry" AND Meghan', SearchFilters()),
    ("wildfire* AND California", SearchFilters()),
    ("police AND arrest* AND protest*", SearchFilters(since="2020-09-15")),
    ("title:Belarus", SearchFilters()),
    ("title:(Russia OR Kremlin)", SearchFilters()),
    ("language:ru", SearchFilters()),
    ("Россия", SearchFilters(lang=("ru",))),
    ("Polska OR Ukraina", SearchFilters(lang=("pl",))),
    ("migranti", SearchFilters(lang=("it",))),
    ("Russia sanctions", SearchFilters(topic=("belarus",))),
    ("Minsk", SearchFilters(seed=(SEED,))),
    ("*", SearchFilters(topic=("belarus",))),
    ("*", SEPTEMBER),
    ("economy OR unemployment OR furlough", SearchFilters(since="2020-09-20", until="2020-09-27")),
    ('"climate change"', SearchFilters()),
]


@dataclass(frozen=True, slots=True)
class Latency:
    """Latencies of one kind of request at one index size: milliseconds at the 50th and 95th percentile."""

    kind: str
    docs: int
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def _published(article: BenchArticle) -> datetime | None:
    return datetime.fromisoformat(article.published).replace(tzinfo=UTC) if article.published else None


def _document(article: BenchArticle, vector: np.ndarray, copy: int, model: str) -> tuple[str, dict]:
    """The indexed document of one article (or of its `copy`-th copy): id and `_source`."""
    url = f"https://bench.invalid/{article.id}" + (f"/{copy}" if copy else "")
    published = _published(article)
    if published is not None:
        published -= copy * COPY_SHIFT
    fetched = (published or datetime(2022, 6, 1, tzinfo=UTC)) + timedelta(hours=1)
    record = build_article(
        url,
        source_id=article.collection,
        outlet=article.outlet or article.collection,
        title=article.title,
        body=article.body,
        summary=article.description,
        published_at=published,
        fetched_at=fetched,
        extraction_status="ok",
        language_hint=article.lang,
    )
    enrichment = Enrichment(
        language=article.lang,
        language_confidence=1.0,
        embedding=tuple(float(x) for x in vector),
        model=model,
        topics=article.topics,
        matched_seeds=(SEED,) if article.grade >= 2 else (),
        seed_similarity={SEED: float(article.grade) / 3},
    )
    return record.id, article_document(record, enrichment)


def _copies(articles: Sequence[BenchArticle], vectors: np.ndarray, model: str) -> Iterator[tuple[str, dict]]:
    """Copies without end, made one at a time: copy 1 of each article, then copy 2 and so on."""
    noise = np.random.default_rng(0)
    copy = 1
    while True:
        for article, vector in zip(articles, vectors, strict=True):
            nudged = vector + noise.normal(0.0, COPY_NOISE, vector.shape).astype(np.float32)
            yield _document(article, nudged / np.linalg.norm(nudged), copy, model)
        copy += 1


class _Shared:
    """One iterator read by several sender threads (each `next` under a lock)."""

    def __init__(self, items: Iterator[tuple[str, dict]]) -> None:
        self._items = items
        self._lock = threading.Lock()

    def __iter__(self) -> _Shared:
        return self

    def __next__(self) -> tuple[str, dict]:
        with self._lock:
            return next(self._items)


def index_timed(
    client: Elasticsearch, alias: str, documents: Iterator[tuple[str, dict]], chunk: int, threads: int
) -> tuple[int, float]:
    """Bulk-index `documents` with `threads` senders of `bulk_create`, refresh off meanwhile, then refresh;
    returns documents created and seconds taken."""
    started = time.perf_counter()
    client.indices.put_settings(index=alias, settings={"index": {"refresh_interval": "-1"}})
    shared = _Shared(documents)
    try:
        with ThreadPoolExecutor(threads) as pool:
            reports: list[IndexReport] = list(
                pool.map(lambda _: bulk_create(client, alias, shared, chunk_size=chunk), range(threads))
            )
    finally:
        client.indices.put_settings(index=alias, settings={"index": {"refresh_interval": None}})
    client.options(request_timeout=600).indices.refresh(index=alias)
    failed = {k: v for r in reports for k, v in r.failed.items()}
    if failed or any(r.duplicates for r in reports):
        raise RuntimeError(f"{len(failed)} documents failed, e.g. {next(iter(failed.values()), 'a duplicate')}")
    return sum(r.created for r in reports), time.perf_counter() - started


def _percentiles(kind: str, docs: int, samples: list[float]) -> Latency:
    ms = np.asarray(samples) * 1000
    p50, p95 = np.percentile(ms, [50, 95])
    return Latency(kind, docs, len(samples), round(float(p50), 1), round(float(p95), 1), round(float(ms.max()), 1))


def timed_calls(calls: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Seconds of each call, `repeat` rounds after one warm-up round (the calls shuffled anew each round)."""
    for call in calls:
        call()
    order = list(calls)
    samples = []
    rng = random.Random(1)
    for _ in range(repeat):
        rng.shuffle(order)
        for call in order:
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
    return samples


def measure_latency(
    client: Elasticsearch,
    alias: str,
    articles: Sequence[BenchArticle],
    vectors: np.ndarray,
    picks: Sequence[int],
    repeat: int,
) -> list[Latency]:
    """p50/p95 of the analyst queries and of `similar` for the picked articles, at the index's present size."""
    docs = client.count(index=alias)["count"]
    searches = [partial(search_articles, client, alias, query, filters) for query, filters in QUERIES]
    similar = []
    for n, i in enumerate(picks):  # as `mediamon similar --url`: the article's title and body, its vector
        article, filters = articles[i], SIMILAR_FILTERS[n % len(SIMILAR_FILTERS)]
        text, itself = f"{article.title}\n{article.body}", article_id(f"https://bench.invalid/{article.id}")
        vector = vectors[i].tolist()
        similar.append(partial(similar_articles, client, alias, vector, text, filters, exclude_ids=[itself]))
    return [
        _percentiles("search", docs, timed_calls(searches, repeat)),
        _percentiles("similar", docs, timed_calls(similar, repeat)),
    ]


def node_facts(client: Elasticsearch, alias: str) -> dict:
    """The ES heap (max, used now, its old generation now and at its peak: what survives), the vector
    field's index options, the index's primary store and segments, and the machine's load average."""
    jvm = next(iter(client.nodes.stats(metric="jvm")["nodes"].values()))["jvm"]["mem"]
    old = jvm.get("pools", {}).get("old", {})
    mapping = next(iter(client.indices.get_mapping(index=alias).values()))["mappings"]
    stats = client.indices.stats(index=alias, metric="docs,store,segments")["_all"]["primaries"]
    return {
        "docs": stats["docs"]["count"],
        "heap_max_mb": round(jvm["heap_max_in_bytes"] / 2**20),
        "heap_used_mb": round(jvm["heap_used_in_bytes"] / 2**20),
        "heap_old_mb": round(old.get("used_in_bytes", 0) / 2**20),
        "heap_old_peak_mb": round(old.get("peak_used_in_bytes", 0) / 2**20),
        "vector_index_options": mapping["properties"]["embedding"].get("index_options"),
        "store_bytes": stats["store"]["size_in_bytes"],
        "store_mb": round(stats["store"]["size_in_bytes"] / 2**20),
        "segments": stats["segments"]["count"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def force_merge(client: Elasticsearch, alias: str, segments: int) -> float:
    """Merge the index down to `segments` segments; returns seconds taken."""
    started = time.perf_counter()
    client.options(request_timeout=7200).indices.forcemerge(index=alias, max_num_segments=segments)
    client.indices.refresh(index=alias)
    return time.perf_counter() - started


def measure_sizes(base: int, at: Sequence[int], size: int) -> list[int]:
    """The index sizes to measure at: the originals (`base`), each of `at` between them and `size`, and `size`."""
    return sorted({base, *(n for n in at if base < n < size), max(base, size)})


@dataclass(slots=True)
class Bench:
    """What a run works on (the index, the articles, their vectors, the picks for `similar`) and what it found."""

    client: Elasticsearch
    alias: str
    articles: Sequence[BenchArticle]
    vectors: np.ndarray
    picks: Sequence[int]
    repeat: int
    console: Console
    indexing: list[dict] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.console.print(f"{datetime.now(UTC):%H:%M:%S} {message}")

    def measure(self) -> None:
        """Latencies at the index's present size, then the node's and index's facts."""
        self.latencies += measure_latency(self.client, self.alias, self.articles, self.vectors, self.picks, self.repeat)
        self.facts.append(node_facts(self.client, self.alias))


def grow_and_measure(bench: Bench, model: str, sizes: Sequence[int], chunk: int, threads: int) -> None:
    """Index the originals, then copies up to each of `sizes` in turn, measuring at each."""
    originals = (_document(a, v, 0, model) for a, v in zip(bench.articles, bench.vectors, strict=True))
    copies = _copies(bench.articles, bench.vectors, model)
    have = 0
    for size in sizes:
        bench.say(f"indexing up to {size:,} documents ...")
        created, seconds = index_timed(
            bench.client, bench.alias, originals if have == 0 else islice(copies, size - have), chunk, threads
        )
        have += created
        bench.indexing.append(
            {"docs": created, "seconds": round(seconds, 1), "docs_per_second": round(created / seconds)}
        )
        bench.say(f"{bench.indexing[-1]}; measuring ...")
        bench.measure()


def merge_and_measure(bench: Bench, segments: int) -> None:
    """Force-merge the index down to `segments` segments, then measure."""
    bench.say(f"force-merging to {segments} segments ...")
    seconds = force_merge(bench.client, bench.alias, segments)
    bench.indexing.append({"force_merge_segments": segments, "seconds": round(seconds, 1)})
    bench.measure()


def report(bench: Bench) -> None:
    """The latency table (one row per kind and measurement), the bulk steps, the index facts, the goal."""
    table = Table(title=f"Search latency, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores")
    for column in ("request", "documents", "segments", "requests", "p50 ms", "p95 ms", "max ms", "load"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for r, fact in zip(bench.latencies, [f for f in bench.facts for _ in range(2)], strict=True):
        cells = (f"{r.docs:,}", str(fact["segments"]), str(r.requests), f"{r.p50_ms:.0f}", f"{r.p95_ms:.0f}")
        table.add_row(r.kind, *cells, f"{r.max_ms:.0f}", f"{fact['load_average'][0]:.1f}")
    bench.console.print(table)
    for step in bench.indexing:
        bench.console.print(f"bulk: {step}")
    for fact in bench.facts:
        bench.console.print(f"index: {fact}")
    worst, docs = max(r.p95_ms for r in bench.latencies[-2:]), bench.latencies[-1].docs
    bench.console.print(f"goal p95 < {GOAL_P95_MS:.0f} ms at {docs:,}: {'met' if worst < GOAL_P95_MS else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="documents after growing the index")
    parser.add_argument("--at", type=int, nargs="*", default=[100_000], help="sizes measured on the way")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds over the queries")
    parser.add_argument("--similar", type=int, default=40, help="random articles for `similar`")
    parser.add_argument("--chunk", type=int, default=500, help="documents per bulk request")
    parser.add_argument("--threads", type=int, default=2, help="bulk senders")
    parser.add_argument("--force-merge", type=int, default=0, help="then merge to this many segments, measure again")
    parser.add_argument("--keep", action="store_true", help="keep the index at the end")
    parser.add_argument("--reuse", action="store_true", help="measure the kept index, index nothing")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 100))
    base = Settings()
    articles = load_articles(news_dir(base))
    settings = base.model_copy(update={"index_prefix": PREFIX})
    embedder = settings_embedder(settings)
    texts = [embedding_text(a.title, a.description, a.body) for a in articles]
    vectors = cached_vectors(settings, embedder.model_id, texts, embedder.encode)
    client = make_client(settings)
    picks = random.Random(0).sample(range(len(articles)), args.similar)
    console.print(f"load average {os.getloadavg()}, {os.cpu_count()} cores")
    if args.reuse:
        alias = articles_alias(settings)
        if not client.indices.exists_alias(name=alias):
            raise SystemExit(f"no kept index {alias} (run with --keep first)")
    else:
        delete_prefixed(client, PREFIX)
        alias = ensure_articles_index(client, settings, embedder.dims, embedder.model_id)
    bench = Bench(client, alias, articles, vectors, picks, args.repeat, console)
    if args.reuse:
        bench.measure()
    else:
        sizes = measure_sizes(len(articles), args.at, args.size)
        grow_and_measure(bench, embedder.model_id, sizes, args.chunk, args.threads)
    if args.force_merge:
        merge_and_measure(bench, args.force_merge)
    if not args.keep:
        console.print(f"deleted {', '.join(delete_prefixed(client, PREFIX))}")
    console.print(f"load average now {os.getloadavg()}")
    report(bench)
    if args.json:
        payload = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "args": vars(args),
            "indexing": bench.indexing,
            "index": bench.facts,
            "latency": [asdict(r) for r in bench.latencies],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
