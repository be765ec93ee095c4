"""What the pipeline extracts from one saved page, as a JSON-ready dict (behind `mediamon extract PAGE.html`)."""

from __future__ import annotations

from enrich.language import detect_language
from ingest.extract import extract_page
from ingest.fetch import Fetcher
from mediamon.core.errors import MediamonError
from mediamon.core.settings import Settings


class PageUnavailable(MediamonError):
    """A page could not be fetched; the message says why."""


def fetch_report(settings: Settings, url: str) -> dict:
    """`extraction_report` of a page fetched now, through the same polite, guarded fetcher as the pipeline."""
    with Fetcher(settings) as fetcher:
        page = fetcher.fetch(url, kind="page")
    if not page.ok:
        raise PageUnavailable(f"cannot fetch {url}: {page.status}: {page.error}")
    return extraction_report(page.content, page.final_url)


def extraction_report(html: bytes, url: str | None) -> dict:
    """Title, body, date, authors, detected language and status of one page, as `extract_page` and the language
    stage see it; `published` is an ISO date or None."""
    extraction = extract_page(html, url=url)
    guess = detect_language(extraction.title, extraction.body, extraction.language_hint)
    return {
        "url": url,
        "title": extraction.title,
        "body": extraction.body,
        "published": extraction.published.isoformat() if extraction.published else None,
        "authors": list(extraction.authors),
        "language": guess.code,
        "language_confidence": guess.confidence,
        "language_hint": extraction.language_hint,
        "extraction_status": extraction.status,
        "site_name": extraction.site_name,
        "description": extraction.description,
        "image": extraction.image,
        "canonical_url": extraction.canonical_url,
    }
