"""The news relevance benchmark (`../shared/bench/news`): loading, graded-ranking metrics and a vector cache."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediamon.core.settings import Settings

MULTILINGUAL = "semeval2023_task3"  # the collection in de, en, fr, it, pl and ru


@dataclass(frozen=True, slots=True)
class BenchArticle:
    """One benchmark article; `grade` and `topics` come from labels.jsonl (0 and none when unlisted)."""

    id: str
    lang: str
    collection: str
    published: str | None
    outlet: str
    title: str
    description: str
    body: str
    grade: int
    topics: tuple[str, ...]


def news_dir(settings: Settings) -> Path:
    """The news benchmark folder; exits with a clear message when it is absent."""
    path = settings.bench_dir / "news"
    if not (path / "articles.jsonl.gz").exists():
        sys.exit(f"benchmark data not found at {path} (set MEDIAMON_BENCH_DIR to the folder holding news/)")
    return path


def labelled_ids(settings: Settings) -> set[str]:
    """Ids of every article labels.jsonl lists (grade 0 look-alikes included)."""
    lines = (news_dir(settings) / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["id"] for line in lines if line.strip()}


def load_articles(path: Path) -> list[BenchArticle]:
    """Articles with their labels joined in."""
    labels = {}
    for line in (path / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels[row["id"]] = row
    articles = []
    with gzip.open(path / "articles.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            label = labels.get(row["id"], {})
            articles.append(
                BenchArticle(
                    id=row["id"],
                    lang=row["lang"],
                    collection=row["collection"],
                    published=row.get("published"),
                    outlet=row.get("outlet") or "",
                    title=row.get("title") or "",
                    description=row.get("description") or "",
                    body=row.get("body") or "",
                    grade=int(label.get("grade", 0)),
                    topics=tuple(label.get("topics", ())),
                )
            )
    return articles


def dcg(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of the first k gains."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ranking_metrics(scores: Sequence[float], grades: Sequence[int]) -> dict[str, float]:
    """nDCG@10, nDCG@50 (gain 2^grade - 1) and recall@50 of grade >= 2 for one ranking of a pool."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    ranked = [2 ** grades[i] - 1 for i in order]
    ideal = sorted((2**g - 1 for g in grades), reverse=True)
    relevant = sum(1 for g in grades if g >= 2)
    found = sum(1 for i in order[:50] if grades[i] >= 2)
    return {
        "ndcg@10": dcg(ranked, 10) / dcg(ideal, 10) if dcg(ideal, 10) else 0.0,
        "ndcg@50": dcg(ranked, 50) / dcg(ideal, 50) if dcg(ideal, 50) else 0.0,
        "recall@50": found / relevant if relevant else float("nan"),
    }


def cached_vectors(
    settings: Settings, name: str, texts: list[str], encode: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """Vectors for `texts`, cached under the data dir by `name` and a hash of the texts."""
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    path = settings.data_dir / "bench-cache" / f"{name.replace('/', '_')}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def cached_rows(
    settings: Settings, name: str, texts: list[str], encode: Callable[[list[str]], np.ndarray], chunk: int = 128
) -> np.ndarray:
    """Vectors for `texts`, cached one text at a time under the data dir's `bench-cache/<name>/`: a slow model
    embeds only what no earlier run (of any pool) did, and an interrupted run keeps every finished chunk."""
    folder = settings.data_dir / "bench-cache" / name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    known: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as saved:
            known.update(zip(saved["keys"].tolist(), saved["vectors"], strict=True))
    keys = [hashlib.sha256(text.encode()).hexdigest()[:24] for text in texts]
    missing = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    for first in range(0, len(missing), chunk):
        rows = missing[first : first + chunk]
        vectors = encode([texts[i] for i in rows])
        np.savez(
            folder / f"{keys[rows[0]]}.npz",
            keys=np.array([keys[i] for i in rows]),
            vectors=vectors,
        )
        known.update(zip((keys[i] for i in rows), vectors, strict=True))
    return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)


def seed_bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line every news bench shares: `--seed` (default the first seed story) and `--json FILE`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="belarus-2020-09")
    parser.add_argument("--json", help="also write the results to this file")
    return parser
