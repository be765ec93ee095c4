"""Relevance of articles to seed stories, with its reasons.

An article's relevance to a seed combines three signals, each in 0..1:
- `embedding`: cosine between the article's vector and the closest of the seed's texts (its summaries and story),
  rescaled between a noise floor and a ceiling; used only for languages the model covers, since an English-only
  model compares a Russian article with an English summary at noise level whatever the article says;
- `entities`: how many of the seed's key entities (its header's `entities`, found through the multilingual alias
  gazetteer in any script) the article names, each saturating with repeated mentions;
- `topics`: the share of the seed's topics the article is tagged with.
The weighted mean of the available signals is halved when the article lacks the seed's main topic (its first),
so look-alikes that share words but not the subject sink. Weights and thresholds are calibrated on the development
half of the news benchmark (`bench/relevance.py`, figures in `docs/benchmarks.md`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from enrich.embed import Embedder
from enrich.seeds import Seed

# Articles at or above this relevance are `matched_seeds` unless the seed header sets its own threshold.
DEFAULT_THRESHOLD = 0.45


@dataclass(frozen=True, slots=True)
class RelevanceModel:
    """How the signals combine. The defaults are the calibrated ones."""

    embedding_weight: float = 0.5
    entity_weight: float = 0.3
    topic_weight: float = 0.2
    cosine_floor: float = 0.15
    cosine_ceiling: float = 0.65
    mention_half_life: float = 1.0
    off_topic_factor: float = 0.5


DEFAULT_MODEL = RelevanceModel()


@dataclass(frozen=True, slots=True)
class SeedProfile:
    """A seed and the vectors of the texts that stand for it (summaries, story)."""

    seed: Seed
    vectors: np.ndarray

    @property
    def threshold(self) -> float:
        return self.seed.threshold if self.seed.threshold is not None else DEFAULT_THRESHOLD


@dataclass(frozen=True, slots=True)
class Relevance:
    """An article's relevance to one seed and why: the signals that made it."""

    score: float
    cosine: float
    embedding: float | None
    entities: tuple[str, ...]
    topics: tuple[str, ...]

    def reasons(self) -> dict[str, object]:
        """JSON-ready evidence for analysts and alert emails."""
        return {
            "score": round(self.score, 4),
            "cosine": round(self.cosine, 4),
            "embedding_used": self.embedding is not None,
            "entities": list(self.entities),
            "topics": list(self.topics),
        }


def build_profiles(seeds: list[Seed], embedder: Embedder) -> list[SeedProfile]:
    """Embed each seed's texts once."""
    return [SeedProfile(seed, embedder.encode(seed.texts())) for seed in seeds]


def seed_cosines(vectors: np.ndarray, profiles: list[SeedProfile]) -> np.ndarray:
    """Cosine of each article (rows of unit `vectors`) with each seed: the best over the seed's texts."""
    if not profiles:
        return np.zeros((len(vectors), 0), dtype=np.float32)
    return np.stack([(vectors @ p.vectors.T).max(axis=1) for p in profiles], axis=1)


def relevance(
    seed: Seed,
    cosine: float,
    entity_counts: Mapping[str, int],
    topics: Collection[str],
    embedding_applies: bool,
    model: RelevanceModel | None = None,
) -> Relevance:
    """Combine the signals of one article for one seed (see the module docstring)."""
    model = model or DEFAULT_MODEL
    signals: list[tuple[float, float]] = []
    embedding = None
    if embedding_applies:
        span = model.cosine_ceiling - model.cosine_floor
        embedding = float(np.clip((cosine - model.cosine_floor) / span, 0.0, 1.0))
        signals.append((model.embedding_weight, embedding))
    found = tuple(e for e in seed.entities if entity_counts.get(e, 0) > 0)
    if seed.entities:
        saturation = [1.0 - 0.5 ** (entity_counts.get(e, 0) / model.mention_half_life) for e in seed.entities]
        signals.append((model.entity_weight, sum(saturation) / len(seed.entities)))
    shared = tuple(t for t in seed.topics if t in topics)
    if seed.topics:
        signals.append((model.topic_weight, len(shared) / len(seed.topics)))
    total = sum(w for w, _ in signals)
    score = sum(w * s for w, s in signals) / total if total else 0.0
    if seed.topics and seed.topics[0] not in topics:
        score *= model.off_topic_factor
    return Relevance(score=score, cosine=float(cosine), embedding=embedding, entities=found, topics=shared)
