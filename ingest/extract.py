"""Article pages to text and metadata, with trafilatura (and htmldate through it).

Two passes: trafilatura's precision mode first (it leaves out more related-story lists and widgets); when that
yields a short body, a recall-mode pass too, whose text wins when it is more than twice as long (precision mode
sometimes drops the article itself). Then the repeated headline and boilerplate lines go (`ingest.boilerplate`).
`bench/extraction.py` measures this against bare trafilatura; see docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import trafilatura
from trafilatura.settings import Document

from ingest.boilerplate import clean_body

# A body shorter than this is a teaser, a paywall or a JavaScript shell rather than an article.
MIN_BODY_CHARS = 250
# A precision-mode body shorter than this gets a second, recall-mode look ...
SECOND_PASS_BELOW_CHARS = 1000
# ... whose body replaces it when the first is less than this share of it.
SECOND_PASS_RATIO = 0.5


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


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _bare(html: str | bytes, url: str | None, **options: bool) -> Document | None:
    try:
        return trafilatura.bare_extraction(html, url=url, include_comments=False, **options)
    except (ValueError, TypeError, AttributeError):
        return None


def extract_body(html: str | bytes, url: str | None, title: str, first: str) -> str:
    """The article text: `first` (the precision-mode text), or a recall-mode pass's when `first` looks cut short."""
    body = clean_body(first, title)
    if len(body) < SECOND_PASS_BELOW_CHARS:
        doc = _bare(html, url, favor_recall=True)
        second = clean_body(doc.text or "", title) if doc is not None else ""
        if len(body) < SECOND_PASS_RATIO * len(second):
            return second
    return body


def extract_page(html: str | bytes, url: str | None = None) -> Extraction:
    """Extract title, body and metadata from one page; never raises on bad markup (status `empty` instead)."""
    doc = _bare(html, url, with_metadata=True, favor_precision=True) or _bare(
        html, url, with_metadata=True, favor_recall=True
    )
    if doc is None:
        return Extraction("", "", None, (), None, None, None, None, None, "empty")
    title = (doc.title or "").strip()
    body = extract_body(html, url, title, doc.text or "")
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
