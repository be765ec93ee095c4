"""Similarity of two articles: the model where it covers both languages, plus the names and figures they share."""

from __future__ import annotations

import math
import re
from collections import Counter

# Capitalised words and multi-digit numbers: the people, places and figures a story is made of, in any script
# with capitals; the first six letters, folded, so that case endings and adjectives still meet (Lukaschenkos).
_NAME = re.compile(r"\b[^\W\d_][\w'-]{2,}\b|\b\d{2,}\b")
NAME_PREFIX = 6
COVERED_MODEL_WEIGHT = 0.8
UNCOVERED_MODEL_WEIGHT = 0.5


def name_profile(text: str) -> dict[str, float]:
    """Unit-length, log-scaled profile of the names and figures in `text`."""
    counts = Counter(w.casefold()[:NAME_PREFIX] for w in _NAME.findall(text) if w[0].isupper() or w[0].isdigit())
    weights = {name: math.log1p(n) for name, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in weights.values()))
    return {name: v / norm for name, v in weights.items()} if norm else {}


def article_similarity(cosine: float, names_a: dict[str, float], names_b: dict[str, float], covered: bool) -> float:
    """Mix the model's cosine with the shared-names cosine; the model weighs more where it covers both languages."""
    shared = sum(v * names_b.get(k, 0.0) for k, v in names_a.items())
    weight = COVERED_MODEL_WEIGHT if covered else UNCOVERED_MODEL_WEIGHT
    return weight * cosine + (1 - weight) * shared
