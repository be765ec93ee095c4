"""What is known of a feed: the outcome of fetching it (one taxonomy for feeds and pages) and its stored state."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum


class FetchOutcome(StrEnum):
    """What became of one fetch of a feed or a page; the status of a feed's last poll."""

    OK = "ok"  # the body is here (a feed: new, and parsed)
    NOT_MODIFIED = "not_modified"  # 304 to a conditional GET
    UNCHANGED = "unchanged"  # a feed answered 200 with the same body as last time
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    TIMEOUT = "timeout"
    DNS = "dns"
    TLS = "tls"
    TOO_LARGE = "too_large"
    PARSE_ERROR = "parse_error"  # a body that reads as no feed (set by feed parsing, never by the fetcher)
    BLOCKED = "blocked"  # an address the SSRF guard refuses
    ROBOTS = "robots"
    BAD_CONTENT = "bad_content"  # binary, empty, or of a type that is no feed or page
    REDIRECT_LOOP = "redirect_loop"
    CONNECT_ERROR = "connect_error"  # refused or reset connection


HEALTHY = frozenset({FetchOutcome.OK, FetchOutcome.NOT_MODIFIED, FetchOutcome.UNCHANGED})


def feed_id(url: str) -> str:
    """The state document id of a feed: a sha256 prefix of its URL as listed."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class FeedState:
    """Everything kept about one feed (the `_source` of its document in the feeds index)."""

    feed_url: str
    source_id: str
    status: FetchOutcome
    last_fetch_at: datetime
    next_due_at: datetime
    interval_minutes: int
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    error: str | None = None
    http_status: int | None = None
    last_ok_at: datetime | None = None
    last_new_item_at: datetime | None = None
    items_seen: int = 0  # articles first indexed from this feed, over its lifetime
    last_entries: int = 0  # entries in the last body read
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None

    @property
    def id(self) -> str:
        """The document id."""
        return feed_id(self.feed_url)

    def to_document(self) -> dict:
        """The document `_source`."""
        doc = asdict(self) | {"status": str(self.status)}
        for key, value in doc.items():
            if isinstance(value, datetime):
                doc[key] = value.isoformat()
        return doc

    @classmethod
    def from_document(cls, source: dict) -> FeedState:
        """The inverse of `to_document`."""
        data = dict(source)
        data["status"] = FetchOutcome(data["status"])
        for key in ("last_fetch_at", "next_due_at", "failing_since", "last_ok_at", "last_new_item_at"):
            if data.get(key):
                data[key] = datetime.fromisoformat(data[key])
        return cls(**data)
