"""Blind spots for the footer of an alert email: feeds whose last poll failed (from the feed state index), and
listed feeds never polled yet, among the sources that could have carried what the subscription follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from elasticsearch import Elasticsearch

from ingest.sources import Source
from mediamon.alerts.subscriptions import Subscription
from mediamon.core.feeds import HEALTHY, FeedState, feed_id

MAX_FEEDS = 1000
NEVER_POLLED = "not polled yet"


@dataclass(frozen=True, slots=True)
class BlindSpot:
    """A feed that could not be fetched (since when, how often, and why), or that was never polled."""

    source_id: str
    source_name: str
    feed_url: str
    status: str
    failing_since: datetime | None
    failures: int
    error: str | None
    http_status: int | None
    last_ok_at: datetime | None

    @classmethod
    def from_state(cls, state: FeedState, source_name: str) -> BlindSpot:
        """The blind spot of a failing feed's state."""
        return cls(
            source_id=state.source_id,
            source_name=source_name,
            feed_url=state.feed_url,
            status=str(state.status),
            failing_since=state.failing_since,
            failures=state.consecutive_failures,
            error=state.error,
            http_status=state.http_status,
            last_ok_at=state.last_ok_at,
        )


def _never_polled(client: Elasticsearch, alias: str, sources: Sequence[Source]) -> list[BlindSpot]:
    """The listed feeds of `sources` that have no state yet: no poll has read them."""
    listed = [(source, str(url)) for source in sources for url in source.feeds]
    if not listed:
        return []
    found = client.mget(index=alias, ids=[feed_id(url) for _, url in listed], source=False)["docs"]
    return [_unpolled(source, url) for (source, url), doc in zip(listed, found, strict=True) if not doc.get("found")]


def _unpolled(source: Source, url: str) -> BlindSpot:
    return BlindSpot(source.id, source.name, url, NEVER_POLLED, None, 0, None, None, None)


def could_carry(source: Source, subscription: Subscription) -> bool:
    """Whether articles of this source can match the subscription's outlets, affiliations and languages."""
    follows = subscription.follows
    if follows.outlets and source.id not in follows.outlets:
        return False
    if follows.affiliations and source.affiliation not in follows.affiliations:
        return False
    return not (follows.languages and source.language and source.language not in follows.languages)


def blind_spots(
    client: Elasticsearch, alias: str, subscription: Subscription, sources: Sequence[Source]
) -> list[BlindSpot]:
    """Failing feeds of the listed sources that could carry the subscription's articles, longest failing first,
    then those of their feeds never polled. With no sources (the feeds file could not be read), every failing feed
    its outlets let through.
    """
    carrying = [source for source in sources if could_carry(source, subscription)]
    if not client.indices.exists_alias(name=alias):  # no feed polled yet, anywhere
        return [_unpolled(source, str(url)) for source in carrying for url in source.feeds]
    reply = client.search(
        index=alias,
        query={"bool": {"must_not": {"terms": {"status": sorted(str(s) for s in HEALTHY)}}}},
        sort=[{"failing_since": {"order": "asc", "missing": "_last"}}, {"feed_url": "asc"}],
        size=MAX_FEEDS,
    )
    states = [FeedState.from_document(hit["_source"]) for hit in reply["hits"]["hits"]]
    if sources:
        names = {source.id: source.name for source in carrying}
    else:
        outlets = subscription.follows.outlets
        names = {s.source_id: s.source_id for s in states if not outlets or s.source_id in outlets}
    failing = [BlindSpot.from_state(state, names[state.source_id]) for state in states if state.source_id in names]
    return failing + _never_polled(client, alias, carrying)
