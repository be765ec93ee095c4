"""Sending an alert email at most once: intent, send, confirm; and settling what a stopped run left behind.

1. intent: before sending, the run puts the email in the outbox (`outbox.py`, status `sending`): the message with
   its Message-ID, its recipients, its articles;
2. send: one SMTP transaction (`smtp.send_message`), the lease renewed once the session is open;
3. confirm: once the server accepted the email, the run records its articles as sent (`records.record_sent`,
   with the Message-ID) and takes it out of the outbox; when the server refused some recipients at RCPT, the
   email stays in the outbox, `owed` to them. A send that did not happen (SmtpError: nothing was delivered;
   LeaseLost or an Elasticsearch error renewing the lease: stopped before the transaction) takes a new email
   out of the outbox, its articles waiting for the next run, and leaves an owed one owed.

The next run of the subscription settles its outbox first (`settle`), holding the lease, so the run that wrote
an entry has ended or lost its lease and will not confirm it:
- `owed`: the same message, same Message-ID, goes to the refused recipients still subscribed, through steps 1-3,
  until `OWED_FOR` has passed; who got it never gets it again, and its articles stay out of later emails.
- `sending`: the outcome is unknown. Its run stopped between the intent and the confirmation: Elasticsearch
  failed the confirmation, or the process died. SMTP has no way to ask a server whether it got a message, so
  either a second copy or a lost email has to be risked. The policy is at-most-once: the email counts as sent.
  Its articles are recorded as sent with its Message-ID, nothing is sent again, and a warning names the
  Message-ID, which the mail server's log holds if the email went. The likelier cause, Elasticsearch failing
  the confirmation, comes after the server took the email, where at-most-once is exactly right; the price is
  that an email whose process died after the intent and before the server took it is lost.

Left open: a connection lost after the message's final dot and before the server's reply looks like a failed
send (SmtpError), and the next run sends the email again, with the same Message-ID, so mail clients fold the
copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import BulkIndexError

from mediamon.alerts.lease import KeptLease, LeaseLost
from mediamon.alerts.outbox import OutboxEntry, OutboxStatus, open_entries, remove_entry, save_entry
from mediamon.alerts.records import record_sent
from mediamon.alerts.smtp import Mailer, SmtpError, send_message
from mediamon.alerts.subscriptions import Subscription

LOG = logging.getLogger(__name__)
OWED_FOR = timedelta(days=5)  # an email refused to some recipients is tried for them this long (Postfix's default)


class Unconfirmed(RuntimeError):
    """The server accepted the email but recording it failed; the next run records it without sending it again."""


@dataclass(frozen=True, slots=True)
class Courier:
    """What sending a subscription's emails needs: the bookkeeping index, the mailer, the subscription's lease."""

    client: Elasticsearch
    alias: str
    mailer: Mailer
    lease: KeptLease


@dataclass(frozen=True, slots=True)
class Settled:
    """What settling a subscription's outbox did."""

    counted: int = 0  # emails of unknown outcome, counted as sent
    resent: int = 0  # owed emails sent to (some of) the recipients refused before
    refused: dict[str, str] = field(default_factory=dict)  # recipients refused again (they stay owed)


def deliver(courier: Courier, entry: OutboxEntry, message: EmailMessage, sent_at: datetime) -> dict[str, str]:
    """Send `message` (the entry's) to the entry's recipients: intent, send, confirm. Returns the recipients the
    server refused, who are owed the email from then on. `entry` is a new email (`sending`) or an owed one.

    Raises SmtpError (nothing was sent), LeaseLost (another run has the subscription: stopped before sending),
    Unconfirmed (sent, not recorded) and Elasticsearch's errors (not sent).
    """
    client, alias = courier.client, courier.alias
    courier.lease.renew()
    save_entry(client, alias, replace(entry, status=OutboxStatus.SENDING))
    try:
        refused = send_message(courier.mailer, message, entry.recipients, before=courier.lease.renew)
    except (SmtpError, LeaseLost, ApiError, TransportError):  # not sent (the last two: the renewal before it failed)
        if entry.status is OutboxStatus.OWED:
            save_entry(client, alias, entry)
        else:
            remove_entry(client, alias, entry)
        raise
    try:
        if entry.status is not OutboxStatus.OWED:  # an owed email's articles were recorded when it first went
            record_sent(client, alias, entry.subscription, entry.items, entry.message_id, sent_at)
        if refused:
            save_entry(client, alias, replace(entry, status=OutboxStatus.OWED, recipients=tuple(refused)))
        else:
            remove_entry(client, alias, entry)
    except (ApiError, TransportError, BulkIndexError) as exc:
        raise Unconfirmed(
            f"the SMTP server accepted {entry.message_id} but recording it failed ({exc}); "
            "the next run records it without sending it again"
        ) from exc
    return refused


def settle(courier: Courier, subscription: Subscription, now: datetime) -> Settled:
    """Settle the subscription's outbox: emails of unknown outcome counted as sent, owed ones sent again.

    Raises LeaseLost and Unconfirmed as `deliver` does.
    """
    client, alias = courier.client, courier.alias
    counted, resent, refused = 0, 0, {}
    for entry in open_entries(client, alias, subscription.id):
        if entry.status is OutboxStatus.SENDING:
            LOG.warning(
                "subscription %s: email %s to %s may or may not have been sent (its run stopped before recording "
                "it); counted as sent, not sent again",
                subscription.id,
                entry.message_id,
                ", ".join(entry.recipients),
            )
            record_sent(client, alias, subscription.id, entry.items, entry.message_id, entry.created_at)
            remove_entry(client, alias, entry)
            counted += 1
            continue
        owed = tuple(r for r in entry.recipients if r in subscription.recipients)
        if not owed or now - entry.created_at > OWED_FOR:
            why = "no longer subscribed" if not owed else f"refused for more than {OWED_FOR.days} days"
            LOG.warning(
                "subscription %s: email %s not sent to %s: %s", subscription.id, entry.message_id, entry.recipients, why
            )
            remove_entry(client, alias, entry)
            continue
        try:
            refused |= deliver(courier, replace(entry, recipients=owed), entry.email(), now)
        except SmtpError as exc:
            LOG.warning("subscription %s: email %s still owed to %s: %s", subscription.id, entry.message_id, owed, exc)
            continue
        resent += 1
    return Settled(counted, resent, refused)
