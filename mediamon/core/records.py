"""The records that move through the pipeline: a feed entry, an extracted article (and its one builder), its
enrichment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mediamon.core.urls import article_id, canonical_url

Precision = Literal["instant", "day", "month", "year"]  # what a publication date names; stored at its UTC start
DateSource = Literal["feed", "page", "url", "import", "none"]  # where it came from (`none`: undated)


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
    """An article page after fetching and extraction, or what its feed entry gave when the page could not be read
    (`access` says which). `id` is the hash of the canonical URL (also the ES `_id`)."""

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
    published_precision: Precision | None = None  # None: undated
    published_source: DateSource | None = None  # None: not recorded (stored before dates carried their source)
    access: str = "full"  # full | teaser (the feed's text only) | blocked (401, 403, robots...) | failed (404, 5xx...)
    access_reason: str | None = None  # why the page's full text is missing
    retries: int = 0  # fetches of a teaser, blocked or failed page tried again after the first
    next_retry_at: datetime | None = None  # when its page is fetched again (None: not any more)
    syndicated_from: str | None = None  # a canonical link to another site: the original this copies
    ingest_run: str | None = None  # the run that wrote it (a retried write recognises its own article)
    language_hint: str | None = None
    authors: tuple[str, ...] = ()
    image: str | None = None
    feed_url: str | None = None
    final_url: str | None = None
    affiliation: str | None = None
    country: str | None = None
    raw_html: str | None = None  # the page as fetched, gzip then base64, for re-extraction later


def build_article(url: str, *, id: str | None = None, published_at: datetime | None = None, **fields: Any) -> Article:
    """The one way to make an Article: at the canonical form of `url`, its id the hash of that URL unless one is
    given (an import's own id, a stored document's), a naive publication time read as UTC.

    Raises ValueError when `url` is not an absolute http(s) URL.
    """
    url = canonical_url(url)
    if published_at is not None and published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    return Article(id=id or article_id(url), url=url, published_at=published_at, **fields)


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What `enrich/` adds to an article: language, vector, topics, entities and relevance to each seed."""

    language: str | None
    language_confidence: float
    embedding: tuple[float, ...]
    model: str  # the vector space (Embedder.model_id): vectors of two models are never mixed
    embed_backend: str | None = None  # how the vector was computed, e.g. "openvino/bf16" (provenance only)
    topics: tuple[str, ...] = ()
    topic_scores: dict[str, float] = field(default_factory=dict)
    topic_terms: dict[str, list[str]] = field(default_factory=dict)
    entities: tuple[str, ...] = ()
    seed_similarity: dict[str, float] = field(default_factory=dict)
    seed_reasons: dict[str, dict[str, object]] = field(default_factory=dict)
    matched_seeds: tuple[str, ...] = ()
    dup_group: str | None = None
    simhash: int | None = None  # SimHash of the body (None: too short to compare)
    simhash_bands: tuple[str, ...] = ()  # its near-duplicate lookup keys (enrich/near_dup.py)
