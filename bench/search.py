"""Search latency on real articles (`../shared/bench/news`) at 13k and at 100k documents, and bulk indexing speed.

    .venv/bin/python -m bench.search [--size 100000] [--repeat 3] [--json out.json]

Indexes the benchmark's 13k articles with their real vectors (the model's, cached under the data folder as
`bench.relevance` caches them) through `search.write.bulk_create` into an index under the prefix `bench-search-`,
then grows it to `--size` documents with copies (new ids and URLs, dates shifted back by whole quarters, vectors
nudged by a little noise so the HNSW graph sees distinct points) and measures again. At each size: analyst queries
through `search.query.search_articles` (phrases, AND/OR/NOT, field syntax, filters), and "similar to this
article" through `search.hybrid.similar_articles` (the article's text for BM25, its vector for kNN, itself
excluded) for random articles; latency is the wall time of the call in this process, after one warm-up pass.
The index is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
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
from search.index_versions import delete_prefixed, ensure_articles_index
from search.query import SearchFilters, search_articles
from search.write import bulk_create

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


def _copies(
    articles: Sequence[BenchArticle], vectors: np.ndarray, model: str, count: int
) -> Iterator[tuple[str, dict]]:
    """`count` copies, article after article, copy 1 of each, then copy 2 and so on."""
    noise = np.random.default_rng(0)
    made = 0
    copy = 1
    while made < count:
        for article, vector in zip(articles, vectors, strict=True):
            if made == count:
                return
            nudged = vector + noise.normal(0.0, COPY_NOISE, vector.shape).astype(np.float32)
            yield _document(article, nudged / np.linalg.norm(nudged), copy, model)
            made += 1
        copy += 1


def index_timed(client: Elasticsearch, alias: str, documents: Iterator[tuple[str, dict]]) -> tuple[int, float]:
    """Bulk-index `documents` and refresh; returns documents created and seconds taken."""
    started = time.perf_counter()
    report = bulk_create(client, alias, documents)
    client.indices.refresh(index=alias)
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} documents failed, e.g. {next(iter(report.failed.values()))}")
    return report.created, time.perf_counter() - started


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
    """The ES heap (max and used), the vector field's index options, and the index's size and segments."""
    jvm = next(iter(client.nodes.stats(metric="jvm")["nodes"].values()))["jvm"]["mem"]
    mapping = next(iter(client.indices.get_mapping(index=alias).values()))["mappings"]
    stats = client.indices.stats(index=alias, metric="store,segments")["_all"]["primaries"]
    return {
        "heap_max_mb": round(jvm["heap_max_in_bytes"] / 2**20),
        "heap_used_mb": round(jvm["heap_used_in_bytes"] / 2**20),
        "vector_index_options": mapping["properties"]["embedding"].get("index_options"),
        "store_mb": round(stats["store"]["size_in_bytes"] / 2**20),
        "segments": stats["segments"]["count"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="documents after growing the index")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds over the queries")
    parser.add_argument("--similar", type=int, default=40, help="random articles for `similar`")
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
    delete_prefixed(client, PREFIX)
    alias = ensure_articles_index(client, settings, embedder.dims, embedder.model_id)
    console.print(f"load average {os.getloadavg()}, {os.cpu_count()} cores; indexing {len(articles)} articles ...")
    picks = random.Random(0).sample(range(len(articles)), args.similar)
    model = embedder.model_id
    indexing = []
    originals = (_document(a, v, 0, model) for a, v in zip(articles, vectors, strict=True))
    created, seconds = index_timed(client, alias, originals)
    indexing.append({"docs": created, "seconds": round(seconds, 1), "docs_per_second": round(created / seconds)})
    facts = [node_facts(client, alias)]
    latencies = measure_latency(client, alias, articles, vectors, picks, args.repeat)
    extra = args.size - len(articles)
    console.print(f"growing to {args.size} documents ...")
    created, seconds = index_timed(client, alias, _copies(articles, vectors, model, extra))
    indexing.append({"docs": created, "seconds": round(seconds, 1), "docs_per_second": round(created / seconds)})
    facts.append(node_facts(client, alias))
    latencies += measure_latency(client, alias, articles, vectors, picks, args.repeat)
    deleted = delete_prefixed(client, PREFIX)
    console.print(f"deleted {', '.join(deleted)}; load average now {os.getloadavg()}")

    table = Table(title=f"Search latency, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores")
    for column in ("request", "documents", "requests", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for r in latencies:
        table.add_row(r.kind, f"{r.docs:,}", str(r.requests), f"{r.p50_ms:.0f}", f"{r.p95_ms:.0f}", f"{r.max_ms:.0f}")
    console.print(table)
    for step, fact in zip(indexing, facts, strict=True):
        console.print(f"bulk: {step}; index: {fact}")
    worst = max(r.p95_ms for r in latencies if r.docs >= args.size)
    console.print(f"goal p95 < {GOAL_P95_MS:.0f} ms at {args.size:,}: {'met' if worst < GOAL_P95_MS else 'MISSED'}")
    if args.json:
        payload = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "indexing": indexing,
            "index": facts,
            "latency": [asdict(r) for r in latencies],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
