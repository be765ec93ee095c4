"""Relevance of articles to seed stories."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enrich.embed import Embedder
from enrich.seeds import Seed

# Articles at or above this relevance are `matched_seeds` unless the seed header sets its own threshold.
DEFAULT_THRESHOLD = 0.45


@dataclass(frozen=True, slots=True)
class SeedProfile:
    """A seed and the vectors of the texts that stand for it (summaries, story)."""

    seed: Seed
    vectors: np.ndarray

    @property
    def threshold(self) -> float:
        return self.seed.threshold if self.seed.threshold is not None else DEFAULT_THRESHOLD


def build_profiles(seeds: list[Seed], embedder: Embedder) -> list[SeedProfile]:
    """Embed each seed's texts once."""
    return [SeedProfile(seed, embedder.encode(seed.texts())) for seed in seeds]


def seed_relevance(vectors: np.ndarray, profiles: list[SeedProfile]) -> np.ndarray:
    """Relevance of each article (rows of unit `vectors`) to each seed: the best cosine over the seed's texts."""
    if not profiles:
        return np.zeros((len(vectors), 0), dtype=np.float32)
    return np.stack([(vectors @ p.vectors.T).max(axis=1) for p in profiles], axis=1)
