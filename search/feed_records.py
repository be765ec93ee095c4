"""Feed states in Elasticsearch: one document per feed URL, read in bulk before a poll and written after it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk, scan

from mediamon.core.feeds import FeedState, feed_id

MGET_CHUNK = 1000


def load_states(client: Elasticsearch, alias: str, feed_urls: Iterable[str]) -> dict[str, FeedState]:
    """The stored states of these feeds, by URL (feeds never polled are absent)."""
    urls = list(dict.fromkeys(feed_urls))
    states: dict[str, FeedState] = {}
    for start in range(0, len(urls), MGET_CHUNK):
        reply = client.mget(index=alias, ids=[feed_id(url) for url in urls[start : start + MGET_CHUNK]])
        for doc in reply["docs"]:
            if doc.get("found"):
                state = FeedState.from_document(doc["_source"])
                states[state.feed_url] = state
    return states


def save_states(client: Elasticsearch, alias: str, states: Iterable[FeedState]) -> int:
    """Write (replace) the states and refresh, so readers see them at once. Returns how many were written."""
    actions = ({"_index": alias, "_id": s.id, "_source": s.to_document()} for s in states)
    written, _ = bulk(client, actions, refresh=True, max_retries=5, initial_backoff=1)
    return written


def all_states(client: Elasticsearch, alias: str) -> Iterator[FeedState]:
    """Every stored state, in no particular order."""
    for hit in scan(client, index=alias, query={"query": {"match_all": {}}}):
        yield FeedState.from_document(hit["_source"])


def failing_since(client: Elasticsearch, alias: str, before: datetime) -> list[FeedState]:
    """Feeds whose current run of failures began before `before`, longest failing first."""
    reply = client.search(
        index=alias,
        query={"range": {"failing_since": {"lt": before.isoformat()}}},
        sort=[{"failing_since": "asc"}],
        size=10_000,
    )
    return [FeedState.from_document(hit["_source"]) for hit in reply["hits"]["hits"]]
