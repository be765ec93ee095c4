"""`mediamon export` on the real local node: more than 10,000 small articles of our own, every one exactly once, in
both formats, through the real entry point; the point in time is closed even when the reader stops."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch, NotFoundError

from mediamon.core.settings import PROJECT_ROOT, Settings
from search.export import Selection, csv_cell, export_fields, write_articles
from search.index_versions import ensure_articles_index
from search.pit import pit_pages
from search.query import SearchError, SearchFilters
from search.write import bulk_create

SEED = "belarus-2020-09"
TOTAL = 12_000
LANGUAGES = ("en", "de", "nl", "ru")
START = datetime(2020, 1, 1, tzinfo=UTC)


def scored(i: int) -> bool:
    return i % 7 != 0


def document(i: int) -> dict:
    """A small article: no text to speak of, no vector (the mapping does not demand one); many share a score."""
    score = round((i % 100) / 100, 2)
    doc = {
        "url": f"https://news.example/{i}",
        "title": f"Story {i}" + (" about Lukashenko" if i % 3 == 0 else ""),
        "outlet": f"outlet-{i % 5}",
        "language": LANGUAGES[i % 4],
        "published_at": None if i % 50 == 0 else (START + timedelta(minutes=i)).isoformat(),
        "topics": ["belarus", "belarus.russia"] if i % 2 else [],
        "matched_seeds": [SEED] if scored(i) and score >= 0.5 else [],
    }
    if scored(i):
        doc["seed_similarity"] = {SEED: score}
        doc["seed_reasons"] = {SEED: {"score": score, "entities": ["lukashenko"], "embedding_used": True}}
    return doc


@pytest.fixture(scope="module")
def export_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"index_prefix": settings.index_prefix + "export-"})


@pytest.fixture(scope="module")
def index(es: Elasticsearch, export_settings: Settings) -> str:
    alias = ensure_articles_index(es, export_settings, 384, "test-model")
    report = bulk_create(es, alias, ((f"a{i:05d}", document(i)) for i in range(TOTAL)), chunk_size=2000)
    assert report.created == TOTAL and not report.failed
    es.indices.refresh(index=alias)
    return alias


def mediamon(prefix: str, *args: str) -> subprocess.CompletedProcess:
    """The real `mediamon` entry point in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MEDIAMON_INDEX_PREFIX": prefix}
    script = "from mediamon.cli import entry_point; entry_point()"
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300
    )


def rows_of(text: str, fmt: str) -> list[dict]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_article_scored_for_a_seed_exactly_once_best_first(index, export_settings, tmp_path, fmt):
    output = tmp_path / f"seed.{fmt}"
    done = mediamon(export_settings.index_prefix, "export", "--seed", SEED, "--format", fmt, "--output", str(output))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = rows_of(output.read_text(encoding="utf-8"), fmt)
    expected = {f"a{i:05d}" for i in range(TOTAL) if scored(i)}
    assert len(expected) > 10_000
    assert len(rows) == len(expected) and {row["id"] for row in rows} == expected
    assert f"{len(expected)} articles written" in done.stdout
    relevance = [float(row["relevance"]) for row in rows]
    assert relevance == sorted(relevance, reverse=True) and relevance[0] == 0.99
    first = rows[0]
    assert list(first) == ["id", "url", "title", "outlet", "published_at", "language", "relevance",
                           "matched_seeds", "topics", "entities", "source_id", "affiliation", "country", "access",
                           "dup_group"]  # fmt: skip
    matched = json.loads(first["matched_seeds"]) if fmt == "csv" else first["matched_seeds"]
    assert matched == [SEED]
    assert not list(tmp_path.glob(".*.part"))  # the file was written under a temporary name, then renamed


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_article_a_query_matches_exactly_once_newest_first_to_standard_output(index, export_settings, fmt):
    done = mediamon(export_settings.index_prefix, "export", "--query", "story", "--format", fmt)
    assert done.returncode == 0, done.stderr
    rows = rows_of(done.stdout, fmt)
    assert len(rows) == TOTAL and {row["id"] for row in rows} == {f"a{i:05d}" for i in range(TOTAL)}
    assert "relevance" not in rows[0]  # a seed's field only with --seed
    dates = [row["published_at"] for row in rows]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True) and dates[: len(dated)] == dated  # the undated last
    assert len(dates) - len(dated) == TOTAL // 50


