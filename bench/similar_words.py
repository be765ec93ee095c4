"""The words (BM25) half of `similar`, as it is and as it was, on an index `bench.search` kept: speed and ranking.

    MEDIAMON_BENCH_DIR=../shared/bench .venv/bin/python -m bench.search --size 1000000 --keep   # once
    MEDIAMON_BENCH_DIR=../shared/bench .venv/bin/python -m bench.similar_words [--rounds 3] [--json F]

Both queries get the same telling terms (`search.hybrid._telling_terms`, 25 of a text's words) and return 50 hits.
"before" is the query `similar` sent until 2026-12-07: the terms as one `multi_match` of type `best_fields` (a
dis_max over the text fields, tie breaker 0.3), its total hits counted. "now" is `search.hybrid.words_query`, its
total not counted.

- Speed: the 40 random articles and filters of `bench.search` (no filter, `lang:en`, September 2020, in turn),
  each query alone, `--rounds` rounds, the two queries in turns, each turn after a warm-up pass.
- Ranking: every labelled article of grade >= 2 of both stories (`labels.jsonl` for Belarus,
  `bench/labels/karabakh-2020-09.jsonl`) asks for articles like itself; its copies and itself are set aside and the
  first 10 other originals are kept (a copy stands for its original). The share of them of grade >= 2 in the same
  story, by the words half alone and fused with the kNN half as `similar` fuses them; also Belarus's articles of
  grade >= 1 and the share of grade >= 1.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.table import Table

from bench.news_data import BenchArticle, cached_vectors, load_articles, news_dir
from bench.search import PREFIX, SIMILAR_FILTERS, timed_calls
from enrich.embed import embedding_text, settings_embedder
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from search.client import make_client
from search.hybrid import _telling_terms, rrf, words_query
from search.index_versions import articles_alias
from search.query import TEXT_FIELDS, run_search

KARABAKH_LABELS = Path(__file__).parent / "labels" / "karabakh-2020-09.jsonl"
BENCH_URL = "https://bench.invalid/"
WINDOW = 50


def before(words: str) -> tuple[dict, dict]:
    """The words half until 2026-12-07: a dis_max over the fields (tie breaker 0.3), its total counted."""
    fields = {"fields": list(TEXT_FIELDS), "type": "best_fields", "tie_breaker": 0.3}
    return {"multi_match": {"query": words, **fields}}, {}


def now(words: str) -> tuple[dict, dict]:
    """The words half as `similar` sends it."""
    return words_query(words), {"track_total_hits": False}


QUERIES: dict[str, Callable[[str], tuple[dict, dict]]] = {"before": before, "now": now}


def story_grades(articles: list[BenchArticle]) -> dict[str, dict[str, int]]:
    """Per story, the grade of each labelled article."""
    karabakh = {}
    for line in KARABAKH_LABELS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            karabakh[row["id"]] = int(row["grade"])
    return {"belarus": {a.id: a.grade for a in articles if a.grade}, "karabakh": karabakh}


def words_ids(client: Elasticsearch, alias: str, kind: str, words: str, filters: list[dict], size: int) -> list[dict]:
    query, extra = QUERIES[kind](words)
    request = {"bool": {"must": [query], "filter": filters}}
    reply = run_search(client, index=alias, size=size, query=request, source=["url"], **extra)
    return reply["hits"]["hits"]


def originals(hits: list[dict], itself: str) -> list[str]:
    """Bench article ids of the hits in order, each once (a copy counts as its original), `itself` left out."""
    ids: list[str] = []
    for hit in hits:
        bench_id = hit["_source"]["url"].removeprefix(BENCH_URL).split("/")[0]
        if bench_id != itself and bench_id not in ids:
            ids.append(bench_id)
    return ids[:WINDOW]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    console = Console(width=130)
    base = Settings()
    articles = load_articles(news_dir(base))
    settings = base.model_copy(update={"index_prefix": PREFIX})
    client = make_client(settings)
    alias = articles_alias(settings)
    docs = client.count(index=alias)["count"]
    segments = len(client.cat.segments(index=alias, format="json"))
    console.print(f"{alias}: {docs:,} documents, {segments} segments")
    by_id = {a.id: i for i, a in enumerate(articles)}

    picks = random.Random(0).sample(range(len(articles)), 40)
    speed_cases = []
    for n, i in enumerate(picks):
        article, filters = articles[i], SIMILAR_FILTERS[n % len(SIMILAR_FILTERS)]
        itself = {"bool": {"must_not": [{"ids": {"values": [article_id(BENCH_URL + article.id)]}}]}}
        words = _telling_terms(client, alias, " ".join(f"{article.title}\n{article.body}".split()[:1000]))
        speed_cases.append((words, [*filters.clauses(), itself]))
    samples: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    for round_ in range(args.rounds):
        for kind in list(QUERIES)[round_ % 2 :] + list(QUERIES)[: round_ % 2]:
            calls = [lambda k=kind, w=w, f=f: words_ids(client, alias, k, w, f, WINDOW) for w, f in speed_cases]
            samples[kind] += timed_calls(calls, 1)  # after a warm-up pass of the same calls

    embedder = settings_embedder(settings)
    texts = [embedding_text(a.title, a.description, a.body) for a in articles]
    vectors = cached_vectors(settings, embedder.model_id, texts, embedder.encode)
    grades = story_grades(articles)
    asks = [(story, g, 2) for story, g in grades.items()] + [("belarus, grade >= 1", grades["belarus"], 1)]
    ranking = []
    for story, story_grade, least in asks:
        shares: dict[str, list[float]] = {f"{kind} {how}": [] for kind in QUERIES for how in ("words", "fused")}
        queries = [aid for aid, grade in story_grade.items() if grade >= least and aid in by_id]
        for aid in queries:
            article = articles[by_id[aid]]
            words = _telling_terms(client, alias, " ".join(f"{article.title}\n{article.body}".split()[:1000]))
            knn = {"field": "embedding", "query_vector": vectors[by_id[aid]].tolist(), "k": 400, "num_candidates": 400}
            by_meaning = originals(
                run_search(client, index=alias, size=400, knn=knn, source=["url"])["hits"]["hits"], aid
            )
            for kind in QUERIES:
                by_words = originals(words_ids(client, alias, kind, words, [], 400), aid)
                fused = [doc for doc, _ in rrf([by_words, by_meaning])]
                for how, ids in (("words", by_words), ("fused", fused)):
                    shares[f"{kind} {how}"].append(sum(story_grade.get(i, 0) >= least for i in ids[:10]) / 10)
        ranking.append({"story": story, "queries": len(queries)} | {k: statistics.mean(v) for k, v in shares.items()})

    table = Table(title=f"The words half of `similar` at {docs:,} documents ({segments} segments)")
    for column in ("query", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column == "query" else "right")
    speed = {}
    for kind, seconds in samples.items():
        ms = np.asarray(seconds) * 1000
        speed[kind] = {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "max": float(ms.max())}
        table.add_row(kind, *(f"{speed[kind][p]:.0f}" for p in ("p50", "p95", "max")))
    console.print(table)
    table = Table(title="Share of the same story among the 10 best other originals")
    table.add_column("queries", justify="left")
    for kind in QUERIES:
        for how in ("words", "fused"):
            table.add_column(f"{kind}, {how}", justify="right")
    for row in ranking:
        cells = [f"{row[f'{k} {h}']:.3f}" for k in QUERIES for h in ("words", "fused")]
        table.add_row(f"{row['story']} ({row['queries']})", *cells)
    console.print(table)
    if args.json:
        payload = {"documents": docs, "segments": segments, "speed": speed, "ranking": ranking}
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
