"""What one ingest run did: every feed entry's outcome, and the record `mediamon runs` shows (stored by
`search/run_records.py`).

Each entry a run reads in its feeds ends in exactly one outcome: indexed, a duplicate of an article (with the
rule that said so), spooled (on disk, for a later run to finish), or failed (with the reason). So a run record
reconciles: entries = indexed + duplicates + spooled + failed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from mediamon.core.feeds import HEALTHY

# A run record keeps at most this many failures in full; the counts are always complete.
MAX_FAILURES = 200


class Outcome(StrEnum):
    """Where one feed entry ended."""

    INDEXED = "indexed"
    DUPLICATE = "duplicate"
    SPOOLED = "spooled"
    FAILED = "failed"


class DuplicateRule(StrEnum):
    """Why an entry is a duplicate of an article already there."""

    INDEXED = "link already indexed"
    LISTED_TWICE = "link listed twice in this run"
    SPOOLED = "link already waiting in the spool"
    SAME_PAGE = "page already indexed"  # its link redirected to, or its page named, an indexed article's URL


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """The outcome of one feed entry (its feed and link), the article it became, and why."""

    feed_url: str
    url: str
    outcome: Outcome
    article_id: str | None = None
    rule: DuplicateRule | None = None  # duplicates: the rule that said so (`article_id` is the original's)
    stage: str | None = None  # failures: the stage that failed (`feeds`, `fetch`, `extract`, `enrich`, `index`)
    reason: str | None = None  # failures: why; a page that failed is still stored from the feed (its `access`)

    def to_json(self) -> dict:
        """A JSON-ready dict."""
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict) -> EntryOutcome:
        """The inverse of `to_json`."""
        rule = data.get("rule")
        return cls(
            **{**data, "outcome": Outcome(data["outcome"]), "rule": DuplicateRule(rule) if rule else None},
        )


@dataclass(slots=True)
class RunReport:
    """What one run did with the entries of the feeds it read, and what it finished for earlier runs."""

    run_id: str = ""
    mode: str = "all"  # `all`: every feed, read in full; `due`: feeds due, conditional GETs
    started_at: datetime | None = None
    ended_at: datetime | None = None
    feeds: dict[str, str] = field(default_factory=dict)  # feed URL -> status
    entries: int = 0  # entries in the feeds read
    outcomes: Counter[str] = field(default_factory=Counter)  # Outcome -> entries
    duplicate_rules: Counter[str] = field(default_factory=Counter)  # DuplicateRule -> entries
    fetched: int = 0  # article pages fetched and read in full
    failures: list[dict[str, str]] = field(default_factory=list)  # {stage, url, reason}
    source_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    drained: Counter[str] = field(default_factory=Counter)  # earlier runs' spooled entries settled now, by Outcome
    drained_runs: list[str] = field(default_factory=list)  # the earlier runs whose spool this run finished
    retried: Counter[str] = field(default_factory=Counter)  # pages fetched again: `full` (now read), `still`
    index_error: str | None = None  # why indexing stopped (the rest is spooled)
    error: str | None = None  # the error that stopped the run before its end (a configuration error), if one did
    drained_by: list[str] = field(default_factory=list)  # the later runs that drained this run's spool
    indexed_at: datetime | None = None  # when a later run left nothing of this one in the spool, and stored its record

    @property
    def indexed(self) -> int:
        return self.outcomes[Outcome.INDEXED]

    @property
    def duplicates(self) -> int:
        return self.outcomes[Outcome.DUPLICATE]

    @property
    def spooled(self) -> int:
        return self.outcomes[Outcome.SPOOLED]

    @property
    def failed(self) -> dict[str, str]:
        """Failed entries: link -> why."""
        return {f["url"]: f["reason"] for f in self.failures}

    @property
    def failed_by_stage(self) -> dict[str, int]:
        return dict(Counter(f["stage"] for f in self.failures))

    @property
    def reconciled(self) -> bool:
        """Whether every entry has exactly one outcome."""
        return self.entries == sum(self.outcomes[o] for o in Outcome)

    def feed_counts(self) -> Counter[str]:
        """How many feeds ended in each status."""
        return Counter(self.feeds.values())

    @property
    def no_feed_read(self) -> bool:
        """Whether the run polled feeds and every one failed: the network, a proxy or a setting, not one site."""
        return bool(self.feeds) and not any(status in HEALTHY for status in self.feeds.values())

    def as_dict(self) -> dict:
        """A JSON-ready summary (the stored run record is `search/run_records.py:run_document`)."""
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "feeds": dict(self.feed_counts()),
            "entries": self.entries,
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "spooled": self.spooled,
            "failed": self.outcomes[Outcome.FAILED],
            "duplicate_rules": dict(self.duplicate_rules),
            "fetched": self.fetched,
            "failures": self.failures[:MAX_FAILURES],
            "drained": dict(self.drained),
            "drained_runs": self.drained_runs,
            "retried": dict(self.retried),
            "index_error": self.index_error,
            "source_errors": self.source_errors,
            "seconds": self.seconds,
        }
