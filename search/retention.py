"""Deleting documents by query with search + bulk delete (the core-only test distribution has no `_delete_by_query`)."""

from __future__ import annotations

import logging

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

LOG = logging.getLogger(__name__)


def delete_matching(client: Elasticsearch, index: str, query: dict, page: int = 1000) -> int:
    """Delete every document of `index` (an alias or pattern) matching `query`; returns how many were deleted."""
    deleted = 0
    while True:
        hits = client.search(index=index, query=query, size=page, source=False, sort=["_doc"])["hits"]["hits"]
        if not hits:
            return deleted
        actions = ({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]} for hit in hits)
        done, errors = bulk(client, actions, raise_on_error=False, refresh=True)
        deleted += done
        if errors:  # the same documents would come back on the next page: stop rather than loop
            LOG.warning("stopped deleting from %s after %d deletions: %s", index, deleted, errors[:3])
            return deleted
