"""`mediamon feeds list | check | status` and `mediamon runs` against a local server and the real ES."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml
from typer.testing import CliRunner

from ingest.sources import Source
from mediamon.cli import app
from mediamon.cli.common import console
from mediamon.core.settings import Settings, get_settings
from mediamon.flows.feed_polling import fetch_feeds, new_run_id, select_feeds, update_feed_states
from mediamon.flows.run_report import finish_run
from search.index_versions import ensure_articles_index
from tests.http_fixtures import LocalServer, Reply

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>'
    b"<item><title>One</title><link>https://local.example/1</link>"
    b"<pubDate>Sun, 01 Mar 2026 10:00:00 GMT</pubDate></item>"
    b"<item><title>Two</title><link>https://local.example/2</link></item></channel></rss>"
)
runner = CliRunner()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.route("/feed.xml", Reply(200, RSS, {"Content-Type": "application/rss+xml"}))
    yield local
    local.close()


@pytest.fixture
def cli_env(settings: Settings, tmp_path, monkeypatch) -> Iterator[Settings]:
    """The CLI's settings come from the environment: point them at this test's prefix and folder."""
    monkeypatch.setenv("MEDIAMON_INDEX_PREFIX", f"{settings.index_prefix}cli-")
    monkeypatch.setenv("MEDIAMON_ALLOW_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("MEDIAMON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEDIAMON_HOST_MIN_INTERVAL", "0")
    monkeypatch.setattr(console, "width", 200)  # tables wide enough to hold whole URLs and run ids
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def write_feeds(path, sources: list[dict]) -> str:
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    return str(path)


def test_feeds_list_shows_sources_and_reports_bad_entries_with_file_and_line(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: good, name: Good, feeds: ['https://good.example/rss'], poll_minutes: 15}\n"
        "  - id: Bad Id\n"
        "    name: Bad\n"
        "    feeds: []\n",
        encoding="utf-8",
    )
    feeds = str(path)
    result = runner.invoke(app, ["feeds", "list", "--feeds", feeds, "--json"])
    assert result.exit_code == 3  # partial, as `run` with the same file
    listed = json.loads(result.stdout)
    assert [(s["id"], s["feeds"], s["poll_minutes"]) for s in listed["sources"]] == [
        ("good", ["https://good.example/rss"], 15)
    ]
    assert listed["errors"] and listed["errors"][0].startswith(f"{feeds}:3: id: ")


def test_feeds_list_of_only_bad_entries_is_a_configuration_error(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("sources:\n  - {id: Bad Id, name: Bad, feeds: []}\n", encoding="utf-8")
    result = runner.invoke(app, ["feeds", "list", "--feeds", str(path)])
    assert result.exit_code == 2
    assert f"bad source entry {path}:2: " in " ".join(result.stdout.split())


def test_a_feed_listed_twice_is_named_with_the_source_it_is_polled_for(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: first, name: First, feeds: ['https://wire.example/rss', 'https://wire.example/rss']}\n"
        "  - {id: second, name: Second, feeds: ['https://wire.example/rss', 'https://second.example/rss']}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["feeds", "list", "--feeds", str(path)])
    assert result.exit_code == 0
    assert (
        "warning: https://wire.example/rss is listed by first, second: it is polled once, its articles are first's"
    ) in " ".join(result.stderr.split())
    listed = json.loads(runner.invoke(app, ["feeds", "list", "--feeds", str(path), "--json"]).stdout)
    assert listed["warnings"] == [
        "https://wire.example/rss is listed by first, second: it is polled once, its articles are first's"
    ]


def test_feeds_check_fetches_every_feed_once_and_stores_nothing(server, cli_env, tmp_path, es):
    feeds = write_feeds(
        tmp_path / "feeds.yaml",
        [
            {"id": "local", "name": "Local", "feeds": [server.url("/feed.xml")]},
            {"id": "gone", "name": "Gone", "feeds": [server.url("/gone.xml")]},
        ],
    )
    result = runner.invoke(app, ["feeds", "check", "--feeds", feeds, "--json"])
    assert result.exit_code == 1  # one feed fails
    rows = {row["source"]: row for row in json.loads(result.stdout)}
    assert (rows["local"]["status"], rows["local"]["entries"]) == ("ok", 2)
    assert rows["local"]["newest"].startswith("2026-03-01T10:00")
    assert (rows["gone"]["status"], rows["gone"]["http"]) == ("http_4xx", 404)
    assert not es.indices.exists_alias(name=cli_env.index_name("mediamon-feeds"))

    only = runner.invoke(app, ["feeds", "check", "--feeds", feeds, "--source", "local", "--json"])
    assert only.exit_code == 0 and [row["source"] for row in json.loads(only.stdout)] == ["local"]


def test_feeds_status_and_runs_show_what_the_runs_recorded(server, cli_env, es):
    sources = [
        Source(id="local", name="Local", feeds=[server.url("/feed.xml")]),
        Source(id="gone", name="Gone", feeds=[server.url("/gone.xml")]),
    ]
    run_id = new_run_id()
    for batch in select_feeds(cli_env, run_id, sources):
        fetch_feeds(cli_env, run_id, batch)
    update_feed_states(cli_env, run_id)
    finish_run(cli_env, run_id)

    status = runner.invoke(app, ["feeds", "status", "--json"])
    assert status.exit_code == 0
    states = json.loads(status.stdout)
    assert [(s["source_id"], s["status"], s["consecutive_failures"]) for s in states] == [
        ("gone", "http_4xx", 1),  # failing feeds first
        ("local", "ok", 0),
    ]
    failing = runner.invoke(app, ["feeds", "status", "--failing", "--json"])
    assert [s["source_id"] for s in json.loads(failing.stdout)] == ["gone"]
    table = runner.invoke(app, ["feeds", "status"])
    assert "http_4xx" in table.stdout and "1 failing" in table.stdout

    runs = runner.invoke(app, ["runs", "--json"])
    assert runs.exit_code == 0
    (record,) = json.loads(runs.stdout)
    assert record["run_id"] == run_id and record["feeds"] == {"ok": 1, "http_4xx": 1} and record["entries"] == 2
    table = runner.invoke(app, ["runs"])
    assert run_id in table.stdout and "http_4xx 1" in table.stdout


def test_feeds_extraction_bounds_its_window(cli_env, es):
    ensure_articles_index(es, cli_env, 384, "test-model")
    result = runner.invoke(app, ["feeds", "extraction", "--days", "99999999"])
    assert result.exit_code == 2 and "less than or equal to 36500" in result.output
    assert "OverflowError" not in result.output
    result = runner.invoke(app, ["feeds", "extraction", "--days", "36500"])
    assert result.exit_code == 0, result.output
    assert f"no article fetched in the last 73000 days under the index prefix '{cli_env.index_prefix}'" in " ".join(
        result.output.split()
    )
