"""What a person meets through the real `mediamon` command (a subprocess): every expected failure is one line naming
the problem and the fix, with exit code 1 (run time) or 2 (usage, configuration), no traceback, and a JSON object
on stdout with --json; partial success exits 3; nothing is read as rich markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediamon.core.settings import Settings
from tests.http_fixtures import LocalServer, Reply

SEED = "belarus-2020-09"
SEEDS = "belarus-2020-09, karabakh-2020-09"


@pytest.fixture
def mediamon(settings: Settings, tmp_path: Path):
    """Run `mediamon ARGS` with this test's prefix and data folder; returns (exit code, stdout, stderr)."""

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        variables = os.environ | {
            "MEDIAMON_INDEX_PREFIX": f"{settings.index_prefix}msg-",
            "MEDIAMON_DATA_DIR": str(tmp_path / "data"),
            "HF_HUB_OFFLINE": "1",
            "COLUMNS": "200",
            **env,
        }
        command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", *args]
        done = subprocess.run(command, env=variables, capture_output=True, text=True, timeout=600)
        return done.returncode, done.stdout, done.stderr

    return run


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_an_unknown_seed_names_the_known_ones(mediamon):
    code, out, err = mediamon("similar", "--seed", "nope")
    assert code == 2 and out == ""
    assert one_line(err) == f"error: unknown seed 'nope'; the seeds are: {SEEDS} (`mediamon seeds list`)"
    code, out, err = mediamon("similar", "--seed", "nope", "--json")
    assert code == 2 and err == ""
    assert json.loads(out) == {
        "error": f"unknown seed 'nope'; the seeds are: {SEEDS} (`mediamon seeds list`)",
        "code": 2,
    }


def test_similar_before_anything_was_indexed_says_what_to_run(mediamon, es):
    code, _, err = mediamon("similar", "--seed", SEED)
    assert code == 1
    line = one_line(err)
    assert line.startswith("error: no such index") and "`mediamon run`" in line


def test_an_unreachable_index_is_one_line_and_json_with_json(mediamon, tmp_path):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("sources:\n  - {id: gone, name: Gone, feeds: ['http://127.0.0.1:9/rss']}\n", encoding="utf-8")
    away = {"MEDIAMON_ES_URL": "http://127.0.0.1:9", "MEDIAMON_ALLOW_HOSTS": '["127.0.0.1"]'}
    code, out, err = mediamon("runs", **away)
    assert code == 1 and "Elasticsearch at http://127.0.0.1:9 is unreachable (" in one_line(err)
    assert "Connection refused)" in err and "NewConnectionError" not in err  # the reason, not the client's nesting
    assert "mediamon es up" in err
    code, out, err = mediamon("run", "--feeds", str(feeds), "--json", **away)
    assert code == 1 and "Traceback" not in err
    report = json.loads(out)
    assert report["code"] == 1 and "127.0.0.1:9" in report["error"] and report["entries"] == 0


def test_a_run_that_reads_no_feed_at_all_fails_in_one_line(mediamon, es, tmp_path):
    feeds = tmp_path / "feeds.yaml"
    listed = "['http://127.0.0.1:9/rss', 'http://127.0.0.1:9/atom']"
    feeds.write_text(f"sources:\n  - {{id: gone, name: Gone, feeds: {listed}}}\n", encoding="utf-8")
    local = {"MEDIAMON_ALLOW_HOSTS": '["127.0.0.1"]', "MEDIAMON_HTTP_RETRIES": "0"}
    code, out, err = mediamon("run", "--feeds", str(feeds), **local)
    assert code == 1 and "feeds {'connect_error': 2}" in out
    assert one_line(err).startswith("error: no feed could be read (2 connect_error): check the network")
    code, out, err = mediamon("run", "--feeds", str(feeds), "--json", **local)
    assert code == 1 and err == "" and json.loads(out)["error"].startswith("no feed could be read")


