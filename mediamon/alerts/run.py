"""Running subscriptions: for each one that is due, the new matching stories since its watermark, one email,
then the bookkeeping, in that order.

Exactly once, per (subscription, article):
- a run takes the subscription's lease in `mediamon-alerts` first, so overlapping runs (a retried task next
  to a late one, the CLI next to the DAG) never work on one subscription at the same time; it renews the lease
  as it works and right before sending, and stops before sending when another run took it (`lease.py`);
- it settles what an earlier run left in the outbox, then leaves out articles (and stories, by `dup_group`) the
  subscription's sent records hold;
- it sends through the outbox (`delivery.py`): the intent, the SMTP transaction, then the email's sent records
  and the watermark. A send that failed outright records nothing, so the next run (or the task's retry) sends
  the articles again; an email whose run stopped before recording it counts as sent: at most once.
The window starts `alert_overlap_minutes` before the watermark, because an article is indexed a while after
its `fetched_at`; the sent records keep the overlap from sending anything twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from elasticsearch import Elasticsearch

from enrich.seeds import load_seeds
from ingest.sources import Source, load_sources
from mediamon.alerts.blind_spots import blind_spots
from mediamon.alerts.delivery import Courier, Unconfirmed, deliver, settle
from mediamon.alerts.lease import LeaseLost, keep_lease
from mediamon.alerts.match import Story, find_matches, group_stories
from mediamon.alerts.outbox import OutboxEntry, OutboxStatus
from mediamon.alerts.outlets import UnknownOutlet, check_outlets
from mediamon.alerts.records import (
    ItemOutcome,
    SentItem,
    SubscriptionState,
    covered,
    load_state,
    save_state,
)
from mediamon.alerts.render import AlertEmail, Labels, render_email
from mediamon.alerts.smtp import Mailer, SmtpError, settings_mailer, smtp_config
from mediamon.alerts.subscriptions import Frequency, Subscription, SubscriptionList, load_subscriptions, topic_labels
from mediamon.core.errors import MediamonError, UsageError
from mediamon.core.settings import Settings
from search.client import check_health, make_client
from search.index_versions import alerts_alias, articles_alias, ensure_alerts_index, feeds_alias
from search.query import IndexMissing, SearchError, run_search

LOG = logging.getLogger(__name__)

# How far back the first run of a new subscription looks.
FIRST_LOOKBACK = {
    Frequency.IMMEDIATE: timedelta(days=1),
    Frequency.DAILY: timedelta(days=1),
    Frequency.WEEKLY: timedelta(days=7),
}


class RunStatus(StrEnum):
    """What a run did with one subscription."""

    SENT = "sent"
    NOTHING_NEW = "nothing_new"  # no new matching story: no email; the watermark advanced
    NOT_DUE = "not_due"  # a digest already sent this UTC day (daily) or ISO week (weekly)
    BUSY = "busy"  # another run holds the subscription's lease and sends its articles
    LEASE_LOST = "lease_lost"  # another run took the lease while this one worked: this one stopped before sending
    DRY_RUN = "dry_run"  # rendered, not sent, nothing recorded
    FAILED = "failed"  # not sent (SMTP failure, refused query): the next run tries again; or sent, not recorded


class UnknownSubscription(UsageError):
    """A subscription id that is not in the subscriptions file (or whose entry is invalid)."""


class NothingIndexed(MediamonError):
    """No articles index under the index prefix yet (a deployment before its first ingest): nothing to alert on."""


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """The result of one subscription in one run."""

    subscription: str
    status: RunStatus
    stories: int = 0
    articles: int = 0
    omitted: int = 0  # stories left out by the cap
    email: AlertEmail | None = None
    message_id: str | None = None
    refused: dict[str, str] = field(default_factory=dict)  # recipients the server refused: owed the email
    resent: int = 0  # earlier emails sent to recipients the server had refused
    settled: int = 0  # emails an earlier run stopped sending before recording them: counted as sent (delivery.py)
    error: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready summary, with the subject and recipients but without the email bodies."""
        summary = asdict(self) | {"status": str(self.status)}
        summary.pop("email")
        if self.email:
            summary |= {"subject": self.email.subject, "recipients": list(self.email.recipients)}
        return summary


@dataclass(frozen=True, slots=True)
class AlertRun:
    """A run over several subscriptions: one outcome each, the entries of the file that were invalid, and the
    outlets the chosen subscriptions follow that no feed and no indexed article has (warnings: they run anyway)."""

    outcomes: list[AlertOutcome]
    invalid: list[str]
    unknown_outlets: list[UnknownOutlet]

    @property
    def failed(self) -> list[AlertOutcome]:
        """The outcomes that sent nothing because of an error."""
        return [o for o in self.outcomes if o.status is RunStatus.FAILED]


