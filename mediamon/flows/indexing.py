"""Writing enriched articles: near-duplicate groups against the index, idempotent bulk `create`, then a refresh
so that the next batch's lookup sees this one. Ingest runs, backfills and the spool all write through here."""

from __future__ import annotations

from dataclasses import replace

from elasticsearch import Elasticsearch

from enrich.near_dup import assign_groups
from mediamon.core.records import Article, Enrichment
from mediamon.core.urls import article_id
from search.documents import article_document
from search.dup_groups import candidates, stored_groups
from search.write import IndexReport, bulk_create


def group_near_duplicates(
    client: Elasticsearch, index: str, rows: list[tuple[Article, Enrichment]]
) -> list[tuple[Article, Enrichment]]:
    """The rows with their `dup_group` set: one candidate lookup for the batch, then oldest article first (so the
    groups come out the same on every run), each joins the closest copy within the threshold or starts a group.

    A copy that names its original on another site (`syndicated_from`) joins the original's group, whatever its
    text: the original's stored group, or the group it starts (named by its id) when it comes later.
    """
    ordered = sorted(rows, key=lambda row: ((row[0].published_at or row[0].fetched_at).isoformat(), row[0].id))
    keys = [key for _, e in ordered for key in e.simhash_bands]
    groups = assign_groups([(a.id, e.simhash) for a, e in ordered], candidates(client, index, keys))
    originals = {a.id: article_id(a.syndicated_from) for a, _ in rows if a.syndicated_from}
    stored = stored_groups(client, index, originals.values())
    for copy, original in originals.items():
        groups[copy] = stored.get(original) or groups.get(original) or original
    return [(a, replace(e, dup_group=groups[a.id])) for a, e in rows]


def index_enriched(client: Elasticsearch, index: str, rows: list[tuple[Article, Enrichment]]) -> IndexReport:
    """Group, create and refresh one batch; an article already there counts as a duplicate."""
    grouped = group_near_duplicates(client, index, rows)
    report = bulk_create(client, index, ((a.id, article_document(a, e)) for a, e in grouped))
    client.indices.refresh(index=index)  # the next batch's near-duplicate lookup sees this one
    return report
