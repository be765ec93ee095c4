"""Seed relevance on the real news of the seed's weeks (`../shared/bench/news`), next to the naive baselines.

    .venv/bin/python -m bench.relevance [--seed belarus-2020-09] [--json out.json]

Ranks the whole pool (and its multilingual part alone) against the seed, reports nDCG@10/@50 and recall@50 of
grade >= 2 for: a multilingual Belarus keyword count, the model on the seed's own text, the model on the seed's
English summary, that summary gated by the keyword match, and mediamon's relevance. Then topic tagging
precision/recall/F1 and, on `pairs.jsonl`, Pearson r of similarity with the human score per language pair.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import date

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.news_data import BenchArticle, cached_vectors, load_articles, news_dir, ranking_metrics
from enrich.annotate import Enricher, article_signals, load_enricher
from enrich.embed import embedding_text
from enrich.language import detect_language
from enrich.relevance import ArticleSignals, RelevanceModel, SeedProfile, relevance
from mediamon.settings import Settings

# The baseline's keyword list: stems of Belarus and its crisis's names in the benchmark's languages.
BASELINE_STEMS = re.compile(
    r"belarus|byelorus|bielorus|biélorus|bielorr|białoru|weißruss|weissruss|wit-rus|беларус|белорус|білорус"
    r"|lukash|lukasch|łukasz|loukach|loekasj|лукаш|minsk|минск|мінск|tsikhan|tikhanov|cichanou|тихановск|ціханоў",
    re.IGNORECASE,
)
MULTILINGUAL = "semeval2023_task3"


def keyword_counts(articles: list[BenchArticle]) -> np.ndarray:
    """Baseline: how often the Belarus stems occur in title, standfirst and body."""
    return np.array([len(BASELINE_STEMS.findall(f"{a.title} {a.description} {a.body}")) for a in articles], float)


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


def mediamon_scores(
    profile: SeedProfile, signals: list[ArticleSignals], model: RelevanceModel | None = None
) -> np.ndarray:
    """mediamon's relevance of every article to the seed."""
    return np.array([relevance(profile, 0, s, model).score for s in signals])


def evaluate(name: str, scores: np.ndarray, articles: list[BenchArticle]) -> dict[str, object]:
    """Metrics of one scoring over the whole pool and over its multilingual part."""
    grades = [a.grade for a in articles]
    multi = [i for i, a in enumerate(articles) if a.collection == MULTILINGUAL]
    whole = ranking_metrics(scores.tolist(), grades)
    part = ranking_metrics(scores[multi].tolist(), [grades[i] for i in multi])
    return {"method": name, "whole": whole, "multilingual": part}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="belarus-2020-09")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    settings = Settings()
    console = Console()
    articles = load_articles(news_dir(settings))
    enricher = load_enricher(settings)
    embedder = enricher.embedder
    profile = next(p for p in enricher.profiles if p.seed.id == args.seed)
    seed = profile.seed
    texts = [embedding_text(a.title, a.description, a.body) for a in articles]
    start = time.perf_counter()
    vectors = cached_vectors(settings, embedder.model_id, texts, embedder.encode)
    console.print(f"{len(articles)} articles embedded with {embedder.model_id} in {time.perf_counter() - start:.0f} s")

    cosines = (vectors @ profile.vectors.T).max(axis=1)
    start = time.perf_counter()
    signals = bench_signals(articles, cosines, enricher)
    console.print(f"language, entities and topics of {len(articles)} articles in {time.perf_counter() - start:.0f} s")
    keywords = keyword_counts(articles)
    seed_text = embedder.encode([f"{seed.title}\n{seed.text}"])[0]
    summary = embedder.encode([seed.summaries["en"]])[0]
    results = [
        evaluate("Belarus keyword count (baseline)", keywords, articles),
        evaluate(f"model, seed's own text ({seed.language})", vectors @ seed_text, articles),
        evaluate("model, English summary", vectors @ summary, articles),
        evaluate("keyword-gated model, English summary", (vectors @ summary) + (keywords > 0), articles),
        evaluate("mediamon relevance", mediamon_scores(profile, signals), articles),
    ]
    table = Table(title=f"Seed {seed.id}: ranking on {len(articles)} articles ({embedder.model_id})")
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
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"model": embedder.model_id, "ranking": results}, handle, indent=2)


if __name__ == "__main__":
    main()
