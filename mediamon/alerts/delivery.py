"""Sending an alert email once: intent, send, confirm; and what the next run does with an email whose run
stopped between sending it and recording it.

1. intent: before sending, the run puts the email in the outbox (`outbox.py`, status `sending`): the message with
   its Message-ID, its recipients, its articles;
2. send: one SMTP transaction (`smtp.send_message`), the lease renewed once the session is open;
3. confirm: once the server accepted the email, the run records its articles as sent (`records.record_sent`,
   with the Message-ID) and takes it out of the outbox. A send that failed outright (SmtpError: nothing was
   delivered) or that the run gave up (LeaseLost) takes it out too: its articles wait for the next run.

The next run of the subscription settles the outbox first (`settle`), under the lease, so the run that wrote
an entry is gone or has lost its lease and will not confirm it. An entry still `sending` means that run stopped
between the intent and the confirmation (it crashed, or Elasticsearch failed the confirmation), and whether the
server got the email cannot be known: SMTP has no way to ask a server about a message. The policy is
at-most-once: such an email counts as sent. Its articles are recorded as sent with its Message-ID and nothing is
sent again; a warning names the Message-ID, which the mail server's log can confirm. A second copy of an alert
is the error this avoids; the price is that an email whose run stopped after the intent and before the send (a
crash, or Elasticsearch failing, in that moment) is lost, its articles marked sent.

One window still sends twice: a connection lost after the message's final dot and before the server's reply
looks like a failed send, and the next run sends the email again, with the same Message-ID, so mail clients
fold the copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import BulkIndexError

from mediamon.alerts.lease import KeptLease, LeaseLost
from mediamon.alerts.outbox import OutboxEntry, OutboxStatus, open_entries, remove_entry, save_entry
from mediamon.alerts.records import record_sent
from mediamon.alerts.smtp import Mailer, SmtpError, send_message

LOG = logging.getLogger(__name__)


class Unconfirmed(RuntimeError):
    """The server accepted the email but recording it failed; the next run records it without sending it again."""


@dataclass(frozen=True, slots=True)
class Courier:
    """What sending a subscription's emails needs: the bookkeeping index, the mailer, the subscription's lease."""

    client: Elasticsearch
    alias: str
    mailer: Mailer
    lease: KeptLease


def deliver(courier: Courier, entry: OutboxEntry, message: EmailMessage, sent_at: datetime) -> dict[str, str]:
    """Send `message` (the entry's) to its recipients: intent, send, confirm. Returns the recipients refused.

    Raises SmtpError (nothing was sent), LeaseLost (another run has the subscription: stopped before sending) and
    Unconfirmed (sent, not recorded).
    """
    client, alias = courier.client, courier.alias
    courier.lease.renew()
    save_entry(client, alias, replace(entry, status=OutboxStatus.SENDING))
    try:
        refused = send_message(courier.mailer, message, before=courier.lease.renew)
    except (SmtpError, LeaseLost):
        remove_entry(client, alias, entry)
        raise
    try:
        record_sent(client, alias, entry.subscription, entry.items, entry.message_id, sent_at)
        remove_entry(client, alias, entry)
    except (ApiError, TransportError, BulkIndexError) as exc:
        raise Unconfirmed(
            f"the SMTP server accepted {entry.message_id} but recording it failed ({exc}); "
            "the next run records it without sending it again"
        ) from exc
    return refused


def settle(courier: Courier, subscription_id: str) -> int:
    """Record the subscription's emails of unknown outcome (still `sending`) as sent. Returns how many."""
    settled = 0
    for entry in open_entries(courier.client, courier.alias, subscription_id):
        LOG.warning(
            "subscription %s: email %s to %s may or may not have been sent (its run stopped before recording it); "
            "counted as sent, not sent again",
            subscription_id,
            entry.message_id,
            ", ".join(entry.recipients),
        )
        record_sent(courier.client, courier.alias, subscription_id, entry.items, entry.message_id, entry.created_at)
        remove_entry(courier.client, courier.alias, entry)
        settled += 1
    return settled
