"""The outbox in `mediamon-alerts`: an email between the intent to send it and the record that it went.

One document per email (kind `outbox`, id `outbox:<email key>`) holds the message as sent (so a later send is the
same email, with the same Message-ID), the recipients it is for and the articles it deals with, to record as
sent once it went. Its status:
- `sending`: a run is sending it to those recipients, or stopped before it recorded the outcome;
- `owed`: the server refused those recipients at RCPT and the others got it: a later run sends it to them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from enum import StrEnum

from elasticsearch import Elasticsearch

from mediamon.alerts.records import CHUNK, ItemOutcome, SentItem


class OutboxStatus(StrEnum):
    """Where an email in the outbox stands."""

    SENDING = "sending"  # being sent, or its run stopped before recording the outcome
    OWED = "owed"  # to be sent to its recipients, whom the server refused


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One email in the outbox."""

    key: str  # the email's key (subscription and articles), as in its Message-ID
    subscription: str
    message_id: str
    status: OutboxStatus
    recipients: tuple[str, ...]
    items: tuple[SentItem, ...]
    message: bytes  # the message as sent
    created_at: datetime

    def email(self) -> EmailMessage:
        """The stored message, parsed."""
        return message_from_bytes(self.message, policy=policy.default)


def _item(item: SentItem) -> dict:
    return {
        "article_id": item.article_id,
        "dup_group": item.group,
        "outcome": str(item.outcome),
        "url": item.url,
        "title": item.title[:1000],
    }


def save_entry(client: Elasticsearch, alias: str, entry: OutboxEntry) -> None:
    """Write (or overwrite) an email's outbox entry, visible to the next search at once."""
    document = {
        "kind": "outbox",
        "subscription": entry.subscription,
        "message_id": entry.message_id,
        "status": str(entry.status),
        "recipients": list(entry.recipients),
        "items": [_item(item) for item in entry.items],
        "message": base64.b64encode(entry.message).decode("ascii"),
        "created_at": entry.created_at.isoformat(),
    }
    client.index(index=alias, id=f"outbox:{entry.key}", document=document, refresh=True)


def open_entries(client: Elasticsearch, alias: str, subscription_id: str) -> list[OutboxEntry]:
    """The subscription's emails in the outbox, oldest first."""
    reply = client.search(
        index=alias,
        query={"bool": {"filter": [{"term": {"kind": "outbox"}}, {"term": {"subscription": subscription_id}}]}},
        sort=[{"created_at": "asc"}],
        size=CHUNK,
    )
    return [_entry(hit["_id"], hit["_source"]) for hit in reply["hits"]["hits"]]


def _entry(doc_id: str, src: dict) -> OutboxEntry:
    return OutboxEntry(
        key=doc_id.removeprefix("outbox:"),
        subscription=src["subscription"],
        message_id=src["message_id"],
        status=OutboxStatus(src["status"]),
        recipients=tuple(src["recipients"]),
        items=tuple(
            SentItem(i["article_id"], i["dup_group"], ItemOutcome(i["outcome"]), i["url"], i["title"])
            for i in src["items"]
        ),
        message=base64.b64decode(src["message"]),
        created_at=datetime.fromisoformat(src["created_at"]).astimezone(UTC),
    )


def remove_entry(client: Elasticsearch, alias: str, entry: OutboxEntry) -> None:
    """Take an email out of the outbox (no-op when it is gone)."""
    client.options(ignore_status=404).delete(index=alias, id=f"outbox:{entry.key}", refresh=True)
