"""Outlets a subscription names that nothing has: a misspelt source id silently matches no article.

An outlet is known when a source of the feed list has it as its id, or when an indexed article has it as its
`source_id` (imported archives bring outlets no feed has). An unknown one is a warning, never an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from elasticsearch import Elasticsearch

from ingest.sources import Source
from mediamon.alerts.subscriptions import Subscription
from mediamon.core.settings import Settings
from search.client import check_health
from search.index_versions import articles_alias
from search.query import IndexMissing, run_search

MAX_INDEXED = 10_000  # distinct source ids read from the index; more than any deployment's outlets


@dataclass(frozen=True, slots=True)
class UnknownOutlet:
    """An outlet of a subscription that no feed and no indexed article has, and the known name closest to it."""

    subscription: str
    outlet: str
    closest: str | None = None

    def __str__(self) -> str:
        hint = f" (did you mean {self.closest!r}?)" if self.closest else ""
        return (
            f"subscription {self.subscription}: no feed and no indexed article has the outlet {self.outlet!r}, "
            f"so it matches nothing{hint}"
        )


def unknown_outlets(subscriptions: Iterable[Subscription], known: Collection[str]) -> list[UnknownOutlet]:
    """The outlets the subscriptions follow that are not `known`, each with the closest known name, if one is close."""
    names = sorted(known)
    return [
        UnknownOutlet(s.id, outlet, next(iter(difflib.get_close_matches(outlet, names, n=1)), None))
        for s in subscriptions
        for outlet in dict.fromkeys(s.follows.outlets)
        if outlet not in known
    ]


def indexed_outlets(client: Elasticsearch, index: str) -> frozenset[str]:
    """The source ids of the articles in `index` (a terms aggregation); none while there is no such index."""
    aggregation = {"outlets": {"terms": {"field": "source_id", "size": MAX_INDEXED}}}
    try:
        reply = run_search(client, index=index, size=0, track_total_hits=False, aggregations=aggregation)
    except IndexMissing:
        return frozenset()
    return frozenset(bucket["key"] for bucket in reply["aggregations"]["outlets"]["buckets"])


def check_outlets(
    client: Elasticsearch, settings: Settings, subscriptions: Iterable[Subscription], sources: Iterable[Source]
) -> list[UnknownOutlet]:
    """The outlets of the subscriptions that no source of the feed list and no indexed article has. Elasticsearch
    is asked only when the feed list lacks one (EsUnavailable when it is down)."""
    chosen, in_feeds = list(subscriptions), frozenset(source.id for source in sources)
    if not unknown_outlets(chosen, in_feeds):
        return []
    check_health(client, settings.es_url)
    return unknown_outlets(chosen, in_feeds | indexed_outlets(client, articles_alias(settings)))
