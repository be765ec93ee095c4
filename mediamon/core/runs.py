"""What one ingest run did: the record `mediamon runs` shows (stored by `search/run_records.py`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class RunReport:
    """What one run did: feeds by status, entries, articles new / known / failed by stage, seconds per stage."""

    run_id: str = ""
    mode: str = "all"  # `all`: every feed, read in full; `due`: feeds due, conditional GETs
    started_at: datetime | None = None
    ended_at: datetime | None = None
    feeds: dict[str, str] = field(default_factory=dict)  # feed URL -> status
    entries: int = 0  # entries in the feeds read
    known: int = 0  # of which already indexed
    fetched: int = 0  # article pages fetched and extracted
    indexed: int = 0
    duplicates: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # article URL -> why
    failed_by_stage: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)  # {stage, url, reason}
    source_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def feed_counts(self) -> Counter[str]:
        """How many feeds ended in each status."""
        return Counter(self.feeds.values())

    def as_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "feeds": dict(self.feed_counts()),
            "entries": self.entries,
            "known": self.known,
            "fetched": self.fetched,
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "source_errors": self.source_errors,
            "seconds": self.seconds,
        }
