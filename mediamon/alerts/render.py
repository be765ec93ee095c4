"""The alert email: subject, plain-text and HTML parts from Jinja2 templates (`mediamon/alerts/templates/alert.*.j2`).

The HTML environment autoescapes everything, and only http(s) links are linked, so a hostile title, snippet or
URL stays text. The Message-ID is derived from the subscription and its articles, so the same articles rendered
again after a failed send carry the same id (and mail clients can fold copies); an email owed to recipients the
server refused goes to them later as stored in the outbox, the same message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mediamon.alerts.blind_spots import BlindSpot
from mediamon.alerts.match import Candidate, Story
from mediamon.alerts.subscriptions import Frequency, Subscription

TEMPLATES = Path(__file__).parent / "templates"
MAX_ENTITIES = 8
MAX_TERMS = 8
KIND = {Frequency.IMMEDIATE: "alert", Frequency.DAILY: "daily digest", Frequency.WEEKLY: "weekly digest"}


@dataclass(frozen=True, slots=True)
class Labels:
    """Names the email shows instead of ids: seed story titles and topic labels."""

    seeds: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Relevance:
    """Relevance of a story to one followed seed."""

    seed_id: str
    seed_title: str
    score: float


@dataclass(frozen=True, slots=True)
class Copy:
    """Another outlet's copy of a story."""

    outlet: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Item:
    """One story as the templates show it."""

    number: int
    title: str
    url: str | None  # None when the article's URL is not http(s): then the title is not linked
    outlet: str
    affiliation: str | None
    date: str
    language: str | None
    relevance: tuple[Relevance, ...]
    topics: tuple[str, ...]
    why: tuple[str, ...]
    entities: tuple[str, ...]
    snippet: str
    also_in: tuple[Copy, ...]


@dataclass(frozen=True, slots=True)
class AlertEmail:
    """A rendered email, ready to become a MIME message."""

    subscription: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    key: str  # hash of the subscription and the articles the email deals with

    def message(self, sender: str, now: datetime) -> EmailMessage:
        """The multipart/alternative message (text, then HTML) from `sender` to every recipient."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = self.subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = f"<mediamon.{self.key}@{_domain(sender)}>"
        message["Auto-Submitted"] = "auto-generated"
        message["X-Mediamon-Subscription"] = self.subscription
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "mediamon"


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL (safe to link), else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def when(moment: datetime | None) -> str:
    """A time as `YYYY-MM-DD HH:MM UTC` (empty when unknown)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _listed(values: Sequence[object]) -> str:
    shown = ", ".join(map(str, values[:MAX_TERMS]))
    return shown + (f" and {len(values) - MAX_TERMS} more" if len(values) > MAX_TERMS else "")


def _seed_reason(candidate: Candidate, seed_id: str, labels: Labels) -> str:
    reasons = candidate.seed_reasons.get(seed_id)
    if not reasons:
        return f"seed {seed_id}: relevance {candidate.seed_scores[seed_id]:.2f}"
    parts = []
    if reasons.get("embedding_used", True):
        parts.append(f"text similarity {float(reasons.get('cosine', 0.0)):.2f}")
    else:
        parts.append("not compared by text (a language the model does not cover)")
    if reasons.get("entities"):
        parts.append(f"shared entities: {_listed(reasons['entities'])}")
    if reasons.get("topics"):
        parts.append(f"shared topics: {_listed([labels.topics.get(t, t) for t in reasons['topics']])}")
    if "time" in reasons:
        parts.append(f"time fit {float(reasons['time']):.2f}")
    return f"seed {seed_id}: " + "; ".join(parts)


def _why(candidate: Candidate, subscription: Subscription, labels: Labels) -> tuple[str, ...]:
    """Why the story matched: seed evidence, followed topics' matched terms, the query's matched words."""
    follows = subscription.follows
    lines = [_seed_reason(candidate, s.id, labels) for s in follows.seeds if s.id in candidate.seed_scores]
    for topic in follows.topics:
        if topic in candidate.topics:
            terms = candidate.topic_terms.get(topic) or []
            lines.append(f"topic {labels.topics.get(topic, topic)}" + (f": {_listed(terms)}" if terms else ""))
    if follows.query:
        words = f": {', '.join(candidate.query_terms)}" if candidate.query_terms else ""
        lines.append(f"search “{follows.query}”{words}")
    return tuple(lines)


