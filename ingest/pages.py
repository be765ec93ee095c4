"""The article of a feed entry: from its fetched page, or, when the page cannot be read, from what the feed gave.

Identity is the page's own address: a `<link rel=canonical>` on the same site names the article's URL (tracking
variants and mobile paths fold into one), a canonical on another site is a syndication hint (`syndicated_from`),
never an identity, so no page can take another outlet's article id.
"""

from __future__ import annotations

import base64
import gzip
import logging
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

from courlan import extract_domain

from ingest.dates import page_published
from ingest.extract import extract_page
from ingest.fetch import FetchResult
from ingest.sources import Source
from mediamon.core.feeds import FetchOutcome
from mediamon.core.records import Article, FeedEntry, build_article
from mediamon.core.urls import canonical_url

LOG = logging.getLogger(__name__)
# gzip level of a kept page: on the extraction bench's real pages (189 KB) level 5 takes 2.9 ms and leaves 19.5 % of
# the bytes, the default 9 takes 5.7 ms for 19.1 % (docs/benchmarks.md, "Real pages").
RAW_HTML_LEVEL = 5

# Answers that say the page exists but is not for us; any other failure is `failed` (gone, broken, unreachable).
BLOCKED_STATUSES = frozenset({401, 402, 403, 451})


def site(url: str) -> str:
    """The site a URL belongs to: its registered domain (`news.bbc.co.uk` → `bbc.co.uk`), else host and port."""
    return extract_domain(url) or urlsplit(url).netloc.lower()


def page_identity(declared: str | None, final_url: str) -> tuple[str, str | None]:
    """The article's URL and the original it syndicates, if any: a usable canonical link on the page's own site is
    its URL; one on another site is only the original's address, and the page keeps the URL we ended at."""
    if declared:
        try:
            canonical = canonical_url(urljoin(final_url, declared))
        except ValueError:
            LOG.info("ignored canonical link %r of %s", declared, final_url)
        else:
            if site(canonical) == site(final_url):
                return canonical, None
            return canonical_url(final_url), canonical
    return canonical_url(final_url), None


def page_access(page: FetchResult) -> str:
    """`blocked` when the site refuses us (401, 403, 451, robots.txt, a refused address), else `failed`."""
    refused = page.status in (FetchOutcome.ROBOTS, FetchOutcome.BLOCKED) or page.http_status in BLOCKED_STATUSES
    return "blocked" if refused else "failed"


def article_from_page(
    entry: FeedEntry, page: FetchResult, source: Source, keep_raw: bool, *, future_skew: timedelta
) -> Article:
    """The article of a fetched page: what extraction found, the feed entry's title and summary where the page
    lacks them, the date of the feed, the page or the URL (`ingest.dates.page_published`, dates later than
    `future_skew` past the fetch not believed), and the source's outlet, language, affiliation and country. A page
    whose body could not be extracted, when the feed's summary says more, is a `teaser` (the summary stands for
    its body)."""
    extraction = extract_page(page.text or "", url=page.final_url)
    body, status, access = extraction.body, extraction.status, "full"
    if status != "ok" and len(entry.summary) > len(body):
        body, status, access = entry.summary, "feed_summary", "teaser"
    url, original = page_identity(extraction.canonical_url, page.final_url)
    published = page_published(
        entry.published, extraction.published, page.final_url, now=page.fetched_at, skew=future_skew
    )
    return build_article(
        url,
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
        access=access,
        access_reason=f"no article text on the page ({extraction.status})" if access == "teaser" else None,
        syndicated_from=original,
        language_hint=extraction.language_hint or source.language,
        authors=extraction.authors,
        image=extraction.image,
        feed_url=entry.feed_url,
        final_url=page.final_url,
        affiliation=source.affiliation,
        country=source.country,
        raw_html=_kept(page.content) if keep_raw and page.content else None,
    )


def _kept(html: bytes) -> str:
    """A page as the article keeps it, for re-extraction: gzip (no time in its header, so the same page is kept the
    same), then base64."""
    return base64.b64encode(gzip.compress(html, compresslevel=RAW_HTML_LEVEL, mtime=0)).decode("ascii")


def article_from_entry(
    entry: FeedEntry, source: Source, access: str, reason: str, fetched_at: datetime, *, future_skew: timedelta
) -> Article:
    """The article as its feed entry describes it (title, link, date, summary), for a page that could not be read."""
    published = page_published(entry.published, None, entry.url, now=fetched_at, skew=future_skew)
    return build_article(
        entry.url,
        source_id=source.id,
        outlet=source.name,
        title=entry.title,
        body=entry.summary,
        summary=entry.summary,
        published_at=published.at,
        published_precision=published.precision,
        published_source=published.source,
        fetched_at=fetched_at,
        extraction_status="feed_summary",
        access=access,
        access_reason=reason,
        language_hint=source.language,
        feed_url=entry.feed_url,
        affiliation=source.affiliation,
        country=source.country,
    )
