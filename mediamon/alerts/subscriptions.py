"""Alert subscriptions (`seeds/subscriptions.yaml`): who gets emailed about what, and how often.

A subscription follows seed stories (each with an optional minimum relevance; without one, the articles the
enrichment matched to the seed) and topics: an article matches when it meets any of those. The optional query
(the syntax of `mediamon search`), languages, outlets (source ids of the feeds file) and affiliations narrow
that down: an article must meet each one given. A subscription with no seeds and no topics follows everything
its narrowing fields let through, so it needs at least one of them.

Every entry is validated on its own; a bad one is reported with file and line and left out, the others run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from enrich.seeds import load_seeds
from mediamon.core.entry_files import EntryError, load_entries, read_yaml
from mediamon.core.errors import ConfigError

_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")


class Frequency(StrEnum):
    """When a subscription's email goes out."""

    IMMEDIATE = "immediate"  # after every indexing run that brought matching articles
    DAILY = "daily"  # one digest a day (UTC)
    WEEKLY = "weekly"  # one digest an ISO week (UTC)


class SeedFollow(BaseModel):
    """A followed seed story and the least relevance (`seed_similarity`) an article needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    min_relevance: float | None = Field(default=None, ge=0.0, le=1.0)


class Follows(BaseModel):
    """What a subscription follows (see the module docstring for how the fields combine)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seeds: tuple[SeedFollow, ...] = ()
    topics: tuple[str, ...] = ()
    query: str | None = None
    languages: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    affiliations: tuple[Literal["state", "independent", "foreign", "wire"], ...] = ()

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_shorthand(cls, value: object) -> object:
        """A bare seed id stands for `{id: …}` (matched as the enrichment decided)."""
        if isinstance(value, list):
            return [{"id": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in value if not re.fullmatch(r"[a-z]{2}", code)]
        if bad:
            raise ValueError(f"not ISO 639-1 codes: {', '.join(bad)}")
        return value

    @field_validator("query")
    @classmethod
    def _query_text(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> Follows:
        if not (self.seeds or self.topics or self.query or self.languages or self.outlets or self.affiliations):
            raise ValueError("follows nothing: give seeds, topics, a query, languages, outlets or affiliations")
        return self


class Subscription(BaseModel):
    """One subscription: recipients, what it follows, how often it is sent, how many stories an email has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\r\n]+$")
    recipients: tuple[str, ...] = Field(min_length=1)
    follows: Follows
    frequency: Frequency
    max_items: int = Field(default=20, ge=1, le=200)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [address for address in value if not _EMAIL.match(address)]
        if bad:
            raise ValueError(f"not email addresses: {', '.join(map(repr, bad))}")
        return value


@dataclass(frozen=True, slots=True)
class SubscriptionList:
    """The valid subscriptions of a file and the errors of the others."""

    subscriptions: tuple[Subscription, ...]
    errors: tuple[EntryError, ...]

    def get(self, subscription_id: str) -> Subscription | None:
        """The subscription with this id, if it is valid."""
        return next((s for s in self.subscriptions if s.id == subscription_id), None)


def topic_labels(seeds_dir: Path) -> dict[str, str]:
    """The topic ids of `seeds_dir/topics.yaml` and their labels, in file order (UnreadableFile: one line)."""
    data = read_yaml(seeds_dir / "topics.yaml") or {}
    return {topic["id"]: topic.get("label") or topic["id"] for topic in data.get("topics") or []}


def _unknown_references(subscription: Subscription, seed_ids: set[str], topic_ids: set[str]) -> list[str]:
    follows = subscription.follows
    problems = [f"follows.seeds: no seed story {s.id!r}" for s in follows.seeds if s.id not in seed_ids]
    problems += [f"follows.topics: no topic {t!r}" for t in follows.topics if t not in topic_ids]
    return problems


def load_subscriptions(path: Path, seeds_dir: Path) -> SubscriptionList:
    """Read and check a subscriptions file; seeds and topics must exist in `seeds_dir`, ids be unique."""
    try:
        seed_ids = {seed.id for seed in load_seeds(seeds_dir)}
        topic_ids = set(topic_labels(seeds_dir))
    except ConfigError as exc:  # a seed file or topics.yaml that cannot be read
        return SubscriptionList((), (EntryError(path, 0, f"cannot read the seeds or topics it refers to: {exc}"),))
    subscriptions, errors = load_entries(
        path, "subscriptions", Subscription, "subscription", lambda s: _unknown_references(s, seed_ids, topic_ids)
    )
    return SubscriptionList(tuple(subscriptions), tuple(errors))