def test_a_run_with_bad_feed_entries_exits_3_and_its_json_stays_one_object(mediamon, es, tmp_path):
    site = LocalServer()
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title><item><title>Minsk</title>'
        b"<link>http://127.0.0.1:9/minsk.html</link><pubDate>Sun, 16 Aug 2020 10:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    site.route("/feed.xml", Reply(200, rss, {"Content-Type": "application/rss+xml"}))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"sources:\n  - {{id: quiet, name: Quiet, feeds: ['{site.url('/feed.xml')}']}}\n"
        "  - {id: bad, name: Bad, feeds: ['http://127.0.0.1:9/rss'], language: english}\n",
        encoding="utf-8",
    )
    try:
        code, out, _ = mediamon("run", "--feeds", str(feeds), "--json", MEDIAMON_ALLOW_HOSTS='["127.0.0.1"]')
    finally:
        site.close()
    assert code == 3
    report = json.loads(out)
    assert report["feeds"] == {"ok": 1} and report["entries"] == 1 and len(report["source_errors"]) == 1


@pytest.mark.parametrize(("content", "problem"), [(None, "cannot read"), ("sources: [unclosed", "cannot read")])
def test_a_missing_or_broken_feeds_file_is_a_configuration_error(mediamon, tmp_path, content, problem):
    feeds = tmp_path / "feeds.yaml"
    if content is not None:
        feeds.write_text(content, encoding="utf-8")
    code, out, err = mediamon("run", "--feeds", str(feeds))
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("configuration error: no feed to poll") and str(feeds) in line and problem in line


def test_an_import_with_bad_lines_exits_3_and_shows_brackets_as_they_are(mediamon, es, tmp_path):
    lines = [
        {"url": "https://archive.example/1", "title": "Lukashenko and Putin meet in Sochi", "body": "Talks. " * 30},
        {"url": "https://archive.example/2", "title": "A bad language", "body": "Text. " * 30, "lang": "Dutch"},
        "not json at all",
    ]
    path = tmp_path / "archive.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines), encoding="utf-8")
    code, out, err = mediamon("import", str(path))
    assert code == 3 and "Traceback" not in err
    assert "[yellow]" not in out and "skipped " in out
    assert "^[a-z]{2}$" in out  # the pattern's brackets survive: nothing is read as markup
    assert f"{path}:3:" in out and "2 of 3 lines were not imported (exit code 3)" in out
    code, out, _ = mediamon("import", str(path), "--json")
    assert code == 3 and json.loads(out)["indexed"] == 0 and len(json.loads(out)["errors"]) == 2


def test_an_import_names_the_lines_it_took_undated_and_a_file_of_bad_lines_is_a_usage_error(mediamon, es, tmp_path):
    line = {"url": "https://archive.example/9", "title": "Minsk", "body": "Text. " * 30, "published": "14/09/2020"}
    path = tmp_path / "dated.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    code, out, _ = mediamon("import", str(path))
    assert code == 0 and "read 1, indexed 1" in out
    assert f"imported undated {path}:1: published '14/09/2020' is not a date (ISO 8601 or Unix seconds)" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{}\n", encoding="utf-8")
    code, out, err = mediamon("import", str(bad))
    assert code == 2 and f"{bad}:2:" in out
    assert one_line(err) == f"error: no line of {bad} could be imported (2 bad lines, named above)"


