"""Recall of Elasticsearch's approximate kNN against exact cosine, for each vector index option, on real vectors.

    .venv/bin/python -m bench.vector_recall [--queries 200] [--json out.json]

The 13,249 articles of `../shared/bench/news`, embedded as the pipeline embeds them (the bench vector cache), are
indexed once per `index_options` type: `int8_hnsw` (mediamon's), searched with and without rescoring the
candidates by their float vectors, next to `hnsw` (float) and `bbq_hnsw`. Queries: the seed's own profile vectors
and a fixed random sample of articles, searched as `similar` searches them (`k` = the window of 50,
`num_candidates` = 100). Reported per option: recall@10 and @50 against the exact top by numpy cosine, recall of
the neighbours above each cosine threshold, the mean error of the returned cosine, and indexing seconds. Indices
are made under `bench-recall-` and deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from elasticsearch.helpers import bulk
from rich.console import Console
from rich.table import Table

from bench.news_data import cached_vectors, load_articles, news_dir
from enrich.annotate import load_enricher
from enrich.embed import embedding_text
from mediamon.core.settings import Settings
from search.client import check_health, make_client
from search.index_versions import delete_prefixed

PREFIX = "bench-recall-"
WINDOW, NUM_CANDIDATES = 50, 100  # as `search.hybrid._knn_ranking` asks for its kNN half
THRESHOLDS = (0.5, 0.6, 0.7)
# label: (the mapping's index_options, what the kNN search adds)
OPTIONS = {
    "int8_hnsw": ({"type": "int8_hnsw"}, {}),
    "int8_hnsw, rescored x2 by the query (mediamon)": ({"type": "int8_hnsw"}, {"rescore_vector": {"oversample": 2}}),
    "hnsw (float32)": ({"type": "hnsw"}, {}),
    "bbq_hnsw (the 9.x default at 384+ dims)": ({"type": "bbq_hnsw"}, {}),
}


def index_vectors(client, name: str, options: dict, vectors: np.ndarray) -> float:
    """Create `name` with one `dense_vector` field and bulk the vectors in; returns the seconds to searchable."""
    client.indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
        mappings={
            "dynamic": "strict",
            "properties": {
                "embedding": {
                    "type": "dense_vector",
                    "dims": vectors.shape[1],
                    "similarity": "cosine",
                    "index_options": options,
                }
            },
        },
    )
    start = time.perf_counter()
    actions = ({"_index": name, "_id": str(i), "embedding": v.tolist()} for i, v in enumerate(vectors))
    bulk(client, actions, chunk_size=500)
    client.indices.refresh(index=name)
    client.indices.forcemerge(index=name, max_num_segments=1)
    return time.perf_counter() - start


def knn(client, name: str, query: np.ndarray, extra: dict) -> tuple[list[int], list[float]]:
    """Ids and cosines (from `_score` = (1 + cos) / 2) of the kNN search."""
    search = {"field": "embedding", "query_vector": query.tolist(), "k": WINDOW, "num_candidates": NUM_CANDIDATES}
    reply = client.search(index=name, knn={**search, **extra}, size=WINDOW, source=False)
    hits = reply["hits"]["hits"]
    return [int(h["_id"]) for h in hits], [2 * h["_score"] - 1 for h in hits]


def measure(client, name: str, vectors: np.ndarray, queries: np.ndarray, extra: dict) -> dict[str, float]:
    """Recall against exact cosine and the error of the returned cosines, over `queries`."""
    exact = queries @ vectors.T
    recall10, recall50, errors = [], [], []
    above: dict[float, list[int]] = {t: [0, 0] for t in THRESHOLDS}
    for row, query in enumerate(queries):
        ids, cosines = knn(client, name, query, extra)
        order = np.argsort(-exact[row])
        recall10.append(len(set(ids[:10]) & set(order[:10].tolist())) / 10)
        recall50.append(len(set(ids) & set(order[:WINDOW].tolist())) / WINDOW)
        errors.extend(abs(c - exact[row, i]) for i, c in zip(ids, cosines, strict=True))
        for t in THRESHOLDS:  # the exact top-50 neighbours at or above t: how many the kNN returned
            wanted = {int(i) for i in order[:WINDOW] if exact[row, i] >= t}
            above[t][0] += len(wanted & set(ids))
            above[t][1] += len(wanted)
    result = {"recall@10": float(np.mean(recall10)), "recall@50": float(np.mean(recall50))}
    for t, (found, wanted) in above.items():
        result[f"recall cos>={t}"] = found / wanted if wanted else float("nan")
        result[f"pairs cos>={t}"] = wanted
    result["mean |cos error|"] = float(np.mean(errors))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200, help="random articles used as queries")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    settings = Settings()
    console = Console()
    articles = load_articles(news_dir(settings))
    enricher = load_enricher(settings)
    texts = [embedding_text(a.title, a.description, a.body) for a in articles]
    vectors = cached_vectors(settings, enricher.embedder.model_id, texts, enricher.embedder.encode)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), size=args.queries, replace=False)]
    seeds = np.vstack([p.vectors for p in enricher.profiles])
    queries = np.vstack([seeds, sample])
    console.print(f"{len(vectors)} vectors ({enricher.embedder.model_id}), {len(queries)} queries")

    client = make_client(settings.model_copy(update={"es_timeout": 600.0}))
    check_health(client, settings.es_url)
    delete_prefixed(client, PREFIX)
    results = []
    try:
        for label, (options, extra) in OPTIONS.items():
            name = f"{PREFIX}{options['type']}-{len(results)}"
            seconds = index_vectors(client, name, options, vectors)
            row = {"option": label, "index_options": options, "query": extra, "index_seconds": round(seconds, 1)}
            row.update(measure(client, name, vectors, queries, extra))
            row["seed recall@50"] = measure(client, name, vectors, seeds, extra)["recall@50"]
            results.append(row)
            client.indices.delete(index=name)
            console.print(row)
    finally:
        delete_prefixed(client, PREFIX)

    table = Table(title=f"kNN recall against exact cosine: k={WINDOW}, num_candidates={NUM_CANDIDATES}")
    columns = ["option", "recall@10", "recall@50", *(f"recall cos>={t}" for t in THRESHOLDS)]
    for column in (*columns, "seed recall@50", "mean |cos error|", "index_seconds"):
        table.add_column(column)
    for row in results:
        cells = [row["option"], *(f"{row[c]:.3f}" for c in columns[1:])]
        cells += [f"{row['seed recall@50']:.3f}", f"{row['mean |cos error|']:.4f}", str(row["index_seconds"])]
        table.add_row(*cells)
    console.print(table)
    pairs = {t: results[0][f"pairs cos>={t}"] for t in THRESHOLDS}
    console.print(f"neighbours at or above each threshold among the exact top-{WINDOW}s: {pairs}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"model": enricher.embedder.model_id, "queries": len(queries), "results": results}, handle, indent=2
            )


if __name__ == "__main__":
    main()