def _item(number: int, story: Story, subscription: Subscription, labels: Labels) -> Item:
    lead, best = story.lead, story.best
    relevance = tuple(
        Relevance(seed.id, labels.seeds.get(seed.id, seed.id), best.seed_scores[seed.id])
        for seed in subscription.follows.seeds
        if seed.id in best.seed_scores
    )
    date = when(lead.published_at) if lead.published_at else f"found {when(lead.fetched_at)}"
    return Item(
        number=number,
        title=lead.title or lead.url,
        url=safe_url(lead.url),
        outlet=lead.outlet or "unknown outlet",
        affiliation=lead.affiliation,
        date=date,
        language=lead.language,
        relevance=relevance,
        topics=tuple(labels.topics.get(t, t) for t in lead.topics),
        why=_why(best, subscription, labels),
        entities=() if subscription.follows.seeds else lead.entities[:MAX_ENTITIES],  # seeds list shared ones
        snippet=lead.snippet,
        also_in=tuple(Copy(c.outlet or "unknown outlet", safe_url(c.url)) for c in story.also_in),
    )


@cache
def _environments() -> tuple[Environment, Environment]:
    loader = FileSystemLoader(TEMPLATES)
    html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined)
    text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return html, text


def subject(subscription: Subscription, stories: int) -> str:
    """`[mediamon] <name>: <n> new stories`, digests saying so."""
    count = f"{stories} new {'story' if stories == 1 else 'stories'}"
    kind = "" if subscription.frequency is Frequency.IMMEDIATE else f"{KIND[subscription.frequency]}, "
    return f"[mediamon] {subscription.name}: {kind}{count}"


def email_key(subscription_id: str, article_ids: Sequence[str]) -> str:
    """The stable hash of an email's subscription and articles."""
    digest = hashlib.sha256(subscription_id.encode())
    for article_id in sorted(article_ids):
        digest.update(b"\n" + article_id.encode())
    return digest.hexdigest()[:32]


def render_email(
    subscription: Subscription,
    stories: Sequence[Story],
    *,
    omitted: int,
    blind_spots: Sequence[BlindSpot],
    since: datetime,
    until: datetime,
    last_sent_at: datetime | None,
    labels: Labels,
    article_ids: Sequence[str],
) -> AlertEmail:
    """Render the email of `stories` (already capped; `omitted` more were left out) for the subscription."""
    context = {
        "subscription": subscription,
        "kind": KIND[subscription.frequency],
        "items": [_item(n, story, subscription, labels) for n, story in enumerate(stories, start=1)],
        "articles": sum(len(story.articles) for story in stories),
        "omitted": omitted,
        "blind_spots": list(blind_spots),
        "since": when(since),
        "until": when(until),
        "last_sent_at": when(last_sent_at),
        "when": when,
        "follows": describe_follows(subscription, labels),
    }
    html_env, text_env = _environments()
    return AlertEmail(
        subscription=subscription.id,
        recipients=subscription.recipients,
        subject=subject(subscription, len(stories)),
        text=text_env.get_template("alert.txt.j2").render(context),
        html=html_env.get_template("alert.html.j2").render(context),
        key=email_key(subscription.id, article_ids),
    )


def describe_follows(subscription: Subscription, labels: Labels) -> str:
    """What the subscription follows, in one line."""
    follows = subscription.follows
    parts = [
        f"seed “{labels.seeds.get(s.id, s.id)}”"
        + (f" (relevance ≥ {s.min_relevance:.2f})" if s.min_relevance is not None else " (matched)")
        for s in follows.seeds
    ]
    parts += [f"topic {labels.topics.get(t, t)}" for t in follows.topics]
    what = " or ".join(parts) or "all articles"
    narrowing = [f"search “{follows.query}”"] if follows.query else []
    for name, values in (("languages", follows.languages), ("outlets", follows.outlets)):
        if values:
            narrowing.append(f"{name} {', '.join(values)}")
    if follows.affiliations:
        narrowing.append(f"{', '.join(follows.affiliations)} media")
    return what + (f", limited to {'; '.join(narrowing)}" if narrowing else "")
