"""Alert bookkeeping in `mediamon-alerts`: what each subscription was sent, its watermark, and run leases.

Three kinds of document, told apart by `kind` (a fourth, `outbox`, is in `mediamon/alerts/outbox.py`):
- `sent`: one per (subscription, article) an email dealt with, id = hash(subscription, article id), so writing
  it twice is harmless and looking it up is one `mget`;
- `state`: one per subscription (id `state:<subscription>`): the watermark and when it last sent and ran;
- `lease`: one per subscription while a run works on it (id `lease:<subscription>`), so that two overlapping
  runs never both send it; the run renews it while it works (`mediamon/alerts/lease.py`), a crashed run's expires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from elasticsearch import ConflictError, Elasticsearch, NotFoundError
from elasticsearch.helpers import bulk

CHUNK = 1000


class ItemOutcome(StrEnum):
    """How an email dealt with an article; each one keeps the article (and its story) out of later emails."""

    SHOWN = "shown"  # the lead of a story in the email
    DUPLICATE = "duplicate"  # a later copy of a story in the email ("also in …")
    OVER_CAP = "over_cap"  # left out by the subscription's cap, counted in the email


@dataclass(frozen=True, slots=True)
class SentItem:
    """One article an email dealt with."""

    article_id: str
    group: str
    outcome: ItemOutcome
    url: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """Where a subscription stands: articles fetched up to `watermark` were considered by a completed run."""

    subscription: str
    watermark: datetime | None = None
    last_sent_at: datetime | None = None
    last_run_at: datetime | None = None  # the last run that completed (it sent, or found nothing to send)


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease: the version it was written with, so only its holder releases it."""

    subscription: str
    owner: str
    seq_no: int
    primary_term: int


def record_id(subscription_id: str, article_id: str) -> str:
    """The id of the sent record of an article for a subscription."""
    return hashlib.sha256(f"{subscription_id}\n{article_id}".encode()).hexdigest()[:32]


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def load_state(client: Elasticsearch, alias: str, subscription_id: str) -> SubscriptionState:
    """The stored state of a subscription (an empty one before its first completed run)."""
    doc = client.options(ignore_status=404).get(index=alias, id=f"state:{subscription_id}")
    if not doc.get("found"):
        return SubscriptionState(subscription_id)
    src = doc["_source"]
    return SubscriptionState(
        subscription_id,
        _time(src.get("watermark")),
        _time(src.get("last_sent_at")),
        _time(src.get("last_run_at")),
    )


def save_state(client: Elasticsearch, alias: str, state: SubscriptionState) -> None:
    """Write a subscription's state (visible to the next search at once)."""
    document = {
        "kind": "state",
        "subscription": state.subscription,
        "watermark": state.watermark.isoformat() if state.watermark else None,
        "last_sent_at": state.last_sent_at.isoformat() if state.last_sent_at else None,
        "last_run_at": state.last_run_at.isoformat() if state.last_run_at else None,
    }
    client.index(index=alias, id=f"state:{state.subscription}", document=document, refresh=True)


def covered(
    client: Elasticsearch, alias: str, subscription_id: str, article_ids: Sequence[str], groups: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Among these articles and groups, those some earlier email of the subscription already dealt with."""
    articles: set[str] = set()
    by_record = {record_id(subscription_id, a): a for a in article_ids}
    ids = list(by_record)
    for start in range(0, len(ids), CHUNK):
        reply = client.mget(index=alias, ids=ids[start : start + CHUNK], source=False)
        articles.update(by_record[doc["_id"]] for doc in reply["docs"] if doc.get("found"))
    seen_groups: set[str] = set()
    wanted = sorted(set(groups))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        reply = client.search(
            index=alias,
            query={
                "bool": {
                    "filter": [
                        {"term": {"kind": "sent"}},
                        {"term": {"subscription": subscription_id}},
                        {"terms": {"dup_group": chunk}},
                    ]
                }
            },
            aggs={"groups": {"terms": {"field": "dup_group", "size": len(chunk)}}},
            size=0,
        )
        seen_groups.update(bucket["key"] for bucket in reply["aggregations"]["groups"]["buckets"])
    return articles, seen_groups


def record_sent(
    client: Elasticsearch,
    alias: str,
    subscription_id: str,
    items: Iterable[SentItem],
    message_id: str,
    sent_at: datetime,
) -> int:
    """Record the articles an email dealt with (idempotent: the ids are deterministic). Returns how many."""
    actions = (
        {
            "_op_type": "index",
            "_index": alias,
            "_id": record_id(subscription_id, item.article_id),
            "_source": {
                "kind": "sent",
                "subscription": subscription_id,
                "article_id": item.article_id,
                "dup_group": item.group,
                "outcome": str(item.outcome),
                "url": item.url,
                "title": item.title[:1000],
                "message_id": message_id,
                "sent_at": sent_at.isoformat(),
            },
        }
        for item in items
    )
    written, _ = bulk(client, actions, refresh=True, max_retries=5, initial_backoff=1)
    return written


def _lease_document(subscription_id: str, owner: str, expires_at: datetime) -> dict:
    return {"kind": "lease", "subscription": subscription_id, "owner": owner, "expires_at": expires_at.isoformat()}


def acquire_lease(
    client: Elasticsearch, alias: str, subscription_id: str, owner: str, now: datetime, ttl: timedelta
) -> Lease | None:
    """Take the subscription's lease, or an expired one; None while another run holds it."""
    doc_id = f"lease:{subscription_id}"
    document = _lease_document(subscription_id, owner, now + ttl)
    try:
        reply = client.create(index=alias, id=doc_id, document=document, refresh=True)
    except ConflictError:
        try:
            held = client.get(index=alias, id=doc_id)
        except NotFoundError:
            return None  # released just now: the other run has finished, the next run takes over
        if _time(held["_source"]["expires_at"]) > now:
            return None
        try:
            reply = client.index(
                index=alias,
                id=doc_id,
                document=document,
                if_seq_no=held["_seq_no"],
                if_primary_term=held["_primary_term"],
                refresh=True,
            )
        except ConflictError:
            return None  # another run took the expired lease first
    return Lease(subscription_id, owner, reply["_seq_no"], reply["_primary_term"])


def renew_lease(client: Elasticsearch, alias: str, lease: Lease, now: datetime, ttl: timedelta) -> Lease | None:
    """Extend a held lease to `now + ttl`; None when it is no longer ours (another run took or wrote it)."""
    try:
        reply = client.index(
            index=alias,
            id=f"lease:{lease.subscription}",
            document=_lease_document(lease.subscription, lease.owner, now + ttl),
            if_seq_no=lease.seq_no,
            if_primary_term=lease.primary_term,
            refresh=True,
        )
    except ConflictError:
        return None
    return Lease(lease.subscription, lease.owner, reply["_seq_no"], reply["_primary_term"])


def release_lease(client: Elasticsearch, alias: str, lease: Lease) -> None:
    """Give the lease back (no-op when it expired and another run took it)."""
    client.options(ignore_status=(404, 409)).delete(
        index=alias,
        id=f"lease:{lease.subscription}",
        if_seq_no=lease.seq_no,
        if_primary_term=lease.primary_term,
        refresh=True,
    )
