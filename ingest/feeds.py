"""Feed documents (RSS 0.9x/1.0/2.0, Atom) to feed entries, with feedparser; ill-formed feeds are used if they yield.

A feed is decoded by the rules pages are (`ingest.decode`), not by feedparser's RFC 3023 ones that let a wrong
HTTP charset win over the document and its bytes. Titles and summaries are stored as plain text (feedparser
sanitizes HTML content, but a title or a summary may still carry markup or escaped markup); links must be http(s).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

import feedparser

from ingest.decode import codec_of, decode_text
from ingest.plaintext import plain_text
from mediamon.core.records import FeedEntry

log = logging.getLogger(__name__)

# What feedparser is told about a body we decoded and encoded again.
AS_UTF8 = {"content-type": "application/xml; charset=utf-8"}


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


def _header_charset(headers: Mapping[str, str]) -> str | None:
    """The charset parameter of the Content-Type header, if any."""
    message = Message()
    message["content-type"] = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    return message.get_content_charset()


def _feed_text(content: bytes, headers: Mapping[str, str], feed_url: str) -> str:
    """A feed body as text by `decode_text`'s rules, where a BOM, valid UTF-8, the XML declaration and the bytes
    can overrule the header's charset; one warning when they did and the header would have read otherwise."""
    label = _header_charset(headers)
    text, codec = decode_text(content, label)
    if label:
        meant = codec_of(label)
        if meant is None or (meant != codec and content.decode(meant, "replace") != text):
            log.warning(
                "feed %s: charset %r of the Content-Type header overridden, decoded as %s", feed_url, label, codec
            )
    return text


def parse_feed(
    content: bytes, *, feed_url: str, source_id: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """Parse a feed body. Entries without a link are dropped; a bozo feed is kept when it still yields entries."""
    text = _feed_text(content, headers or {}, feed_url)
    # A stream, because feedparser opens a bytes or str argument that names a file instead of parsing it.
    parsed = feedparser.parse(io.BytesIO(text.encode("utf-8")), response_headers=AS_UTF8)
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
