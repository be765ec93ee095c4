"""The files of one run under `data_dir/batches/<run_id>`: JSONL.gz batches between stages, per-stage stats, and
the lock its workers hold.

Stages pass each other paths of these files, never the records themselves. Every file is written atomically, so a
retried task replaces what its failed attempt left. A run's folder is removed only once every entry it read has an
outcome: until then it is the spool that later runs drain (`mediamon/flows/spool.py`).
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import orjson

from mediamon.core.settings import Settings

T = TypeVar("T")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_dir(settings: Settings, run_id: str) -> Path:
    """The folder of a run's batch files (Airflow run ids are made safe for file names)."""
    return batches_root(settings) / _UNSAFE.sub("_", run_id)


def batches_root(settings: Settings) -> Path:
    """The folder that holds every unfinished run's folder."""
    return settings.data_dir / "batches"


@contextmanager
def folder_lock(folder: Path, *, exclusive: bool, wait: bool = True) -> Iterator[bool]:
    """Hold the run folder's lock (`flock`, released when the process dies) while the block runs; yields whether it
    was taken (always, when `wait`). Workers of a run share it; draining another run's spool takes it alone."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def batch_path(folder: Path, kind: str, part: int) -> Path:
    """The file of one batch of one kind (`feeds`, `entries`, `chunk`, `articles`, `enriched`, `outcomes`)."""
    return folder / f"{kind}-{part:05d}.jsonl.gz"


def batch_part(path: Path) -> int:
    """The batch number in a batch file name."""
    return int(path.name.split(".")[0].rsplit("-", 1)[1])


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    """Write rows as gzipped JSON lines (orjson; the fastest gzip level: these files live minutes); returns how
    many."""
    lines = [orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS) for row in rows]
    _atomic_write(path, gzip.compress(b"\n".join(lines) + b"\n" if lines else b"", compresslevel=1))
    return len(lines)


def read_jsonl(path: Path) -> Iterator[dict]:
    """The rows of a JSONL.gz file."""
    with gzip.open(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def write_json(path: Path, data: dict) -> None:
    """Write one JSON document atomically."""
    _atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def read_json(path: Path) -> dict:
    """Read one JSON document."""
    return json.loads(path.read_text(encoding="utf-8"))


def write_stats(folder: Path, stage: str, part: int | None, stats: dict) -> None:
    """Record what one stage (or one batch of it) did: counts, `seconds` and `failures`."""
    name = f"{stage}.json" if part is None else f"{stage}-{part:05d}.json"
    write_json(folder / "stats" / name, {"stage": stage, **stats})


def read_stats(folder: Path) -> list[dict]:
    """Every stats record of a run."""
    return [read_json(path) for path in sorted((folder / "stats").glob("*.json"))]


# --- records to JSON and back ---


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_json(record: Any) -> dict:
    """A dataclass record (FeedEntry, Article, Enrichment) as a JSON-ready dict."""
    assert is_dataclass(record)
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


@cache
def _converters(cls: type) -> dict[str, Any]:
    """Per field, how to turn its JSON value back: `datetime` for dates, `tuple` for tuples, else None."""
    converters: dict[str, Any] = {}
    for name, hint in get_type_hints(cls).items():
        kinds = {hint, *get_args(hint)}
        if datetime in kinds:
            converters[name] = datetime.fromisoformat
        elif get_origin(hint) is tuple:
            converters[name] = tuple
        else:
            converters[name] = None
    return converters


def from_json(cls: type[T], data: dict) -> T:
    """The inverse of `to_json`; fields missing from `data` take their defaults."""
    converters = _converters(cls)
    values = {}
    for name, value in data.items():
        if name not in converters:
            continue
        convert = converters[name]
        values[name] = convert(value) if convert is not None and value is not None else value
    return cls(**values)