def test_the_filters_and_syntax_of_search_apply(index, export_settings):
    done = mediamon(
        export_settings.index_prefix, "export", "--query", "lukashenko AND NOT title:3012", "--lang", "en",
        "--since", "2020-01-02", "--format", "jsonl", "--fields", "id,language,title",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = rows_of(done.stdout, "jsonl")
    expected = {
        f"a{i:05d}"
        for i in range(TOTAL)
        if i % 3 == 0 and i % 4 == 0 and i % 50 and i >= 24 * 60 and i != 3012  # 2020-01-02 is 1,440 minutes on
    }
    assert {row["id"] for row in rows} == expected and len(rows) == len(expected)
    assert all(list(row) == ["id", "language", "title"] and row["language"] == "en" for row in rows)


def test_fields_are_honoured_and_nested_values_are_json_in_csv(index, export_settings, tmp_path):
    output = tmp_path / "few.csv"
    done = mediamon(
        export_settings.index_prefix, "export", "--seed", SEED, "--outlet", "outlet-1", "--format", "csv",
        "--fields", "id,relevance,reasons,topics,published_at", "--output", str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = output.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "id,relevance,reasons,topics,published_at"
    rows = rows_of(text, "csv")
    assert len(rows) == sum(1 for i in range(TOTAL) if scored(i) and i % 5 == 1)
    row = next(row for row in rows if row["id"] == "a00081")
    assert row["relevance"] == "0.81" and json.loads(row["topics"]) == ["belarus", "belarus.russia"]
    assert json.loads(row["reasons"]) == {"score": 0.81, "entities": ["lukashenko"], "embedding_used": True}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--seed", SEED, "--fields", "id,colour"], "unknown field 'colour'"),
        (["--query", "*", "--fields", "id,relevance"], "the field 'relevance' is a seed's"),
        (["--query", "*", "--seed", SEED], "exactly one of --seed and --query"),
        (["--seed", "nope"], "unknown seed 'nope'; the seeds are: belarus-2020-09"),
        (["--query", "title:(Putin"], "Failed to parse query"),  # refused by Elasticsearch
    ],
)
def test_a_bad_request_is_one_line_on_stderr_and_exit_code_2(index, export_settings, args, said):
    done = mediamon(export_settings.index_prefix, "export", *args, "--format", "csv")
    assert done.returncode == 2 and done.stdout == ""  # nothing written, not even the header
    assert said in done.stderr and done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1


def test_a_symbolic_link_and_a_named_pipe_are_written_through_not_replaced(index, export_settings, tmp_path):
    target, link, pipe = tmp_path / "target.jsonl", tmp_path / "link.jsonl", tmp_path / "pipe.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link.symlink_to(target)
    args = ("export", "--query", "Lukashenko", "--format", "jsonl", "-o")
    done = mediamon(export_settings.index_prefix, *args, str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and len(rows_of(target.read_text(encoding="utf-8"), "jsonl")) == TOTAL // 3
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    done = mediamon(export_settings.index_prefix, *args, str(pipe))
    reader.join(60)
    assert done.returncode == 0, done.stderr
    assert pipe.is_fifo() and len(rows_of(received[0], "jsonl")) == TOTAL // 3


def test_a_missing_folder_is_named_before_anything_is_asked(export_settings, tmp_path):
    output = tmp_path / "nowhere" / "out.csv"
    done = mediamon(export_settings.index_prefix, "export", "--query", "*", "--format", "csv", "-o", str(output))
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr
        == f"error: cannot write {output}: there is no folder {output.parent}; create it or write elsewhere\n"
    )


def test_a_missing_index_says_what_to_run(export_settings):
    done = mediamon(export_settings.index_prefix + "none-", "export", "--query", "*", "--format", "csv")
    assert done.returncode == 1 and done.stdout == ""
    assert "nothing has been indexed under this prefix yet" in done.stderr


def test_the_point_in_time_is_closed_at_the_end_and_when_the_reader_stops(es, index):
    query = {"match_all": {}}
    pages = pit_pages(es, index, query, page_size=500, source=False)
    seen = [hit["_id"] for page in pages for hit in page.hits]
    assert len(seen) == len(set(seen)) == TOTAL

    with closing(pit_pages(es, index, query, page_size=500, source=False)) as pages:
        first = next(pages)
        reply = es.search(pit={"id": first.pit_id}, size=0, track_total_hits=True)  # open while being read
        assert reply["hits"]["total"]["value"] == TOTAL
        with pytest.raises(RuntimeError):  # the reader fails half way
            for _ in pages:
                raise RuntimeError("the disk is full")
    with pytest.raises(NotFoundError):
        es.search(pit={"id": first.pit_id}, size=0)


def test_a_refused_query_is_a_search_error_before_anything_is_written(es, index):
    out = io.StringIO()
    with pytest.raises(SearchError, match="Failed to parse query"):
        write_articles(es, index, Selection(query="title:(Putin"), ("id",), "csv", out)
    assert out.getvalue() == ""
    selection = Selection(query="nothing-like-this", filters=SearchFilters(lang=("en",)))
    assert write_articles(es, index, selection, ("id", "title"), "csv", out) == 0
    assert out.getvalue().splitlines() == ["id,title"]  # no article: the header alone


def test_csv_cells_and_default_fields():
    assert [csv_cell(v) for v in (None, "a", 0.5, 3, True, ["x", "é"], {"k": [1]})] == [
        "", "a", "0.5", "3", "true", '["x", "é"]', '{"k": [1]}',
    ]  # fmt: skip
    assert "relevance" in export_fields(None, SEED) and "relevance" not in export_fields(None, None)
    assert export_fields(["id", " title", "id", ""], None) == ("id", "title")
