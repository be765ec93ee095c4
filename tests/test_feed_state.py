"""Feed state logic without I/O: the status taxonomy, reading a fetched feed, intervals, backoff and batching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.feed_state import FeedPoll, IntervalPolicy, advance, is_due, next_interval, read_feed
from ingest.fetch import FetchResult
from mediamon.core.feeds import FeedState, FetchOutcome
from mediamon.flows.feed_polling import batch_feeds

POLICY = IntervalPolicy(min_minutes=10, default_minutes=30, max_minutes=360)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://news.example.org/rss"
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News</title><link>https://news.example.org/</link>
<item><title>One</title><link>https://news.example.org/1</link><pubDate>Sun, 01 Mar 2026 11:00:00 GMT</pubDate></item>
<item><title>Two</title><link>https://news.example.org/2</link><pubDate>Sun, 01 Mar 2026 10:00:00 GMT</pubDate></item>
<item><title>Three</title><link>https://news.example.org/3</link><pubDate>Sun, 01 Mar 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""


def fetched(status: FetchOutcome = FetchOutcome.OK, content: bytes = RSS, **headers: str) -> FetchResult:
    ok = status is FetchOutcome.OK
    http = {FetchOutcome.OK: 200, FetchOutcome.NOT_MODIFIED: 304, FetchOutcome.HTTP_4XX: 404}.get(status)
    return FetchResult(
        URL,
        URL,
        status,
        http,
        NOW,
        0.1,
        headers=headers,
        content=content if ok else b"",
        text=content.decode() if ok else None,
        error=None if ok else f"{status} happened",
    )


@pytest.mark.parametrize(
    "outcome",
    [o for o in FetchOutcome if o not in (FetchOutcome.OK, FetchOutcome.UNCHANGED, FetchOutcome.PARSE_ERROR)],
)
def test_a_fetch_outcome_is_the_polls_status(outcome):
    poll, entries = read_feed(fetched(outcome), "news")
    assert poll.status is outcome and entries == ()


def test_a_new_body_is_ok_with_its_entries_validators_and_publishing_gap():
    poll, entries = read_feed(fetched(etag='"v1"', **{"last-modified": "Sun, 01 Mar 2026 11:00:00 GMT"}), "news")
    assert poll.status is FetchOutcome.OK
    assert [e.url for e in entries] == [f"https://news.example.org/{n}" for n in (1, 2, 3)]
    assert poll.entries == 3 and poll.etag == '"v1"' and poll.last_modified.startswith("Sun")
    assert poll.publish_gap_minutes == pytest.approx(60.0)
    assert len(poll.body_hash) == 64


def test_an_entry_dated_in_the_future_keeps_its_date_but_is_left_out_of_the_publishing_gap():
    item = b"<item><title>Four</title><link>https://news.example.org/4</link><pubDate>Mon, 01 Jan 2035 00:00:00 GMT"
    poll, entries = read_feed(fetched(content=RSS.replace(b"</channel>", item + b"</pubDate></item></channel>")), "x")
    assert entries[-1].published == datetime(2035, 1, 1, tzinfo=UTC)  # ingest.dates decides whether to believe it
    assert poll.publish_gap_minutes == pytest.approx(60.0)


def test_the_same_body_again_is_unchanged():
    first, _ = read_feed(fetched(), "news")
    again, entries = read_feed(fetched(), "news", previous_hash=first.body_hash)
    assert again.status is FetchOutcome.UNCHANGED and len(entries) == 3
    edited, _ = read_feed(fetched(content=RSS.replace(b"One", b"Uno")), "news", previous_hash=first.body_hash)
    assert edited.status is FetchOutcome.OK


def test_a_body_that_is_no_feed_is_a_parse_error_and_failures_keep_their_message():
    poll, entries = read_feed(fetched(content=b"<html><body>Moved to our new site</body></html>"), "news")
    assert poll.status is FetchOutcome.PARSE_ERROR and entries == () and poll.error
    broken, _ = read_feed(fetched(content=b"<rss version='2.0'><channel><title>x</ti"), "news")
    assert broken.status is FetchOutcome.PARSE_ERROR
    missing, _ = read_feed(fetched(FetchOutcome.HTTP_4XX), "news")
    assert missing.status is FetchOutcome.HTTP_4XX and missing.http_status == 404 and "http_4xx" in missing.error
    assert read_feed(fetched(FetchOutcome.NOT_MODIFIED), "news")[0].status is FetchOutcome.NOT_MODIFIED


def test_new_items_set_the_interval_to_the_publishing_gap_within_bounds():
    assert next_interval(120, POLICY, new_items=3, publish_gap=45.0) == 45
    assert next_interval(120, POLICY, new_items=3, publish_gap=2.0) == 10
    assert next_interval(120, POLICY, new_items=3, publish_gap=9000.0) == 360
    assert next_interval(120, POLICY, new_items=1) == 60  # undated items: halve


def test_quiet_feeds_slow_down_up_to_the_maximum():
    intervals = [30]
    for _ in range(8):
        intervals.append(next_interval(intervals[-1], POLICY))
    assert intervals[:4] == [30, 45, 68, 102]
    assert intervals[-1] == 360 and max(intervals) == 360
    assert next_interval(None, POLICY) == 45  # new or recovered: from the default


def test_failing_feeds_back_off_exponentially_to_the_maximum_but_stay_scheduled():
    delays = [next_interval(10, POLICY, failures=n) for n in range(1, 8)]
    assert delays == [60, 120, 240, 360, 360, 360, 360]
    assert next_interval(10, POLICY, failures=500) == 360


def test_a_source_override_fixes_the_interval_and_is_the_base_of_its_backoff():
    assert next_interval(30, POLICY, new_items=5, publish_gap=12.0, override=5) == 5
    assert next_interval(30, POLICY, override=5) == 5
    assert [next_interval(30, POLICY, failures=n, override=5) for n in (1, 2)] == [10, 20]
    assert next_interval(30, POLICY, failures=9, override=600) == 600  # an override above the maximum caps itself


def poll(status: FetchOutcome, at: datetime = NOW, **fields) -> FeedPoll:
    return FeedPoll(feed_url=URL, source_id="news", status=status, fetched_at=at, **fields)


def test_a_first_poll_makes_a_state_due_after_its_interval():
    state = advance(
        None, poll(FetchOutcome.OK, etag="e1", body_hash="h1", entries=3, publish_gap_minutes=20.0), 3, POLICY
    )
    assert state.status is FetchOutcome.OK and state.interval_minutes == 20
    assert state.next_due_at == NOW + timedelta(minutes=20)
    assert state.items_seen == 3 and state.last_new_item_at == NOW and state.last_ok_at == NOW
    assert (state.etag, state.body_hash, state.last_entries, state.consecutive_failures) == ("e1", "h1", 3, 0)
    assert not is_due(state, NOW + timedelta(minutes=19)) and is_due(state, NOW + timedelta(minutes=20))
    assert is_due(None, NOW)


def test_failures_count_up_keep_the_validators_and_recovery_starts_from_the_default():
    healthy = advance(None, poll(FetchOutcome.OK, etag="e1", body_hash="h1", entries=3), 3, POLICY)
    first = advance(healthy, poll(FetchOutcome.HTTP_5XX, NOW + timedelta(hours=1), error="HTTP 503"), 0, POLICY)
    second = advance(first, poll(FetchOutcome.TIMEOUT, NOW + timedelta(hours=2), error="timed out"), 0, POLICY)
    assert (first.consecutive_failures, second.consecutive_failures) == (1, 2)
    assert first.failing_since == second.failing_since == NOW + timedelta(hours=1)
    assert second.error == "timed out" and second.interval_minutes == 120
    assert (second.etag, second.body_hash, second.last_ok_at) == ("e1", "h1", NOW)
    back = advance(second, poll(FetchOutcome.NOT_MODIFIED, NOW + timedelta(hours=4)), 0, POLICY)
    assert back.consecutive_failures == 0 and back.failing_since is None and back.error is None
    assert back.interval_minutes == 45 and back.etag == "e1" and back.body_hash == "h1"
    assert back.items_seen == 3 and back.last_new_item_at == NOW


def test_failures_before_the_feed_is_due_never_put_its_next_poll_off():
    healthy = advance(None, poll(FetchOutcome.OK, entries=3, publish_gap_minutes=60.0), 3, POLICY)
    assert healthy.next_due_at == NOW + timedelta(minutes=60)
    state = healthy
    for minutes in (5, 10, 15, 20):  # manual runs minutes apart, the feed down
        state = advance(state, poll(FetchOutcome.HTTP_5XX, NOW + timedelta(minutes=minutes)), 0, POLICY)
    assert state.consecutive_failures == 4 and state.interval_minutes == 360  # the backoff still grows
    assert state.next_due_at == NOW + timedelta(minutes=60)  # but the schedule still polls it when it was due
    due = advance(state, poll(FetchOutcome.HTTP_5XX, NOW + timedelta(minutes=60)), 0, POLICY)
    assert due.next_due_at == NOW + timedelta(minutes=60 + 360)  # a failure when due backs off as before


def test_an_unparsable_body_does_not_replace_the_last_good_hash():
    healthy = advance(None, poll(FetchOutcome.OK, etag="e1", body_hash="h1"), 0, POLICY)
    broken = advance(healthy, poll(FetchOutcome.PARSE_ERROR, error="not a feed"), 0, POLICY)
    assert broken.body_hash == "h1" and broken.etag == "e1" and broken.consecutive_failures == 1


def test_state_documents_round_trip():
    state = advance(None, poll(FetchOutcome.OK, etag="e1", body_hash="h1"), 2, POLICY)
    assert FeedState.from_document(state.to_document()) == state
    assert FeedPoll.from_json(poll(FetchOutcome.TLS, error="bad cert").to_json()) == poll(
        FetchOutcome.TLS, error="bad cert"
    )


def test_batches_keep_a_hosts_feeds_together():
    urls = [f"https://a.example/{n}" for n in range(3)] + ["https://b.example/1"]
    urls += [f"https://c.example/{n}" for n in range(5)] + ["https://d.example/1", "https://a.example/late"]
    batches = batch_feeds(urls, size=4)
    assert [b["part"] for b in batches] == [0, 1, 2, 3]
    assert (
        [b["feeds"] for b in batches]
        == [
            [*urls[:3], urls[-1]],  # a.example's four feeds fill the first batch
            ["https://b.example/1"],
            urls[4:9],  # c.example's five feeds stay together although there are more than `size`
            ["https://d.example/1"],
        ]
    )


def test_batches_cover_2000_feeds_in_bounded_batches():
    urls = [f"https://outlet{n % 400}.example/feed/{n}" for n in range(2000)]
    batches = batch_feeds(urls, size=50)
    assert sorted(u for b in batches for u in b["feeds"]) == sorted(urls)
    assert len(batches) == 40 and max(len(b["feeds"]) for b in batches) == 50
