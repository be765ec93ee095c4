"""An article from a fetched page and the feed entry that linked to it."""

from __future__ import annotations

import base64
import gzip
import logging
from datetime import timedelta
from urllib.parse import urljoin

from ingest.dates import page_published
from ingest.dedup import title_key
from ingest.extract import extract_page
from ingest.fetch import FetchResult
from ingest.sources import Source
from mediamon.core.records import Article, FeedEntry, build_article
from mediamon.core.urls import canonical_url

LOG = logging.getLogger(__name__)


def page_url(declared: str | None, final_url: str) -> str:
    """The page's `<link rel=canonical>` (made absolute) when it is a usable URL, else the URL we ended at."""
    if declared:
        try:
            return canonical_url(urljoin(final_url, declared))
        except ValueError:
            LOG.info("ignored canonical link %r of %s", declared, final_url)
    return canonical_url(final_url)


def article_from_page(
    entry: FeedEntry, page: FetchResult, source: Source, keep_raw: bool, *, future_skew: timedelta
) -> Article:
    """The article of a fetched page: what extraction found, the feed entry's title and summary where the page
    lacks them, the date of the feed, the page or the URL (`ingest.dates.page_published`, dates later than
    `future_skew` past the fetch not believed), and the source's outlet, language, affiliation and country."""
    extraction = extract_page(page.text or "", url=page.final_url)
    body, status = extraction.body, extraction.status
    if status != "ok" and len(entry.summary) > len(body):
        body, status = entry.summary, "feed_summary"
    published = page_published(
        entry.published, extraction.published, page.final_url, now=page.fetched_at, skew=future_skew
    )
    return build_article(
        page_url(extraction.canonical_url, page.final_url),
        source_id=source.id,
        outlet=source.name,
        title=extraction.title or entry.title,
        body=body,
        summary=extraction.description or entry.summary,
        published_at=published.at,
        published_precision=published.precision,
        published_source=published.source,
        fetched_at=page.fetched_at,
        extraction_status=status,
        language_hint=extraction.language_hint or source.language,
        authors=extraction.authors,
        image=extraction.image,
        feed_url=entry.feed_url,
        final_url=page.final_url,
        affiliation=source.affiliation,
        country=source.country,
        title_key=title_key(source.id, entry.title or extraction.title),
        raw_html=base64.b64encode(gzip.compress(page.content)).decode("ascii") if keep_raw and page.content else None,
    )
