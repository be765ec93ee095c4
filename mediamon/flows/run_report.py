"""Closing a run: its record from the run's files, stored in the index, and its folder removed once nothing of it
waits in the spool. While Elasticsearch is away the record waits in the folder too (`record.json`), where
`mediamon runs` reads it, until a later run stores it.

A run's record keeps its own start and end (and the error it stopped on, if any), kept in its `run.json`: a later
run that drains its spool rewrites the counts, never the run's end, and adds itself to the record's `drained_by`
(with `indexed_at` once nothing of the run is left in the spool). In the DAG, where the stage that stops the run and
the task that closes it are tasks apart, the error waits in the run's folder (`STOPPED`) for the close.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import ApiError, TransportError

from mediamon.core.errors import MediamonError
from mediamon.core.runs import EntryOutcome, Outcome, RunReport
from mediamon.core.settings import Settings
from mediamon.flows.batches import batches_root, read_json, read_jsonl, read_stats, run_dir, write_json, write_stats
from mediamon.flows.feed_polling import run_polls
from mediamon.flows.spool import is_running
from search.client import EsUnavailable, check_health, make_client
from search.run_records import run_document, save_run

LOG = logging.getLogger(__name__)
# A closed run's record that the index has not got yet, in the run's folder.
RECORD = "record.json"
# Why a stage stopped the run, in the run's folder until the run's close puts it in the record.
STOPPED = "stopped.json"


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


def stop_reason(exc: MediamonError) -> str:
    """The line a run's record keeps of the error that stopped the run, e.g. `configuration error: …`."""
    return " ".join(f"{exc.label}: {exc}".split())


@contextmanager
def stopping_the_run(settings: Settings, run_id: str) -> Iterator[None]:
    """Around a stage the run cannot go on without, run in a task of its own (the DAG): an expected error it raises
    is raised on, and noted in the run's folder for the run's close (`finish_run`) to record; an attempt that gets
    through (a retry) takes back what an earlier one noted."""
    note = run_dir(settings, run_id) / STOPPED
    try:
        yield
    except MediamonError as exc:
        write_json(note, {"error": stop_reason(exc)})
        raise
    note.unlink(missing_ok=True)


def run_report(settings: Settings, run_id: str) -> RunReport:
    """What the run's files say it did so far (its `run.json` has its end: `finish_run`, `spool.note_end`)."""
    folder = run_dir(settings, run_id)
    run = read_json(folder / "run.json")
    report = RunReport(
        run_id=run_id,
        mode=run["mode"],
        started_at=datetime.fromisoformat(run["started_at"]),
        ended_at=datetime.fromisoformat(run["ended_at"]) if "ended_at" in run else None,  # None: not over
        feeds={poll.feed_url: str(poll.status) for poll in run_polls(folder)},
        source_errors=run["source_errors"],
        error=run.get("error"),
        drained_by=run.get("drained_by", []),
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


def finish_run(
    settings: Settings, run_id: str, *, drained_by: str | None = None, error: str | None = None
) -> RunReport:
    """Store the run record and, when every entry it read has its outcome, remove the run's files; else keep
    them as the spool that later runs finish (the record then counts those entries as spooled). A record the
    index cannot take now waits in the folder (`RECORD`) for the next run to store.

    The run's own close sets its end, and the `error` it stopped on (by default the one a stage noted:
    `stopping_the_run`); a later run closing it after draining its spool (`drained_by`, that run's id) keeps them,
    and sets `indexed_at` once nothing of the run is spooled."""
    folder = run_dir(settings, run_id)
    run = _closing(read_json(folder / "run.json"), drained_by, error or _noted_stop(folder))
    write_json(folder / "run.json", run)
    report = run_report(settings, run_id)
    report.indexed_at = datetime.now(UTC) if drained_by and not report.spooled else None
    problem = _store(settings, report)
    if problem is None and not report.spooled:
        shutil.rmtree(folder)
        return report
    if problem is None:
        (folder / RECORD).unlink(missing_ok=True)
    else:
        report.index_error, report.indexed_at = report.index_error or problem, None
        write_json(folder / RECORD, run_document(report))
    write_json(folder / "run.json", run | {"closed": True})
    kept = "stored" if problem is None else "kept in the spool"
    LOG.warning("run %s: %d entries spooled, its record %s (%s)", run_id, report.spooled, kept, report.index_error)
    return report


def _closing(run: dict, drained_by: str | None, error: str | None) -> dict:
    """A run's `run.json` as a close leaves it: the run's own close sets its end and error; a drain's adds itself."""
    if drained_by is None:
        return run | {"ended_at": datetime.now(UTC).isoformat(), "error": error}
    return run | {"drained_by": list(dict.fromkeys([*run.get("drained_by", []), drained_by]))}


def _noted_stop(folder: Path) -> str | None:
    """The error a stage stopped the run on, as `stopping_the_run` noted it; None when none did."""
    note = folder / STOPPED
    return read_json(note)["error"] if note.exists() else None


def _store(settings: Settings, report: RunReport) -> str | None:
    """Store the run record in the index; None when it is, else why not."""
    try:
        client = make_client(settings)
        check_health(client, settings.es_url)
        save_run(client, settings, report)
    except (EsUnavailable, ApiError, TransportError) as exc:
        return str(exc).splitlines()[0]
    return None


def spooled_records(settings: Settings) -> list[dict]:
    """The records of closed runs that the index has not got yet (it was away), from their folders in the spool."""
    records = []
    for path in batches_root(settings).glob(f"*/{RECORD}"):
        try:
            records.append(read_json(path))
        except FileNotFoundError:  # a later run stored it and removed the folder meanwhile
            continue
    return records


def open_records(settings: Settings) -> list[dict]:
    """The runs not closed yet, as their files say so far, each with its `state`: `running`, or `stopped` before its
    end (killed, say), its entries waiting for the next run's drain."""
    records = []
    for path in batches_root(settings).glob("*/run.json"):
        try:
            run = read_json(path)
            if run.get("closed") or (path.parent / RECORD).exists():  # a close writes its record, then `closed`
                continue
            state = "running" if is_running(settings, path.parent) else "stopped"
            records.append(run_document(run_report(settings, run["run_id"])) | {"state": state})
        except FileNotFoundError:  # closed and removed meanwhile: its record is in the index
            continue
    return records


def newest_records(spooled: list[dict], indexed: list[dict], limit: int) -> list[dict]:
    """The last `limit` runs, newest first, each once and marked `in_index`: from the spool when its record waits
    there (newer than any the index has of it), else from the index. Read the spool before the index: a record
    stored meanwhile is then shown as spooled, never missed."""
    waiting = {record["run_id"] for record in spooled}
    records = [record | {"in_index": False} for record in spooled]
    records += [record | {"in_index": True} for record in indexed if record["run_id"] not in waiting]
    return sorted(records, key=lambda record: datetime.fromisoformat(record["started_at"]), reverse=True)[:limit]
