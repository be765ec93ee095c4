"""Topic-tagging benchmark on the news set (`<bench_dir>/news`): precision, recall and F1 per topic.

Every article the labels do not list is a negative. Run `python -m bench.tagging` for the table; add
`--errors` to list the false positives and negatives (ids and titles) of each topic.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from bench.news_data import load_articles, news_dir
from enrich.topics import TopicTagger, load_tagger
from mediamon.core.settings import get_settings

# Gazetteer entities whose "Minsk" is not Belarus: an article that names them must not be tagged `belarus`.
TRAP_ENTITIES = ("osce-minsk-group", "minsk-agreements", "minsk-mazowiecki")


def _get(article: Any, name: str) -> Any:
    return article.get(name) if isinstance(article, Mapping) else getattr(article, name, None)


def article_fields(article: Any) -> tuple[str, str]:
    """Title, and standfirst plus body: what the tagger reads of a benchmark article (dict or BenchArticle)."""
    text = "\n\n".join(part for part in (_get(article, "description"), _get(article, "body")) if part)
    return _get(article, "title") or "", text


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    if tp + fp + fn == 0:
        precision = recall = f1 = 1.0
    else:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": tp + fn,
    }


def tagging_metrics(
    articles: Iterable[Any],
    labels: Mapping[str, Iterable[str]] | Iterable[Mapping[str, Any]],
    tagger: TopicTagger | None = None,
) -> dict[str, Any]:
    """Score `tagger` (default rules) on `articles` (dicts or `BenchArticle`s) against `labels`: id -> topics,
    or the rows of `labels.jsonl` (dicts with `id` and `topics`); an article not listed has no topic.

    Returns `topics` (id -> precision, recall, f1, tp, fp, fn, support), `false_positives` and
    `false_negatives` (id -> list of {id, title, score}), `trap_false_positives` (articles naming a
    Minsk look-alike, tagged `belarus` against their label), `articles`, `seconds`, `articles_per_second`.
    """
    tagger = tagger or load_tagger(get_settings().seeds_dir)
    if not isinstance(labels, Mapping):
        labels = {row["id"]: row.get("topics") or [] for row in labels}
    topic_ids = [topic.id for topic in tagger.topics]
    counts = {topic: {"tp": 0, "fp": 0, "fn": 0} for topic in topic_ids}
    errors: dict[str, dict[str, list[dict[str, Any]]]] = {"fp": {}, "fn": {}}
    traps: list[dict[str, Any]] = []
    seconds = 0.0
    total = 0
    for article in articles:
        title, text = article_fields(article)
        started = time.perf_counter()
        tags = tagger.tag(title, text)
        seconds += time.perf_counter() - started
        total += 1
        article_id = _get(article, "id")
        truth = set(labels.get(article_id, ()))
        predicted = set(tags.topics)
        for topic in topic_ids:
            outcome = {(True, True): "tp", (True, False): "fp", (False, True): "fn"}.get(
                (topic in predicted, topic in truth)
            )
            if outcome is None:
                continue
            counts[topic][outcome] += 1
            if outcome != "tp":
                row = {"id": article_id, "title": title, "score": tags.scores.get(topic, 0.0)}
                errors[outcome].setdefault(topic, []).append(row)
        if "belarus" in predicted and "belarus" not in truth:
            named = tagger.gazetteer.find_entities(f"{title}\n{text}")
            if any(entity in named for entity in TRAP_ENTITIES):
                traps.append({"id": article_id, "title": title, "entities": sorted(named)})
    return {
        "topics": {topic: _prf(**c) for topic, c in counts.items()},
        "false_positives": errors["fp"],
        "false_negatives": errors["fn"],
        "trap_false_positives": traps,
        "articles": total,
        "seconds": round(seconds, 3),
        "articles_per_second": round(total / seconds, 1) if seconds else 0.0,
    }


def format_table(metrics: Mapping[str, Any]) -> str:
    """The per-topic metrics as a text table."""
    lines = [f"{'topic':24} {'prec':>6} {'rec':>6} {'f1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for topic, m in metrics["topics"].items():
        lines.append(
            f"{topic:24} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['tp']:4} {m['fp']:4} {m['fn']:4}"
        )
    lines.append(
        f"{metrics['articles']} articles in {metrics['seconds']:.1f} s ({metrics['articles_per_second']} /s);"
        f" Minsk look-alikes tagged belarus: {len(metrics['trap_false_positives'])}"
    )
    return "\n".join(lines)


def format_errors(metrics: Mapping[str, Any]) -> str:
    """False positives, false negatives and trap hits, one line each."""
    lines = []
    for kind in ("false_positives", "false_negatives"):
        for topic, rows in metrics[kind].items():
            for row in rows:
                lines.append(f"{kind[:5].upper()} {topic:22} {row['score']:7.2f} {row['id']}  {row['title'][:90]}")
    lines += [f"TRAP  {row['id']}  {row['title'][:90]}" for row in metrics["trap_false_positives"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the tagging table (and, with --errors, the misses) for the news benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list false positives and negatives")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parser.parse_args(argv)
    articles = load_articles(news_dir(get_settings()))
    metrics = tagging_metrics(articles, {article.id: article.topics for article in articles})
    if args.json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
        return
    print(format_table(metrics))
    if args.errors:
        print(format_errors(metrics))


if __name__ == "__main__":
    main()