@dataclass(frozen=True, slots=True)
class _Context:
    """What every subscription of a run shares."""

    client: Elasticsearch
    settings: Settings
    labels: Labels
    sources: tuple[Source, ...]
    now: datetime
    owner: str
    started: float  # time.monotonic() at `now`

    def clock(self) -> datetime:
        """The run's time now: `now`, when it started, plus the time it has taken since."""
        return self.now + timedelta(seconds=time.monotonic() - self.started)


def is_due(frequency: Frequency, last_run_at: datetime | None, now: datetime) -> bool:
    """Immediate subscriptions always; a digest once a UTC day (daily) or ISO week (weekly)."""
    if frequency is Frequency.IMMEDIATE or last_run_at is None:
        return True
    last, today = last_run_at.astimezone(UTC), now.astimezone(UTC)
    if frequency is Frequency.DAILY:
        return last.date() < today.date()
    return last.isocalendar()[:2] < today.isocalendar()[:2]


def _items(shown: Sequence[Story], over_cap: Sequence[Story]) -> list[SentItem]:
    items = []
    for story in shown:
        items.append(SentItem(story.lead.id, story.lead.group, ItemOutcome.SHOWN, story.lead.url, story.lead.title))
        items += [SentItem(c.id, c.group, ItemOutcome.DUPLICATE, c.url, c.title) for c in story.copies]
    items += [SentItem(c.id, c.group, ItemOutcome.OVER_CAP, c.url, c.title) for s in over_cap for c in s.articles]
    return items


def _run_one(
    ctx: _Context,
    subscription: Subscription,
    courier: Courier | None,
    force: bool,
    lookback: timedelta | None,
) -> AlertOutcome:
    """One subscription: match, render, and unless this is a dry run (`courier` None) send and record."""
    settings, client, now = ctx.settings, ctx.client, ctx.now
    alerts = alerts_alias(settings)
    state = load_state(client, alerts, subscription.id)
    if not force and not is_due(subscription.frequency, state.last_run_at, now):
        return AlertOutcome(subscription.id, RunStatus.NOT_DUE)
    if lookback is not None:
        since = shown_since = now - lookback
    elif state.watermark is not None:
        since, shown_since = (
            state.watermark - timedelta(minutes=settings.alert_overlap_minutes),
            state.watermark,
        )
    else:
        since = shown_since = now - FIRST_LOOKBACK[subscription.frequency]
    matches = find_matches(client, articles_alias(settings), subscription, since, now)
    candidates = matches.candidates
    until = now if matches.complete else candidates[-1].fetched_at
    if lookback is None:
        ids, groups = [c.id for c in candidates], {c.group for c in candidates}
        done, done_groups = covered(client, alerts, subscription.id, ids, groups)
        candidates = [c for c in candidates if c.id not in done and c.group not in done_groups]
    stories = group_stories(candidates)
    shown, over_cap = stories[: subscription.max_items], stories[subscription.max_items :]
    completed = SubscriptionState(subscription.id, until, state.last_sent_at, now)
    if not shown:
        if courier is not None:
            save_state(client, alerts, completed)
        return AlertOutcome(subscription.id, RunStatus.NOTHING_NEW)
    items = _items(shown, over_cap)
    email = render_email(
        subscription,
        shown,
        omitted=len(over_cap),
        blind_spots=blind_spots(client, feeds_alias(settings), subscription, ctx.sources),
        since=shown_since,
        until=until,
        last_sent_at=state.last_sent_at,
        labels=ctx.labels,
        article_ids=[item.article_id for item in items],
    )
    counts = {
        "stories": len(shown),
        "articles": sum(len(s.articles) for s in shown),
        "omitted": len(over_cap),
    }
    if courier is None:
        return AlertOutcome(subscription.id, RunStatus.DRY_RUN, email=email, **counts)
    message = email.message(courier.mailer.sender, now)
    message_id = str(message["Message-ID"])
    entry = OutboxEntry(
        key=email.key,
        subscription=subscription.id,
        message_id=message_id,
        status=OutboxStatus.SENDING,
        recipients=email.recipients,
        items=tuple(items),
        message=message.as_bytes(),
        created_at=now,
    )
    try:
        refused = deliver(courier, entry, message, now)
    except SmtpError as exc:
        LOG.warning("subscription %s: %s; its articles wait for the next run", subscription.id, exc)
        return AlertOutcome(subscription.id, RunStatus.FAILED, email=email, error=str(exc), **counts)
    save_state(client, alerts, SubscriptionState(subscription.id, until, now, now))
    LOG.info(
        "subscription %s: sent %d stories to %d recipients",
        subscription.id,
        len(shown),
        len(email.recipients),
    )
    return AlertOutcome(subscription.id, RunStatus.SENT, email=email, message_id=message_id, refused=refused, **counts)


