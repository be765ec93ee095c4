"""Article pages to text and metadata, with trafilatura (and htmldate through it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import trafilatura

# A body shorter than this is a teaser, a paywall or a JavaScript shell rather than an article.
MIN_BODY_CHARS = 250


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one page yields. `status` is `ok`, `short` (little text found) or `empty` (none)."""

    title: str
    body: str
    published: date | None
    authors: tuple[str, ...]
    site_name: str | None
    description: str | None
    image: str | None
    language_hint: str | None
    canonical_url: str | None
    status: str


def _without_title(text: str, title: str) -> str:
    first, _, rest = text.partition("\n")
    return rest.strip() if title and first.strip() == title.strip() else text.strip()


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def extract_page(html: str | bytes, url: str | None = None) -> Extraction:
    """Extract title, body and metadata from one page; never raises on bad markup (status `empty` instead)."""
    try:
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    except (ValueError, TypeError, AttributeError):
        doc = None
    if doc is None:
        return Extraction("", "", None, (), None, None, None, None, None, "empty")
    title = (doc.title or "").strip()
    body = _without_title(doc.text or "", title)
    authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip())
    status = "ok" if len(body) >= MIN_BODY_CHARS else ("short" if body else "empty")
    return Extraction(
        title=title,
        body=body,
        published=_date(doc.date),
        authors=authors,
        site_name=doc.sitename,
        description=doc.description,
        image=doc.image,
        language_hint=doc.language,
        canonical_url=doc.url if doc.url and doc.url != url else None,
        status=status,
    )
