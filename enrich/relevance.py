"""Relevance of articles to seed stories, with its reasons.

An article's relevance to a seed is the weighted mean of four signals, each in 0..1:
- `embedding`: cosine between the article's vector and the closest of the seed's texts (its summaries and story),
  rescaled between a noise floor and a ceiling. It counts only for languages the model covers: an English-only
  model compares a Russian article with an English summary at noise level, whatever the article says.
- `entities`: cosine between the article's and the seed's entity profiles (log-scaled mention counts of the
  gazetteer's people, places and organisations, found in any script); the seed's profile is read from its own
  texts, with the analyst's key entities counted at least twice.
- `topics`: cosine between the article's and the seed's sub-topic score profiles (the seed's own text tagged by the
  same rules), so coverage of the same angle of the story (Russia's backing, sanctions) beats another angle. Only
  for a seed that names topics: the rules of `seeds/topics.yaml` are one story's (Belarus), and another story's
  text tagged by them says nothing about it.
- `time`: 1 within `window_days` of the seed's date, fading over a year. An undated article is placed by the
  latest year or timeline landmark it names (`seeds/timeline.yaml`), the earliest it can have been written: past
  the window, it fades from there; otherwise 1 when it names the seed's year, 0.5 when it names nothing that helps.
  A date known to the month counts as the middle of the month; one known to the year only as undated, naming that
  year.
The mean is then scaled by how much the article is about the seed's main topic (the header's `main_topic`, by
default its first topic, none for a seed without topics): tagged, 1; mentioned but not tagged, `mention_factor`;
absent, `absent_factor`; a seed without a main topic scales nothing. So look-alikes (the OSCE Minsk Group, the Minsk
agreements) and passing mentions sink. Last, the score is stretched so that the model's match point (the raw
relevance that separates the story's coverage from unrelated news with its bounds) lands on 0.5. Weights were
calibrated on the development half of the news benchmark (`bench/relevance.py`; figures and the calibration in
`docs/benchmarks.md`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from enrich.embed import Embedder
from enrich.seeds import Seed, SeedError, main_topic_problem
from enrich.topics import TopicTagger

# Articles at or above this relevance are `matched_seeds` unless the seed header sets its own threshold.
DEFAULT_THRESHOLD = 0.5
YEAR = re.compile(r"(?<!\d)(?:19[5-9]\d|20[0-4]\d)(?!\d)")


@dataclass(frozen=True, slots=True)
class RelevanceModel:
    """How the signals combine. The defaults are the calibrated ones."""

    embedding_weight: float = 0.7
    entity_weight: float = 0.2
    topic_weight: float = 0.1
    time_weight: float = 0.1
    cosine_floor: float = 0.15
    cosine_ceiling: float = 0.65
    window_days: int = 60
    mention_factor: float = 0.5
    absent_factor: float = 0.1
    match_point: float = 0.5  # the raw relevance that counts as a match with these bounds; mapped onto 0.5


DEFAULT_MODEL = RelevanceModel()


@dataclass(frozen=True, slots=True)
class SeedProfile:
    """A seed with what articles are compared against: text vectors, entity and sub-topic profiles."""

    seed: Seed
    vectors: np.ndarray
    entities: dict[str, float]
    topics: dict[str, float]
    # the entities an article's profile is read over for this seed: the gazetteer's and the seed's own generated
    # ones, so that another seed's entities do not change this seed's scores (None: all)
    entity_universe: frozenset[str] | None = None

    @property
    def threshold(self) -> float:
        return self.seed.threshold if self.seed.threshold is not None else DEFAULT_THRESHOLD

    @property
    def main_topic(self) -> str | None:
        return self.seed.main_topic


@dataclass(frozen=True, slots=True)
class ArticleSignals:
    """What enrichment found in one article, before it is compared with any seed."""

    cosines: np.ndarray  # one per seed profile, in profile order
    entity_counts: Mapping[str, int]
    topic_scores: Mapping[str, float]
    topics: tuple[str, ...]
    matched_terms: Mapping[str, list[str]]
    embedding_applies: bool
    published: date | None
    text: str
    landmarks: Mapping[str, date] = field(default_factory=dict)  # timeline landmarks named: id -> date
    published_year: int | None = None  # the year of a date known to the year only (`published` is then None)


@dataclass(frozen=True, slots=True)
class Relevance:
    """An article's relevance to one seed and why."""

    score: float
    cosine: float
    embedding_used: bool
    entities: tuple[str, ...]
    topics: tuple[str, ...]
    time: float
    landmarks: tuple[str, ...] = ()

    def reasons(self) -> dict[str, object]:
        """JSON-ready evidence for analysts and alert emails."""
        return {
            "score": round(self.score, 4),
            "cosine": round(self.cosine, 4),
            "embedding_used": self.embedding_used,
            "entities": list(self.entities),
            "topics": list(self.topics),
            "time": round(self.time, 3),
            "landmarks": list(self.landmarks),
        }


def _unit(profile: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in profile.values()))
    return {k: v / norm for k, v in profile.items() if v > 0} if norm else {}


def entity_profile(counts: Mapping[str, int]) -> dict[str, float]:
    """Unit-length log-scaled entity profile."""
    return _unit({entity: math.log1p(n) for entity, n in counts.items()})


