"""Article pages to text and metadata, with trafilatura (and htmldate through it).

Trafilatura's precision mode first (it leaves out more related-story lists and widgets), in its fast mode: without the
comparison with readability and justext, which only replaces a body that is empty, less than half as long as theirs
or without paragraphs. So a fast body that is long and made of paragraphs stands; any other gets the full precision
pass (on 6,121 bench pages, every field the same as with the full pass alone, in a fifth less time). When that body
is short, a recall-mode pass too, whose text wins when it is more than twice as long (precision mode sometimes drops
the article itself). Then the repeated headline and boilerplate lines go (`ingest.boilerplate`). The page is parsed
once, and its metadata read once (`ingest.page_metadata`), whichever passes its body takes.
`bench/extraction.py` measures this against bare trafilatura; see docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html

from ingest.boilerplate import clean_body
from ingest.page_metadata import page_metadata

# A body shorter than this is a teaser, a paywall or a JavaScript shell rather than an article.
MIN_BODY_CHARS = 250
# A precision-mode body shorter than this gets the fallbacks' comparison and a second, recall-mode look ...
SECOND_PASS_BELOW_CHARS = 1000
# ... whose body replaces it when the first is less than this share of it.
SECOND_PASS_RATIO = 0.5


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one page yields. `status` is `ok`, `short` (little text found) or `empty` (none)."""

    title: str
    body: str
    published: datetime | date | None  # an instant (UTC) where the page gives its offset, else the day
    authors: tuple[str, ...]
    site_name: str | None
    description: str | None
    image: str | None
    language_hint: str | None
    canonical_url: str | None
    status: str


NOTHING = Extraction("", "", None, (), None, None, None, None, None, "empty")


def _published(value: str | None) -> datetime | date | None:
    """htmldate's date: an instant when it has an offset; else the day, since a time without one is local to a
    place we do not know (and a date alone reads as midnight)."""
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return moment.date() if moment else None
    return moment.astimezone(UTC)


def _tree(html: str | bytes) -> HtmlElement | None:
    try:
        return load_html(html)
    except (ValueError, TypeError):
        return None


def page_language(tree: HtmlElement) -> str | None:
    """The language the page declares on its root (`<html lang="uk-UA">` → `uk`), if it is a language tag."""
    declared = tree.getroottree().getroot().get("lang") or ""
    primary = declared.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 and primary.isascii() else None


def _bare(tree: HtmlElement, url: str | None, **options: bool) -> Document | None:
    """Trafilatura's body extraction on a copy of `tree` (it copies a tree it is given)."""
    try:
        return trafilatura.bare_extraction(tree, url=url, include_comments=False, **options)
    except (ValueError, TypeError, AttributeError):
        return None


def stands_alone(doc: Document) -> bool:
    """Whether a fast-mode body needs no comparison with trafilatura's fallbacks: long, with paragraph text, and not
    more tables than paragraphs (the signs trafilatura itself reads as a deficient extraction)."""
    paragraphs = len(doc.body.findall(".//p"))
    return (
        len(doc.text or "") >= SECOND_PASS_BELOW_CHARS
        and bool(doc.body.xpath(".//p//text()"))
        and len(doc.body.findall(".//table")) <= paragraphs
    )


def extract_body(tree: HtmlElement, url: str | None, title: str, first: str) -> str:
    """The article text: `first` (the precision-mode text), or a recall-mode pass's when `first` looks cut short."""
    body = clean_body(first, title)
    if len(body) < SECOND_PASS_BELOW_CHARS:
        doc = _bare(tree, url, favor_recall=True)
        second = clean_body(doc.text or "", title) if doc is not None else ""
        if len(body) < SECOND_PASS_RATIO * len(second):
            return second
    return body


def extract_page(html: str | bytes, url: str | None = None) -> Extraction:
    """Extract title, body and metadata from one page; never raises on bad markup (status `empty` instead)."""
    tree = _tree(html)
    if tree is None:
        return NOTHING
    doc = _bare(tree, url, favor_precision=True, fast=True)
    if doc is None or not stands_alone(doc):
        doc = _bare(tree, url, favor_precision=True) or _bare(tree, url, favor_recall=True)
    if doc is None:
        return NOTHING
    meta = page_metadata(tree, url)
    title = (meta.title or "").strip()
    body = extract_body(tree, url, title, doc.text or "")
    authors = tuple(a.strip() for a in (meta.author or "").split(";") if a.strip())
    status = "ok" if len(body) >= MIN_BODY_CHARS else ("short" if body else "empty")
    return Extraction(
        title=title,
        body=body,
        published=_published(meta.date),
        authors=authors,
        site_name=meta.sitename,
        description=meta.description,
        image=meta.image,
        language_hint=page_language(tree),
        canonical_url=meta.url if meta.url and meta.url != url else None,
        status=status,
    )
