"""Feed documents (RSS 0.9x/1.0/2.0, Atom) to feed entries, with feedparser; ill-formed feeds are used if they yield.

Titles and summaries are stored as plain text (feedparser sanitizes HTML content, but a title or a summary may
still carry markup or escaped markup); links must be http(s)."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser

from ingest.plaintext import plain_text
from mediamon.core.records import FeedEntry


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """Entries of one feed document; `problem` says why it is ill-formed or empty (None when clean)."""

    entries: tuple[FeedEntry, ...]
    bozo: bool
    problem: str | None
    body_hash: str


def _entry_time(entry: feedparser.FeedParserDict) -> datetime | None:
    """The entry's date as the feed gives it, even in the future (`ingest.dates` decides whether to believe it)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain lookup: FeedParserDict's own aliases warn and mix the keys up
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return None


def entry_text(entry: feedparser.FeedParserDict) -> tuple[str, str]:
    """Title (one line) and summary of one feedparser entry, as plain text."""
    title = plain_text(entry.get("title") or "", single_line=True)
    return title, plain_text(entry.get("summary") or "")


def parse_feed(content: bytes, *, feed_url: str, source_id: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body. Entries without a link are dropped; a bozo feed is kept when it still yields entries."""
    parsed = feedparser.parse(content, response_headers=headers or {})
    entries = []
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            continue
        title, summary = entry_text(entry)
        entries.append(
            FeedEntry(
                source_id=source_id,
                feed_url=feed_url,
                url=link,
                title=title,
                summary=summary,
                published=_entry_time(entry),
                guid=entry.get("id"),
            )
        )
    problem = None
    if parsed.bozo:
        problem = f"ill-formed feed: {parsed.get('bozo_exception')!s}"
    if not entries:
        version = parsed.get("version") or ""
        problem = problem or ("feed has no entries" if version else "not a feed (no RSS/Atom document found)")
    return ParsedFeed(
        entries=tuple(entries),
        bozo=bool(parsed.bozo),
        problem=problem,
        body_hash=hashlib.sha256(content).hexdigest(),
    )
