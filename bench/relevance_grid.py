"""How sensitive seed relevance is to its weights: a grid over the four signal weights and the mention factor.

    .venv/bin/python -m bench.relevance_grid [--seed belarus-2020-09] [--json out.json]

On the whole news pool (`../shared/bench/news`, as `bench/relevance.py`), every combination of embedding weight
0.5/0.6/0.7, entity weight 0.1/0.2/0.3, topic weight 0.1/0.2, time weight 0.1/0.2 and mention factor 0.3/0.5 (72)
is scored by nDCG@10/@50 over the pool and over its multilingual part. Reports the best combinations, the worst,
where the shipped defaults rank, and how many combinations meet every goal: a plateau, not a peak, is what a
calibration on 9 relevant articles can trust.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from bench.news_data import seed_bench_parser
from bench.relevance import bench_signals, evaluate, load_pool, mediamon_scores
from mediamon.core.settings import Settings

GRID = {
    "embedding_weight": (0.5, 0.6, 0.7),
    "entity_weight": (0.1, 0.2, 0.3),
    "topic_weight": (0.1, 0.2),
    "time_weight": (0.1, 0.2),
    "mention_factor": (0.3, 0.5),
}
GOALS = {"ndcg@10": 0.97, "ndcg@50": 0.95, "recall@50": 1.0, "multilingual ndcg@10": 0.9}
SHOWN = 8


def meets_goals(row: dict) -> bool:
    """Whether a combination's figures reach every goal of the enrichment issue."""
    whole, part = row["whole"], row["multilingual"]
    return all(whole[k] >= GOALS[k] for k in ("ndcg@10", "ndcg@50", "recall@50")) and (
        part["ndcg@10"] >= GOALS["multilingual ndcg@10"]
    )


def main() -> None:
    parser = seed_bench_parser(__doc__)
    args = parser.parse_args()
    settings = Settings()
    console = Console()
    articles, enricher, profile, vectors = load_pool(settings, args.seed)
    signals = bench_signals(articles, (vectors @ profile.vectors.T).max(axis=1), enricher)

    shipped = enricher.relevance_model
    start = time.perf_counter()
    rows = []
    for values in itertools.product(*GRID.values()):
        weights = dict(zip(GRID, values, strict=True))
        scores = mediamon_scores(profile, signals, replace(shipped, **weights))
        row = evaluate(json.dumps(weights), scores, articles)
        rows.append({"weights": weights, "whole": row["whole"], "multilingual": row["multilingual"]})
    console.print(f"{len(rows)} combinations scored in {time.perf_counter() - start:.0f} s")
    rows.sort(key=lambda r: (-(r["whole"]["ndcg@10"] + r["multilingual"]["ndcg@10"]), -r["whole"]["ndcg@50"]))
    defaults = {k: getattr(shipped, k) for k in GRID}
    rank = next(i for i, r in enumerate(rows, 1) if r["weights"] == defaults)
    passing = sum(meets_goals(r) for r in rows)

    table = Table(title=f"Weight grid on {len(articles)} articles ({enricher.embedder.model_id})")
    for column in ("rank", *GRID, "nDCG@10", "nDCG@50", "multi nDCG@10", "multi nDCG@50", "goals"):
        table.add_column(column.replace("_weight", "").replace("_", " "), justify="right")
    for i, r in enumerate(rows, 1):
        if i <= SHOWN or i == rank or i > len(rows) - 3:
            w, m = r["whole"], r["multilingual"]
            table.add_row(
                f"{i}{' (shipped)' if i == rank else ''}",
                *(str(v) for v in r["weights"].values()),
                *(f"{x:.3f}" for x in (w["ndcg@10"], w["ndcg@50"], m["ndcg@10"], m["ndcg@50"])),
                "yes" if meets_goals(r) else "no",
            )
    console.print(table)
    console.print(f"shipped weights rank {rank} of {len(rows)}; {passing} of {len(rows)} combinations meet every goal")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"model": enricher.embedder.model_id, "shipped": defaults, "shipped_rank": rank, "rows": rows},
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
