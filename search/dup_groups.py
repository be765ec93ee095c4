"""Candidates for near-duplicate grouping: indexed articles that share a SimHash lookup key (`simhash_bands`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from elasticsearch import Elasticsearch

from enrich.near_dup import assign_groups, band_keys
from mediamon.core.records import Article, Enrichment

LOG = logging.getLogger(__name__)


def candidates(
    client: Elasticsearch, index: str, band_keys: Iterable[str], size: int = 10_000
) -> list[tuple[str, int, str | None]]:
    """`(id, simhash, dup_group)` of the indexed articles sharing any of `band_keys`, in one `terms` query.

    Pass the keys of a whole batch. A reply of `size` hits may be cut short (the log says so).
    """
    keys = sorted(set(band_keys))
    if not keys:
        return []
    reply = client.search(
        index=index,
        size=size,
        query={"bool": {"filter": {"terms": {"simhash_bands": keys}}}},
        source=["simhash", "dup_group"],
        track_total_hits=False,
    )
    hits = reply["hits"]["hits"]
    if len(hits) >= size:
        LOG.warning("near-duplicate lookup hit its cap of %d candidates; some copies may start a new group", size)
    return [(hit["_id"], int(hit["_source"]["simhash"], 16), hit["_source"].get("dup_group")) for hit in hits]


def group_near_duplicates(
    client: Elasticsearch, index: str, rows: list[tuple[Article, Enrichment]]
) -> list[tuple[Article, Enrichment]]:
    """The rows with their `dup_group` set: one candidate lookup for the batch, then oldest article first (so the
    groups come out the same on every run), each joins the closest copy within the threshold or starts a group."""
    ordered = sorted(rows, key=lambda row: ((row[0].published_at or row[0].fetched_at).isoformat(), row[0].id))
    keys = [key for _, e in ordered if e.simhash is not None for key in band_keys(e.simhash)]
    groups = assign_groups([(a.id, e.simhash) for a, e in ordered], candidates(client, index, keys))
    return [(a, replace(e, dup_group=groups[a.id])) for a, e in rows]
