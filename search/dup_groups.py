"""Candidates for near-duplicate grouping: indexed articles that share a SimHash lookup key (`simhash_bands`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from elasticsearch import Elasticsearch

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


def stored_groups(client: Elasticsearch, index: str, ids: Iterable[str]) -> dict[str, str]:
    """The `dup_group` of each of these articles that is indexed (its own id when it has none)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    reply = client.mget(index=index, ids=wanted, source=["dup_group"])
    return {doc["_id"]: doc["_source"].get("dup_group") or doc["_id"] for doc in reply["docs"] if doc.get("found")}