def topic_profile(scores: Mapping[str, float], main_topic: str | None) -> dict[str, float]:
    """Unit-length profile of the sub-topic scores (the main topic itself left out)."""
    return _unit({topic: max(0.0, s) for topic, s in scores.items() if topic != main_topic})


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    return sum(v * b.get(k, 0.0) for k, v in a.items())


def build_profiles(
    seeds: list[Seed],
    embedder: Embedder,
    tagger: TopicTagger,
    key_entities: Mapping[str, tuple[str, ...]] | None = None,
    universes: Mapping[str, frozenset[str]] | None = None,
) -> list[SeedProfile]:
    """Embed each seed's texts once and read its entity and sub-topic profiles from its own words.

    `key_entities`: seed id -> the gazetteer ids of its header's entities (`enrich.seed_aliases.seed_entities`;
    default: the header's entities as ids); `universes`: seed id -> the entities its relevance counts."""
    profiles = []
    for seed in seeds:
        text = "\n".join([*seed.summaries.values(), seed.text])
        universe = universes.get(seed.id) if universes else None
        counts = {
            e: n
            for e, n in tagger.gazetteer.find_entities(f"{seed.title}\n{text}").items()
            if universe is None or e in universe
        }
        for entity in key_entities.get(seed.id, seed.entities) if key_entities else seed.entities:
            counts[entity] = max(counts.get(entity, 0), 2)
        if problem := main_topic_problem(seed, {t.id for t in tagger.topics}):
            raise SeedError(problem)
        scores = tagger.tag(seed.title, text).scores if seed.topics else {}
        profiles.append(
            SeedProfile(
                seed=seed,
                vectors=embedder.encode(seed.texts()),
                entities=entity_profile(counts),
                topics=topic_profile(scores, seed.main_topic),
                entity_universe=universe,
            )
        )
    return profiles


def seed_cosines(vectors: np.ndarray, profiles: list[SeedProfile]) -> np.ndarray:
    """Cosine of each article (rows of unit `vectors`) with each seed: the best over the seed's texts.

    Each cosine is summed on its own in float64, so an article's scores do not depend on the batch it came in
    (a float32 matrix product rounds differently with the number of rows): rescoring stored vectors gives exactly
    the scores indexing gave."""
    if not profiles:
        return np.zeros((len(vectors), 0), dtype=np.float64)
    rows = np.asarray(vectors, dtype=np.float64)[:, None, :]
    return np.stack([(rows * p.vectors.astype(np.float64)).sum(axis=2).max(axis=1) for p in profiles], axis=1)


def time_signal(
    seed_date: date,
    published: date | None,
    text: str,
    window_days: int,
    landmark_dates: Iterable[date] = (),
    published_year: int | None = None,
) -> float:
    """How close in time the article is to the seed (see the module docstring); an undated article's
    `published_year` counts as a year it names."""

    def fade(day: date) -> float:
        days = abs((day - seed_date).days)
        return 1.0 if days <= window_days else max(0.0, 1.0 - (days - window_days) / 365)

    if published is not None:
        return fade(published)
    years = {int(y) for y in YEAR.findall(text)} | ({published_year} if published_year else set())
    named = [date(y, 1, 1) for y in years] + list(landmark_dates)
    if named and max(named) > seed_date + timedelta(days=window_days):
        return fade(max(named))
    return 1.0 if seed_date.year in years else 0.5


def calibrated(raw: float, match_point: float) -> float:
    """`raw` stretched piecewise linearly so that `match_point` lands on 0.5 (0 and 1 stay): the order of articles
    is kept, and a threshold means the same with every model."""
    if raw <= match_point:
        return 0.5 * raw / match_point
    return 0.5 + 0.5 * (raw - match_point) / (1.0 - match_point)


def relevance(
    profile: SeedProfile, column: int, article: ArticleSignals, model: RelevanceModel | None = None
) -> Relevance:
    """Combine an article's signals for one seed (`column` is the seed's place in the profile list)."""
    model = model or DEFAULT_MODEL
    cosine = float(article.cosines[column])
    universe = profile.entity_universe
    counts = article.entity_counts
    if universe is not None:
        counts = {e: n for e, n in counts.items() if e in universe}
    entities = _cosine(entity_profile(counts), profile.entities)
    main = profile.main_topic
    topics = _cosine(topic_profile(article.topic_scores, main), profile.topics)
    time = time_signal(
        profile.seed.date,
        article.published,
        article.text,
        model.window_days,
        article.landmarks.values(),
        article.published_year,
    )
    signals = [(model.entity_weight, entities), (model.topic_weight, topics), (model.time_weight, time)]
    if not profile.seed.topics:  # no topics named: the rules are another story's
        del signals[1]
    if article.embedding_applies:
        span = model.cosine_ceiling - model.cosine_floor
        signals.append((model.embedding_weight, float(np.clip((cosine - model.cosine_floor) / span, 0.0, 1.0))))
    score = sum(w * s for w, s in signals) / sum(w for w, _ in signals)
    if main is not None and main not in article.topics:
        score *= model.mention_factor if article.topic_scores.get(main, 0.0) > 0 else model.absent_factor
    return Relevance(
        score=calibrated(score, model.match_point),
        cosine=cosine,
        embedding_used=article.embedding_applies,
        entities=tuple(e for e in profile.entities if article.entity_counts.get(e, 0) > 0),
        topics=tuple(t for t in profile.seed.topics if t in article.topics),
        time=time,
        landmarks=tuple(article.landmarks) if article.published is None else (),
    )