def test_an_unknown_subscription_is_a_usage_error(mediamon, es):
    code, _, err = mediamon("alerts", "run", "--subscription", "nope", "--dry-run")
    assert code == 2 and "no valid subscription nope" in one_line(err)


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("ES_URL", "127.0.0.1:9200", "MEDIAMON_ES_URL: '127.0.0.1:9200' is no cluster address; give one like http"),
        ("ALLOW_HOSTS", "127.0.0.1", "MEDIAMON_ALLOW_HOSTS cannot be read: a list or mapping is written as JSON"),
        ("ES_CA_CERT", "ca.pem", "MEDIAMON_ES_CA_CERT is for a cluster on https://, and MEDIAMON_ES_URL is http://"),
        ("HTTP_TIMEOUT", "0", "MEDIAMON_HTTP_TIMEOUT: Input should be greater than 0"),
        ("COSINE_BOUNDS", "[0.9, 0.1]", "MEDIAMON_COSINE_BOUNDS: the floor 0.9 must be below the ceiling 0.1"),
        ("MATCH_POINT", "5", "MEDIAMON_MATCH_POINT: Input should be less than 1"),
        ("DATA_DIR", str(Path(__file__)), f"MEDIAMON_DATA_DIR: {Path(__file__)} is a file; give a folder"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable(mediamon, variable, value, said):
    code, out, err = mediamon("search", "Lukashenko", **{f"MEDIAMON_{variable}": value})
    assert code == 2 and out == ""
    assert one_line(err).startswith(f"configuration error: {said}")


def test_an_unknown_variable_is_a_warning_naming_the_setting_it_resembles(mediamon):
    code, out, err = mediamon("seeds", "list", MEDIAMON_INDEX_PREFX="prod-")
    assert code == 0 and SEED in out
    assert one_line(err) == (
        "warning: MEDIAMON_INDEX_PREFX is no mediamon setting and is ignored (did you mean MEDIAMON_INDEX_PREFIX?)"
    )


def test_a_dotenv_that_is_no_utf8_is_one_line_naming_its_line(tmp_path):
    (tmp_path / ".env").write_bytes(b"MEDIAMON_HTTP_TIMEOUT=5\nMEDIAMON_INDEX_PREFIX=caf\xe9-\n")
    command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", "seeds", "list"]
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        f"configuration error: {tmp_path / '.env'}:2: not UTF-8 text (invalid continuation byte); save it as UTF-8"
    )


def test_a_page_that_is_no_html_extracts_as_empty_without_the_libraries_log_lines(mediamon, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(bytes(range(256)) * 8)
    code, out, err = mediamon("extract", str(page))
    assert code == 0 and "extraction_status: empty" in out and err == ""


def test_a_page_over_the_size_the_pipeline_reads_is_not_extracted(mediamon, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>" + b"word " * 400 + b"</p>")
    code, out, err = mediamon("extract", str(page), MEDIAMON_MAX_PAGE_BYTES="1000")
    assert code == 2 and out == ""
    assert one_line(err) == (
        f"error: {page} has 2,007 bytes: the pipeline does not read a page over 1,000 (MEDIAMON_MAX_PAGE_BYTES; it"
        " counts as too_large)"
    )


def test_a_table_piped_to_another_program_keeps_its_cells_whole(tmp_path):
    feed = "http://127.0.0.1:9/a/feed/address/long/enough/to/be/cut/in/a/table/of/eighty/columns.xml"
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"sources:\n  - {{id: local, name: Зеркало, feeds: ['{feed}']}}\n", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", "feeds", "list"]
    done = subprocess.run([*command, "--feeds", str(feeds)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "│ local │ Зеркало " in done.stdout and feed in done.stdout


def test_debug_0_in_the_environment_means_no_debug(mediamon):
    code, _, err = mediamon("similar", "--seed", "nope", MEDIAMON_DEBUG="0")
    assert code == 2 and one_line(err).startswith("error: unknown seed 'nope'")


def test_debug_shows_the_traceback(mediamon):
    code, _, err = mediamon("--debug", "similar", "--seed", "nope")
    assert code == 1 and "Traceback" in err and "UnknownSeed" in err


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path, as_json):
    """`mediamon … | head -1`: exit code 0 and nothing on stderr, whether the reader leaves while the command is
    still writing (more than a pipe holds) or before it wrote anything."""
    sources = [{"id": f"s{n}", "name": f"Source {n}", "feeds": [f"https://s{n}.example/rss"]} for n in range(2000)]
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(json.dumps({"sources": sources}), encoding="utf-8")  # JSON is YAML
    command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", "feeds", "list", *as_json]
    reading = subprocess.Popen([*command, "--feeds", str(feeds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reading.stdout.readline()
    reading.stdout.close()
    assert (reading.wait(timeout=120), reading.stderr.read()) == (0, b"")
    reading.stderr.close()
    gone, closed = os.pipe()
    os.close(gone)
    try:
        done = subprocess.run(command, stdout=closed, stderr=subprocess.PIPE, timeout=120)  # the shipped feed list
    finally:
        os.close(closed)
    assert (done.returncode, done.stderr) == (0, b"")
