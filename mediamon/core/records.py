"""The records that move through the pipeline: a feed entry, an extracted article, its enrichment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the feed describes it."""

    source_id: str
    feed_url: str
    url: str
    title: str
    summary: str
    published: datetime | None
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """An article page after fetching and extraction. `id` is the hash of the canonical URL (also the ES `_id`)."""

    id: str
    url: str
    source_id: str
    outlet: str
    title: str
    body: str
    summary: str
    published_at: datetime | None
    fetched_at: datetime
    extraction_status: str
    language_hint: str | None = None
    authors: tuple[str, ...] = ()
    image: str | None = None
    feed_url: str | None = None
    final_url: str | None = None
    affiliation: str | None = None
    country: str | None = None
    title_key: str | None = None
    raw_html: str | None = None  # the page as fetched, gzip then base64, for re-extraction later


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What `enrich/` adds to an article: language, vector, topics, entities and relevance to each seed."""

    language: str | None
    language_confidence: float
    embedding: tuple[float, ...]
    model: str
    topics: tuple[str, ...] = ()
    topic_scores: dict[str, float] = field(default_factory=dict)
    topic_terms: dict[str, list[str]] = field(default_factory=dict)
    entities: tuple[str, ...] = ()
    seed_similarity: dict[str, float] = field(default_factory=dict)
    seed_reasons: dict[str, dict[str, object]] = field(default_factory=dict)
    matched_seeds: tuple[str, ...] = ()
    dup_group: str | None = None
    simhash: int | None = None  # SimHash of the body (None: too short to compare)