def _run_leased(
    ctx: _Context,
    subscription: Subscription,
    mailer: Mailer | None,
    force: bool,
    lookback: timedelta | None,
) -> AlertOutcome:
    """One subscription, under its lease (dry runs, `mailer` None, write nothing and need none)."""
    try:
        if mailer is None:
            return _run_one(ctx, subscription, None, force, lookback)
        alerts, ttl = alerts_alias(ctx.settings), timedelta(seconds=ctx.settings.alert_lease_seconds)
        with keep_lease(ctx.client, alerts, subscription.id, ctx.owner, ttl, ctx.clock) as lease:
            if lease is None:
                return AlertOutcome(subscription.id, RunStatus.BUSY)
            courier = Courier(ctx.client, alerts, mailer, lease)
            settled = settle(courier, subscription, ctx.now)
            outcome = _run_one(ctx, subscription, courier, force, lookback)
            return replace(
                outcome, refused=settled.refused | outcome.refused, resent=settled.resent, settled=settled.counted
            )
    except Unconfirmed as exc:
        LOG.error("subscription %s: %s", subscription.id, exc)
        return AlertOutcome(subscription.id, RunStatus.FAILED, error=str(exc))
    except LeaseLost as exc:
        LOG.warning("subscription %s: %s; this run stopped before sending", subscription.id, exc)
        return AlertOutcome(subscription.id, RunStatus.LEASE_LOST, error=str(exc))
    except SearchError as exc:
        return AlertOutcome(subscription.id, RunStatus.FAILED, error=f"Elasticsearch refused the query: {exc}")


def load_labels(settings: Settings) -> Labels:
    """Seed titles and topic labels of the seeds folder."""
    seeds = {seed.id: seed.title for seed in load_seeds(settings.seeds_dir)}
    return Labels(seeds=seeds, topics=topic_labels(settings.seeds_dir))


def select(
    loaded: SubscriptionList, ids: Iterable[str] | None, frequencies: Iterable[Frequency] | None
) -> list[Subscription]:
    """The subscriptions with these ids (all when None) and frequencies (all when None)."""
    wanted = list(dict.fromkeys(ids)) if ids is not None else None
    if wanted is not None:
        unknown = [i for i in wanted if loaded.get(i) is None]
        if unknown:
            known = ", ".join(s.id for s in loaded.subscriptions) or "none"
            raise UnknownSubscription(f"no valid subscription {', '.join(unknown)} (valid ones: {known})")
    chosen = [s for s in loaded.subscriptions if wanted is None or s.id in wanted]
    allowed = set(frequencies) if frequencies is not None else set(Frequency)
    return [s for s in chosen if s.frequency in allowed]


def run_alerts(
    settings: Settings,
    *,
    subscription_ids: Iterable[str] | None = None,
    frequencies: Iterable[Frequency] | None = None,
    dry_run: bool = False,
    force: bool = False,
    mailer: Mailer | None = None,
    now: datetime | None = None,
    lookback: timedelta | None = None,
) -> AlertRun:
    """Run the chosen subscriptions of `settings.subscriptions_path` once.

    `force` sends digests that are not due; `lookback` (dry runs only) shows every match of that past
    window, sent or not; `mailer` defaults to the settings' SMTP URL. Raises, before anything is recorded,
    UnknownSubscription for an id not in the file, ConfigError for SMTP settings that cannot be used,
    search.client.EsUnavailable when Elasticsearch is down, search.query.IndexMissing when no article was indexed.
    """
    started, now = time.monotonic(), (now or datetime.now(UTC)).astimezone(UTC)
    if lookback is not None and not dry_run:
        raise ValueError("a lookback window is for dry runs only: it ignores what was sent")
    loaded = load_subscriptions(settings.subscriptions_path, settings.seeds_dir)
    chosen = select(loaded, subscription_ids, frequencies)
    transport = None if dry_run else (mailer or settings_mailer(smtp_config(settings)))
    client = make_client(settings)
    check_health(client, settings.es_url)
    run_search(client, index=articles_alias(settings), size=0, track_total_hits=False)  # IndexMissing if none
    ensure_alerts_index(client, settings)
    ctx = _Context(
        client=client,
        settings=settings,
        labels=load_labels(settings),
        sources=load_sources(settings.feeds_path).sources,
        now=now,
        owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        started=started,
    )
    unknown = check_outlets(client, settings, chosen, ctx.sources)
    outcomes = [_run_leased(ctx, s, transport, force, lookback) for s in chosen]
    return AlertRun(outcomes, [str(error) for error in loaded.errors], unknown)


def run_subscription(settings: Settings, subscription_id: str, mailer: Mailer | None) -> AlertOutcome:
    """One subscription, as the alerts DAG runs it (`mailer` None: the settings' SMTP URL), each outlet it follows
    that nothing has logged as a warning. NothingIndexed, before anything is created, while no article is indexed
    under the index prefix; any other error raises as from `run_alerts`."""
    try:
        run = run_alerts(settings, subscription_ids=[subscription_id], mailer=mailer)
    except IndexMissing:
        raise NothingIndexed(
            f"no articles are indexed yet under the index prefix {settings.index_prefix!r} "
            f"(no {articles_alias(settings)}), so there is nothing to alert on"
        ) from None
    for problem in run.unknown_outlets:
        LOG.warning("%s", problem)
    return run.outcomes[0]
