"""Run records: what one ingest run did, kept in the `mediamon-runs` index and shown by `mediamon runs`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from search.index_versions import ensure_runs_index, runs_alias

# A run record keeps at most this many failures in full; the counts per stage are always complete.
MAX_FAILURES = 200


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


def run_document(report: RunReport) -> dict:
    """The run record stored in `mediamon-runs`."""
    started, ended = report.started_at, report.ended_at
    return {
        "run_id": report.run_id,
        "mode": report.mode,
        "started_at": started.isoformat() if started else None,
        "ended_at": ended.isoformat() if ended else None,
        "seconds_total": round((ended - started).total_seconds(), 3) if started and ended else None,
        "feeds_total": len(report.feeds),
        "feeds": dict(report.feed_counts()),
        "entries": report.entries,
        "known": report.known,
        "fetched": report.fetched,
        "indexed": report.indexed,
        "duplicates": report.duplicates,
        "failed": report.failed_by_stage,
        "failures": report.failures[:MAX_FAILURES],
        "source_errors": report.source_errors,
        "seconds": report.seconds,
    }


def save_run(client: Elasticsearch, settings: Settings, report: RunReport) -> None:
    """Store the run record (a rerun of the same run id replaces it)."""
    alias = ensure_runs_index(client, settings)
    client.index(index=alias, id=report.run_id, document=run_document(report), refresh=True)


def recent_runs(client: Elasticsearch, settings: Settings, limit: int = 10) -> list[dict]:
    """The last `limit` run records, newest first (none when no run was recorded yet)."""
    alias = runs_alias(settings)
    if not client.indices.exists_alias(name=alias):
        return []
    reply = client.search(index=alias, sort=[{"started_at": "desc"}], size=limit)
    return [hit["_source"] for hit in reply["hits"]["hits"]]
