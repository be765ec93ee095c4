"""An indexed article's seed fields (`seed_similarity`, `seed_reasons`, `matched_seeds`), read and rewritten in place.

Elasticsearch merges a partial update into the stored `_source` key by key, recursively for objects: writing a
whole `seed_similarity` object adds and overwrites keys but never removes one (whatever the mapping: a
`subobjects: false` object or a `flattened` field alike). So an article that must lose a key (a seed removed from
the seeds folder; a teaser, which has no scores) is updated twice: first both objects are set to null and
`matched_seeds` is written, then the new objects are written (a null is replaced whole). Between the two a search
may, for an instant, see the article without scores; `matched_seeds`, which filters and alerts use, is never
missing. An article that only gains or changes keys gets one update.

Every update is conditional on the article's sequence number as read (the second on the one the first returned):
an article written meanwhile (a page fetched again and re-enriched) is a conflict, left to the caller to read
again, never overwritten with scores of its old text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

SEED_OBJECTS = ("seed_similarity", "seed_reasons")
# What rescoring reads of an article: everything but the stored page, with its vector and sequence number.
READ = {"source_excludes": ["raw_html"], "source_exclude_vectors": False, "seq_no_primary_term": True}


@dataclass(frozen=True, slots=True)
class SeedFields:
    """The seed fields of one article."""

    similarity: dict[str, float]
    reasons: dict[str, dict]
    matched: list[str]

    @classmethod
    def of(cls, source: dict) -> SeedFields:
        """The seed fields of a stored `_source` (missing ones empty)."""
        return cls(
            similarity=dict(source.get("seed_similarity") or {}),
            reasons=dict(source.get("seed_reasons") or {}),
            matched=list(source.get("matched_seeds") or []),
        )

    def document(self) -> dict:
        """The partial document that sets them."""
        return {"seed_similarity": self.similarity, "seed_reasons": self.reasons, "matched_seeds": self.matched}


def merged(stored: object, change: object) -> object:
    """What Elasticsearch makes of `stored` updated with `change`: mappings merged key by key, recursively;
    anything else (a list, a number, null) replaced."""
    if isinstance(stored, dict) and isinstance(change, dict):
        result = dict(stored)
        for key, value in change.items():
            result[key] = merged(stored[key], value) if key in stored else value
        return result
    return change


@dataclass(frozen=True, slots=True)
class SeedUpdate:
    """New seed fields for one article, with the version they were computed from."""

    index: str
    id: str
    seq_no: int
    primary_term: int
    old: SeedFields
    new: SeedFields

    @property
    def clears(self) -> bool:
        """Whether one merge would leave something the new fields lack (the key of a seed gone)."""
        old, new = self.old.document(), self.new.document()
        return any(merged(old[name], new[name]) != new[name] for name in SEED_OBJECTS)


@dataclass(slots=True)
class SeedWrite:
    """What writing seed fields did: articles updated, articles written by someone else meanwhile, failures."""

    updated: set[str] = field(default_factory=set)
    conflicts: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


def rescore_query(since: str | None = None) -> dict:
    """Every article, or those published or fetched on or after `since` (a date, or date math like now-7d)."""
    if since is None:
        return {"match_all": {}}
    recent = [{"range": {name: {"gte": since}}} for name in ("published_at", "fetched_at")]
    return {"bool": {"should": recent, "minimum_should_match": 1}}


def read_again(client: Elasticsearch, index: str, ids: Iterable[str]) -> list[dict]:
    """The current hits (as `READ` reads them) of these articles; those deleted meanwhile are left out."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    reply = client.search(index=index, query={"ids": {"values": wanted}}, size=len(wanted), **READ)
    return list(reply["hits"]["hits"])


def seeds_in_index(client: Elasticsearch, index: str) -> set[str]:
    """The seed ids any article of `index` was ever scored for (the keys `seed_similarity` has in the mapping)."""
    ids: set[str] = set()
    for body in client.indices.get_mapping(index=index).values():
        scores = body["mappings"].get("properties", {}).get("seed_similarity", {})
        ids.update(scores.get("properties", {}))
    return ids


def write_seed_fields(client: Elasticsearch, updates: list[SeedUpdate]) -> SeedWrite:
    """Write each article's new seed fields in place with bulk `update`s (twice for one that loses a key; see the
    module docstring), each conditional on the version read. Does not refresh."""
    result = SeedWrite()
    versions = {u.id: (u.seq_no, u.primary_term) for u in updates}
    clearing = [u for u in updates if u.clears]
    if clearing:
        nulls = {"seed_similarity": None, "seed_reasons": None}
        first = ((u, {**nulls, "matched_seeds": u.new.matched}, versions[u.id]) for u in clearing)
        versions.update(_bulk_update(client, first, result))
        updates = [u for u in updates if u.id not in result.conflicts and u.id not in result.failed]
    done = _bulk_update(client, ((u, u.new.document(), versions[u.id]) for u in updates), result)
    result.updated.update(done)
    return result


def _bulk_update(
    client: Elasticsearch, items: Iterable[tuple[SeedUpdate, dict, tuple[int, int]]], result: SeedWrite
) -> dict[str, tuple[int, int]]:
    """Run conditional partial updates; returns the new (seq_no, primary_term) of each article written, and records
    conflicts and failures in `result`."""
    actions = (
        {
            "_op_type": "update",
            "_index": update.index,
            "_id": update.id,
            "if_seq_no": seq_no,
            "if_primary_term": primary_term,
            "doc": doc,
        }
        for update, doc, (seq_no, primary_term) in items
    )
    written: dict[str, tuple[int, int]] = {}
    for ok, item in streaming_bulk(
        client, actions, raise_on_error=False, raise_on_exception=True, max_retries=5, initial_backoff=1
    ):
        reply = item["update"]
        if ok:
            written[reply["_id"]] = (reply["_seq_no"], reply["_primary_term"])
        elif reply.get("status") == 409:
            result.conflicts.add(reply["_id"])
        elif reply.get("status") == 404:
            pass  # deleted meanwhile (retention): nothing left to score
        else:
            error = reply.get("error", {})
            result.failed[reply["_id"]] = f"{error.get('type', 'error')}: {error.get('reason', reply)}"
    return written
