"""What we know about each feed between polls: status, validators, body hash and when to poll it next.

Pure functions: reading one fetched feed (`read_feed`), the next polling interval (`next_interval`) and the new state
after a poll (`advance`). Storing states is `search/feed_records.py`'s job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from ingest.feeds import parse_feed
from ingest.fetch import FetchResult
from mediamon.core.feeds import HEALTHY, FeedState, FetchOutcome
from mediamon.core.records import FeedEntry
from mediamon.core.settings import Settings

# How many recent entries the publishing rate is estimated from.
GAP_ENTRIES = 10


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """One poll of one feed: what came back, without the entries."""

    feed_url: str
    source_id: str
    status: FetchOutcome
    fetched_at: datetime
    http_status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    entries: int = 0
    publish_gap_minutes: float | None = None  # mean time between the feed's recent items
    poll_minutes: int | None = None  # the source's fixed interval, if it has one

    def to_json(self) -> dict:
        """A JSON-ready dict."""
        return {**asdict(self), "fetched_at": self.fetched_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> FeedPoll:
        """The inverse of `to_json`."""
        fetched_at = datetime.fromisoformat(data["fetched_at"])
        return cls(**{**data, "status": FetchOutcome(data["status"]), "fetched_at": fetched_at})


def publish_gap_minutes(entries: tuple[FeedEntry, ...], now: datetime) -> float | None:
    """Mean minutes between the newest entries dated before `now` (None with fewer than two)."""
    times = sorted((e.published for e in entries if e.published and e.published <= now), reverse=True)[:GAP_ENTRIES]
    if len(times) < 2:
        return None
    return (times[0] - times[-1]).total_seconds() / 60 / (len(times) - 1)


def read_feed(
    result: FetchResult, source_id: str, previous_hash: str | None = None, poll_minutes: int | None = None
) -> tuple[FeedPoll, tuple[FeedEntry, ...]]:
    """Classify a fetched feed and parse it. A body hashing to `previous_hash` is `unchanged` (entries still parsed)."""
    poll = FeedPoll(
        feed_url=result.requested_url,
        source_id=source_id,
        status=result.status,
        fetched_at=result.fetched_at,
        http_status=result.http_status,
        error=result.error,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        poll_minutes=poll_minutes,
    )
    if result.status is not FetchOutcome.OK:
        return poll, ()
    parsed = parse_feed(result.content, feed_url=result.requested_url, source_id=source_id, headers=result.headers)
    if parsed.problem and not parsed.entries:
        return replace(poll, status=FetchOutcome.PARSE_ERROR, error=parsed.problem), ()
    status = FetchOutcome.UNCHANGED if parsed.body_hash == previous_hash else FetchOutcome.OK
    poll = replace(
        poll,
        status=status,
        body_hash=parsed.body_hash,
        entries=len(parsed.entries),
        publish_gap_minutes=publish_gap_minutes(parsed.entries, result.fetched_at),
    )
    return poll, parsed.entries


@dataclass(frozen=True, slots=True)
class IntervalPolicy:
    """Bounds of the polling interval, in minutes."""

    min_minutes: int
    default_minutes: int
    max_minutes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> IntervalPolicy:
        """The policy in settings (`feed_min_minutes`, `feed_default_minutes`, `feed_max_minutes`)."""
        return cls(settings.feed_min_minutes, settings.feed_default_minutes, settings.feed_max_minutes)


def next_interval(
    current: int | None,
    policy: IntervalPolicy,
    *,
    failures: int = 0,
    new_items: int = 0,
    publish_gap: float | None = None,
    override: int | None = None,
) -> int:
    """Minutes until the next poll.

    A failing feed waits `base * 2**failures` (base: the source's `poll_minutes` or the default), capped at the
    maximum: it backs off but is never dropped. A source with `poll_minutes` is otherwise polled at that fixed
    interval. Any other feed adapts from `current` (None: new or just recovered, start from the default): when
    new items came, the interval becomes the feed's publishing gap (or half the interval if its items are
    undated); when nothing came, it grows by half. The result stays within the policy's bounds.
    """
    base = override or policy.default_minutes
    if failures:
        return min(max(policy.max_minutes, base), base * 2 ** min(failures, 16))
    if override:
        return override
    interval = current or policy.default_minutes
    target = (publish_gap or interval / 2) if new_items else interval * 1.5
    return int(min(policy.max_minutes, max(policy.min_minutes, round(target))))


def advance(previous: FeedState | None, poll: FeedPoll, new_items: int, policy: IntervalPolicy) -> FeedState:
    """The state after `poll`, which brought `new_items` articles indexed for the first time.

    Validators and the body hash are replaced only by a healthy poll: after a failure (or an unparsable body) the
    next conditional GET still asks for what we last read successfully.
    """
    healthy = poll.status in HEALTHY
    failures = 0 if healthy else (previous.consecutive_failures if previous else 0) + 1
    was_healthy = previous is not None and previous.consecutive_failures == 0
    interval = next_interval(
        previous.interval_minutes if was_healthy else None,
        policy,
        failures=failures,
        new_items=new_items,
        publish_gap=poll.publish_gap_minutes,
        override=poll.poll_minutes,
    )
    next_due_at = poll.fetched_at + timedelta(minutes=interval)
    if previous is not None and not healthy and poll.fetched_at < previous.next_due_at:
        next_due_at = min(next_due_at, previous.next_due_at)  # a failure before its time (manual) delays nothing
    state = FeedState(
        feed_url=poll.feed_url,
        source_id=poll.source_id,
        status=poll.status,
        last_fetch_at=poll.fetched_at,
        next_due_at=next_due_at,
        interval_minutes=interval,
        consecutive_failures=failures,
        http_status=poll.http_status,
    )
    if previous is not None:
        state = replace(
            state,
            last_ok_at=previous.last_ok_at,
            last_new_item_at=previous.last_new_item_at,
            items_seen=previous.items_seen,
            last_entries=previous.last_entries,
            etag=previous.etag,
            last_modified=previous.last_modified,
            body_hash=previous.body_hash,
            failing_since=None if healthy else previous.failing_since,
        )
    if not healthy:
        return replace(state, error=poll.error, failing_since=state.failing_since or poll.fetched_at)
    state = replace(state, last_ok_at=poll.fetched_at, items_seen=state.items_seen + new_items)
    if new_items:
        state = replace(state, last_new_item_at=poll.fetched_at)
    if poll.status is FetchOutcome.NOT_MODIFIED:
        return replace(state, etag=poll.etag or state.etag, last_modified=poll.last_modified or state.last_modified)
    return replace(
        state, etag=poll.etag, last_modified=poll.last_modified, body_hash=poll.body_hash, last_entries=poll.entries
    )


def is_due(state: FeedState | None, now: datetime) -> bool:
    """Whether a feed should be polled now (a feed never polled always is)."""
    return state is None or state.next_due_at <= now
