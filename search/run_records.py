"""Run records in the `mediamon-runs` index: one document per ingest run, read back by `mediamon runs`."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from mediamon.core.runs import MAX_FAILURES, Outcome, RunReport
from mediamon.core.settings import Settings
from search.index_versions import ensure_runs_index, runs_alias


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
        "fetched": report.fetched,
        "indexed": report.indexed,
        "duplicates": report.duplicates,
        "duplicate_rules": dict(report.duplicate_rules),
        "spooled": report.spooled,
        "failed": report.failed_by_stage,
        "failed_total": report.outcomes[Outcome.FAILED],
        "reconciled": report.reconciled,
        "failures": report.failures[:MAX_FAILURES],
        "drained": dict(report.drained),
        "drained_runs": report.drained_runs,
        "retried": dict(report.retried),
        "index_error": report.index_error,
        "error": report.error,
        "drained_by": report.drained_by,
        "indexed_at": report.indexed_at.isoformat() if report.indexed_at else None,
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
