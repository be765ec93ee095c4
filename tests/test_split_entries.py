"""A run's new entries are cut into chunks where hosts take turns (`plan_chunks`), once each, within a budget."""

from __future__ import annotations

from pathlib import Path

from mediamon.core.runs import DuplicateRule, EntryOutcome, Outcome
from mediamon.core.settings import Settings
from mediamon.flows.batches import batch_path, read_jsonl, run_dir, write_jsonl
from mediamon.flows.feed_polling import plan_chunks


def _entries(host: str, count: int) -> list[dict]:
    return [
        {"url": f"https://{host}/a{n}.html", "feed_url": f"https://{host}/rss", "title": f"{host} {n}"}
        for n in range(count)
    ]


def test_chunks_keep_every_entry_once_with_hosts_taking_turns(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, stream_batch_size=3)
    folder = run_dir(settings, "run")
    first, second = batch_path(folder, "entries", 0), batch_path(folder, "entries", 1)
    write_jsonl(first, _entries("a.example", 5) + _entries("b.example", 1))
    write_jsonl(second, _entries("c.example", 2) + _entries("a.example", 1))  # a.example/a0 in two feed batches

    paths = plan_chunks(settings, "run")

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
    repeated = [EntryOutcome.from_json(row) for row in read_jsonl(batch_path(folder, "outcomes-plan", 0))]
    assert [(o.url, o.outcome, o.rule) for o in repeated] == [
        ("https://a.example/a0.html", Outcome.DUPLICATE, DuplicateRule.LISTED_TWICE)
    ]
    assert plan_chunks(settings, "run") == paths  # planned once: asking again gives the same chunks


def test_the_first_chunks_are_smaller_so_enrichment_starts_soon(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, stream_batch_size=8)
    write_jsonl(batch_path(run_dir(settings, "run"), "entries", 0), _entries("a.example", 20))
    paths = plan_chunks(settings, "run", first=2)
    assert [len(list(read_jsonl(Path(p)))) for p in paths] == [2, 4, 8, 6]
    urls = [row["url"] for p in paths for row in read_jsonl(Path(p))]
    assert urls == [e["url"] for e in _entries("a.example", 20)]


def test_a_budget_leaves_the_later_chunks_in_the_spool(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, stream_batch_size=3)
    write_jsonl(batch_path(run_dir(settings, "run"), "entries", 0), _entries("a.example", 8))
    now = plan_chunks(settings, "run", budget=5)
    assert [len(list(read_jsonl(Path(p)))) for p in now] == [3]
    assert len(plan_chunks(settings, "run", budget=6)) == 2 and len(plan_chunks(settings, "run")) == 3


def test_no_entries_make_no_chunks(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    write_jsonl(batch_path(run_dir(settings, "run"), "entries", 0), [])
    assert plan_chunks(settings, "run") == []
