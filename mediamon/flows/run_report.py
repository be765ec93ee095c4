"""Closing a run: its record from the run's files, stored in the index, and its folder removed once nothing of it
waits in the spool."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import ApiError, TransportError

from mediamon.core.runs import EntryOutcome, Outcome, RunReport
from mediamon.core.settings import Settings
from mediamon.flows.batches import read_json, read_jsonl, read_stats, run_dir, write_json, write_stats
from mediamon.flows.feed_polling import run_polls
from search.client import EsUnavailable, check_health, make_client
from search.run_records import save_run

LOG = logging.getLogger(__name__)


def run_outcomes(folder: Path) -> list[EntryOutcome]:
    """Every outcome a run's entries have so far."""
    return [EntryOutcome.from_json(row) for path in sorted(folder.glob("outcomes-*")) for row in read_jsonl(path)]


def indexed_in(outcomes_paths: list[str]) -> int:
    """How many entries of these outcome files were indexed."""
    outcomes = (EntryOutcome.from_json(row) for path in outcomes_paths for row in read_jsonl(Path(path)))
    return sum(1 for outcome in outcomes if outcome.outcome is Outcome.INDEXED)


def note_index_error(settings: Settings, run_id: str, error: str) -> None:
    """Remember why indexing stopped in this run (its record says so)."""
    write_stats(run_dir(settings, run_id), "index-error", None, {"seconds": 0.0, "error": error})


def run_report(settings: Settings, run_id: str) -> RunReport:
    """What the run's files say it did so far."""
    folder = run_dir(settings, run_id)
    run = read_json(folder / "run.json")
    report = RunReport(
        run_id=run_id,
        mode=run["mode"],
        started_at=datetime.fromisoformat(run["started_at"]),
        ended_at=datetime.now(UTC),
        feeds={poll.feed_url: str(poll.status) for poll in run_polls(folder)},
        source_errors=run["source_errors"],
    )
    for stats in read_stats(folder):
        stage = stats["stage"]
        report.seconds[stage] = round(report.seconds.get(stage, 0.0) + stats["seconds"], 3)
        report.entries += stats.get("entries", 0) if stage == "feeds" else 0
        report.fetched += stats.get("fetched", 0)
        report.drained.update(stats.get("drained", {}))
        report.drained_runs += stats.get("drained_runs", [])
        report.retried.update(stats.get("retried", {}))
        report.index_error = stats.get("error", report.index_error)
    outcomes = run_outcomes(folder)
    report.outcomes = Counter(str(o.outcome) for o in outcomes)
    report.duplicate_rules = Counter(str(o.rule) for o in outcomes if o.rule)
    report.failures = [
        {"stage": o.stage or "", "url": o.url, "reason": o.reason or ""}
        for o in outcomes
        if o.outcome is Outcome.FAILED
    ]
    report.outcomes[Outcome.SPOOLED] = report.entries - len(outcomes)
    return report


def finish_run(settings: Settings, run_id: str) -> RunReport:
    """Store the run record and, when every entry it read has its outcome, remove the run's files; else keep
    them as the spool that the next run finishes (the record then counts those entries as spooled)."""
    folder = run_dir(settings, run_id)
    report = run_report(settings, run_id)
    try:
        client = make_client(settings)
        check_health(client, settings.es_url)
        save_run(client, settings, report)
        recorded = True
    except (EsUnavailable, ApiError, TransportError) as exc:
        report.index_error = report.index_error or str(exc).splitlines()[0]
        recorded = False
    if recorded and not report.spooled:
        shutil.rmtree(folder)
    else:
        write_json(folder / "run.json", read_json(folder / "run.json") | {"closed": True, "recorded": recorded})
        LOG.warning("run %s: %d entries spooled for the next run (%s)", run_id, report.spooled, report.index_error)
    return report
