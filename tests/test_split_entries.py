"""`run_once` streams the new entries in batches where hosts take turns (`split_entries`)."""

from __future__ import annotations

from pathlib import Path

from mediamon.core.settings import Settings
from mediamon.flows.batches import batch_path, read_jsonl, run_dir, write_jsonl
from mediamon.flows.ingest_run import split_entries


def _entries(host: str, count: int) -> list[dict]:
    return [{"url": f"https://{host}/a{n}.html", "title": f"{host} {n}"} for n in range(count)]


def test_batches_keep_every_entry_once_with_hosts_taking_turns(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    folder = run_dir(settings, "run")
    first, second = batch_path(folder, "entries", 0), batch_path(folder, "entries", 1)
    write_jsonl(first, _entries("a.example", 5) + _entries("b.example", 1))
    write_jsonl(second, _entries("c.example", 2))

    paths = split_entries(settings, "run", [str(first), str(second)], size=3)

    batches = [[row["url"].split("/")[2] for row in read_jsonl(Path(p))] for p in paths]
    assert batches == [
        ["a.example", "b.example", "c.example"],
        ["a.example", "c.example", "a.example"],
        ["a.example"] * 2,
    ]
    urls = [row["url"] for p in paths for row in read_jsonl(Path(p))]
    assert sorted(urls) == sorted(
        e["url"] for e in _entries("a.example", 5) + _entries("b.example", 1) + _entries("c.example", 2)
    )


def test_no_entries_make_no_batches(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    empty = batch_path(run_dir(settings, "run"), "entries", 0)
    write_jsonl(empty, [])
    assert split_entries(settings, "run", [str(empty)], size=256) == []
