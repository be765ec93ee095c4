"""The spool: the folders of runs that ended (or died) before every entry they read had an outcome.

A run's folder (`flows/batches.py`) holds its entries at each stage; the next run finishes them, oldest first,
before its own (`flows/ingest_run.py:drain_spool`). A folder can be drained when its run closed it (its record is
written, some entries wait), when a `mediamon run` that died left it (its lock is free), or when an Airflow run
left it longer than `spool_stale_minutes` ago (its tasks hold the lock only while they work). A closed run's
record waits in its folder too while Elasticsearch is away (`flows/run_report.py`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from mediamon.flows.batches import (
    batch_part,
    batch_path,
    batches_root,
    folder_lock,
    read_json,
    read_jsonl,
    run_dir,
    write_json,
)


def run_folders(settings: Settings, exclude: str | None = None) -> list[Path]:
    """The folders of unfinished runs (their `run.json` written), oldest first, but `exclude`'s."""
    root = batches_root(settings)
    if not root.is_dir():
        return []
    skip = run_dir(settings, exclude).name if exclude else None
    folders = [f for f in root.iterdir() if (f / "run.json").exists() and f.name != skip]
    return sorted(folders, key=lambda f: (read_json(f / "run.json")["started_at"], f.name))


def _newest_change(folder: Path) -> float:
    """When the run last wrote a file of its folder (its lock file aside: a drain's claim creates it when missing)."""
    files = (path for path in folder.rglob("*") if path.is_file() and path.name != ".lock")
    return max((path.stat().st_mtime for path in files), default=0.0)


def is_abandoned(settings: Settings, folder: Path) -> bool:
    """Whether nobody will finish this folder's run but a drain: closed, or its owner gone."""
    run = read_json(folder / "run.json")
    if run.get("closed") or run.get("owner") == "cli":
        return True  # a live `mediamon run` holds the lock: `claim` says so
    return time.time() - _newest_change(folder) > settings.spool_stale_minutes * 60


def is_running(settings: Settings, folder: Path) -> bool:
    """Whether the run of this folder is still at work: not closed, and a `mediamon run` whose process lives on this
    host, or a DAG run that changed its folder within `spool_stale_minutes`."""
    run = read_json(folder / "run.json")
    if run.get("closed"):
        return False
    if run.get("owner") == "cli":
        return run.get("host") == socket.gethostname() and "pid" in run and alive(run["pid"])
    return not is_abandoned(settings, folder)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, killed and not yet waited for, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def note_end(folder: Path) -> None:
    """Give a run that never closed (killed, or its DAG run stopped) the end it had, its folder's last change, before
    a drain changes the folder; a closed run keeps the end it wrote."""
    run = read_json(folder / "run.json")
    if "ended_at" not in run:
        ended = datetime.fromtimestamp(_newest_change(folder), UTC)
        write_json(folder / "run.json", run | {"ended_at": ended.isoformat()})


@contextmanager
def claim(folder: Path) -> Iterator[bool]:
    """Hold the folder alone while draining it; yields False when a live run works on it."""
    with folder_lock(folder, exclusive=True, wait=False) as taken:
        yield taken


def unsettled_entries(folder: Path) -> Iterator[dict]:
    """The entries of a run that have no outcome yet (new ones before planning, then those of pending chunks)."""
    if not (folder / "stats" / "plan.json").exists():
        for path in sorted(folder.glob("entries-*.jsonl.gz")):
            yield from read_jsonl(path)
        return
    for path in sorted(folder.glob("chunk-*.jsonl.gz")):
        if not batch_path(folder, "outcomes-chunk", batch_part(path)).exists():
            yield from read_jsonl(path)


def waiting_ids(settings: Settings, run_id: str) -> set[str]:
    """The ids of the links other runs' spools still hold."""
    return {article_id(row["url"]) for folder in run_folders(settings, run_id) for row in unsettled_entries(folder)}
