"""Writing articles: idempotent bulk `create` (a rerun adds nothing) and the lookup that skips known ids."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

LOG = logging.getLogger(__name__)


@dataclass(slots=True)
class IndexReport:
    """What one bulk run did: new documents, duplicates (already there) and per-document failures."""

    created: int = 0
    duplicates: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def existing_ids(client: Elasticsearch, index: str, ids: Iterable[str]) -> set[str]:
    """The ids among `ids` already in `index` (one request per call)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    reply = client.mget(index=index, ids=wanted, source=False)
    return {doc["_id"] for doc in reply["docs"] if doc.get("found")}


def recent_title_keys(client: Elasticsearch, index: str, keys: Iterable[str], days: int) -> set[str]:
    """The title keys among `keys` of articles fetched in the last `days` days (one request per call)."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    recent = [{"terms": {"title_key": wanted}}, {"range": {"fetched_at": {"gte": f"now-{days}d"}}}]
    reply = client.search(
        index=index,
        size=0,
        query={"bool": {"filter": recent}},
        aggregations={"keys": {"terms": {"field": "title_key", "size": len(wanted)}}},
    )
    return {bucket["key"] for bucket in reply["aggregations"]["keys"]["buckets"]}


def bulk_create(
    client: Elasticsearch, index: str, documents: Iterable[tuple[str, dict]], chunk_size: int = 200
) -> IndexReport:
    """Index `(id, source)` pairs with `op_type=create`; conflicts count as duplicates, other errors per id."""
    actions = ({"_op_type": "create", "_index": index, "_id": doc_id, "_source": src} for doc_id, src in documents)
    report = IndexReport()
    for ok, item in streaming_bulk(
        client,
        actions,
        chunk_size=chunk_size,
        raise_on_error=False,
        raise_on_exception=True,
        max_retries=5,
        initial_backoff=1,
    ):
        result = item["create"]
        if ok:
            report.created += 1
        elif result.get("status") == 409:
            report.duplicates += 1
        else:
            error = result.get("error", {})
            reason = f"{error.get('type', 'error')}: {error.get('reason', result)}"
            report.failed[result["_id"]] = reason
            LOG.warning("skipped article %s because %s", result["_id"], reason)
    return report
