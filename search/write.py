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
    conflicts: set[str] = field(default_factory=set)  # the ids that were there already
    failed: dict[str, str] = field(default_factory=dict)


def existing_ids(client: Elasticsearch, index: str, ids: Iterable[str]) -> set[str]:
    """The ids among `ids` already in `index` (one request per call)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    reply = client.mget(index=index, ids=wanted, source=False)
    return {doc["_id"] for doc in reply["docs"] if doc.get("found")}


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
            report.conflicts.add(result["_id"])
        else:
            error = result.get("error", {})
            reason = f"{error.get('type', 'error')}: {error.get('reason', result)}"
            report.failed[result["_id"]] = reason
            LOG.warning("skipped article %s because %s", result["_id"], reason)
    return report


def written_by(client: Elasticsearch, index: str, ids: Iterable[str]) -> dict[str, str | None]:
    """The `ingest_run` of each of these stored articles (None for an article written otherwise)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    reply = client.mget(index=index, ids=wanted, source=["ingest_run"])
    return {doc["_id"]: doc["_source"].get("ingest_run") for doc in reply["docs"] if doc.get("found")}


def bulk_write(client: Elasticsearch, actions: Iterable[dict]) -> dict[str, str]:
    """Run bulk actions (index, update, delete) and refresh; returns the ids that failed, with why."""
    failed: dict[str, str] = {}
    for ok, item in streaming_bulk(
        client, actions, raise_on_error=False, raise_on_exception=True, max_retries=5, initial_backoff=1
    ):
        if not ok:
            result = next(iter(item.values()))
            failed[result["_id"]] = str(result.get("error", result))
    return failed
