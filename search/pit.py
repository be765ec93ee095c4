"""Reading every document a query matches, without a cap: a point in time and `search_after`, page by page.

A point in time (PIT) fixes the view of the index for the whole read, so documents written, updated or deleted
meanwhile neither shift nor repeat the pages; `search_after` carries on from the last hit's sort values (the sort
ends with `_shard_doc`, the PIT's own tiebreaker, so no two hits share them). The PIT is closed at the end, also
when the read stops early or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError

from search.query import refused

LOG = logging.getLogger(__name__)

PAGE_SIZE = 1000
KEEP_ALIVE = "2m"  # renewed by every page: the longest a reader may take over one page
TIEBREAKER = {"_shard_doc": "asc"}


@dataclass(frozen=True, slots=True)
class Page:
    """One page of hits (each with `_index`, `_id`, `_source`, `sort`), and the point in time it was read from."""

    hits: list[dict]
    pit_id: str


def pit_pages(
    client: Elasticsearch,
    index: str,
    query: dict,
    sort: list[dict] | None = None,
    page_size: int = PAGE_SIZE,
    keep_alive: str = KEEP_ALIVE,
    **request: object,
) -> Iterator[Page]:
    """Every hit of `query` on `index` (an alias or index), `page_size` at a time, in `sort` order (then the
    tiebreaker). `request` adds search parameters (`source`, `source_exclude_vectors`, `seq_no_primary_term`, …).

    Raises SearchError when Elasticsearch refuses the query (IndexMissing when there is no index). Close the
    generator (or run it to the end) to close the point in time: `with contextlib.closing(pit_pages(...)) as pages:`.
    """
    sort = [*(sort or []), TIEBREAKER]
    try:
        pit_id = client.open_point_in_time(index=index, keep_alive=keep_alive)["id"]
    except (BadRequestError, NotFoundError) as exc:
        raise refused(exc, index) from None
    try:
        after: list | None = None
        while True:
            try:
                reply = client.search(
                    pit={"id": pit_id, "keep_alive": keep_alive},
                    query=query,
                    sort=sort,
                    size=page_size,
                    search_after=after,
                    track_total_hits=False,
                    **request,
                )
            except (BadRequestError, NotFoundError) as exc:
                raise refused(exc, index) from None
            pit_id = reply.get("pit_id", pit_id)  # the id may change from one page to the next
            hits = reply["hits"]["hits"]
            if hits:
                yield Page(hits, pit_id)
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        close_pit(client, pit_id)


def close_pit(client: Elasticsearch, pit_id: str) -> None:
    """Close a point in time; a failure is logged, never raised (it expires by itself after its keep-alive)."""
    try:
        client.close_point_in_time(id=pit_id)
    except (ApiError, TransportError) as exc:
        LOG.warning("point in time not closed (it expires by itself): %s", str(exc).splitlines()[0])
