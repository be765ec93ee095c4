"""What `mediamon runs` says of the runs that did not end plainly, on the real node: a run made while Elasticsearch
was away (its record waits in the spool with its articles), a run whose spool a later run drained (its duration
stays its own), a run that died, and a run stopped by a configuration error (its record says so, at once)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from mediamon.cli import app
from mediamon.cli.common import console
from mediamon.core.errors import ConfigError
from mediamon.core.settings import Settings, get_settings
from mediamon.core.urls import canonical_url
from mediamon.dev.drill_site import DrillSite, drill_site
from mediamon.flows.feed_polling import fetch_feeds, new_run_id, select_feeds
from mediamon.flows.ingest_run import run_once
from search.index_versions import articles_alias
from search.run_records import recent_runs

runner = CliRunner()
CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def site() -> Iterator[DrillSite]:
    with drill_site() as outlet:
        yield outlet


def local(settings: Settings, tmp_path: Path, name: str, **changes) -> Settings:
    """This test's settings: its own index prefix and data folder, no politeness wait."""
    update = {"index_prefix": f"{settings.index_prefix}{name}-", "data_dir": tmp_path / "data", "host_min_interval": 0}
    return settings.model_copy(update=update | changes)


def records_by_id(es: Elasticsearch, settings: Settings) -> dict[str, dict]:
    return {record["run_id"]: record for record in recent_runs(es, settings, 100)}


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def urls_indexed(es: Elasticsearch, settings: Settings) -> list[str]:
    alias = articles_alias(settings)
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"match_all": {}}, size=1000, source=["url"])["hits"]["hits"]
    return [hit["_source"]["url"] for hit in hits]


def runs_command(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str):
    """`mediamon runs ARGS` in this process, its settings (read from `MEDIAMON_*`) those of `settings`."""
    monkeypatch.setenv("MEDIAMON_ES_URL", settings.es_url)
    monkeypatch.setenv("MEDIAMON_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MEDIAMON_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(console, "width", 250)  # whole run ids and notes in the table
    get_settings.cache_clear()
    try:
        return runner.invoke(app, ["runs", *args])
    finally:
        get_settings.cache_clear()


def test_a_run_made_while_the_index_is_away_shows_at_once_and_once_after_the_drain(
    settings, es, site, tmp_path, monkeypatch
):
    up = local(settings, tmp_path, "away-shown")
    away = up.model_copy(update={"es_url": CLOSED_PORT})
    site.listed = [1, 2, 3]
    first = run_once(away, [site.source()])
    assert first.index_error and first.spooled == 3

    while_away = runs_command(monkeypatch, away, "--json")  # the index is still away: the spool is all there is
    assert while_away.exit_code == 1 and while_away.stderr == ""  # one JSON object: the runs, the error, its code
    shown = json.loads(while_away.stdout)
    assert shown.keys() == {"runs", "error", "code"} and shown["code"] == 1
    assert "127.0.0.1:9 is unreachable" in shown["error"] and shown["error"].endswith("wait in the spool are shown.")
    (waiting,) = shown["runs"]
    assert waiting["run_id"] == first.run_id and waiting["in_index"] is False
    assert (waiting["entries"], waiting["spooled"], waiting["indexed"], waiting["reconciled"]) == (3, 3, 0, True)
    table = runs_command(monkeypatch, away)
    assert table.exit_code == 1 and first.run_id in table.stdout and "not yet in the index" in table.stdout
    assert "127.0.0.1:9 is unreachable" in table.stderr

    back = runs_command(monkeypatch, up, "--json")  # the index is back, nothing drained yet
    assert back.exit_code == 0 and json.loads(back.stdout) == [waiting]

    second = run_once(up, [site.source()])
    assert second.drained == {"indexed": 3} and second.drained_runs == [first.run_id]
    shown = json.loads(runs_command(monkeypatch, up, "--json").stdout)
    assert [record["run_id"] for record in shown] == [second.run_id, first.run_id]  # each run once
    drained = shown[1]
    assert drained["in_index"] is True and (drained["indexed"], drained["spooled"]) == (3, 0)
    assert drained["drained_by"] == [second.run_id]
    assert sorted(urls_indexed(es, up)) == sorted(canonical_url(site.link(n)) for n in (1, 2, 3))


def test_a_drained_run_keeps_its_own_duration(settings, es, site, tmp_path):
    up = local(settings, tmp_path, "own-duration")
    away = up.model_copy(update={"es_url": CLOSED_PORT})
    site.listed = [1, 2]
    first = run_once(away, [site.source()])
    first_over = datetime.now(UTC)
    second = run_once(up, [site.source()])
    second_over = datetime.now(UTC)
    assert second.drained_runs == [first.run_id]
    record = records_by_id(es, up)[first.run_id]
    ended = moment(record["ended_at"])
    assert moment(record["started_at"]) < ended <= first_over  # its own end, not the drain's
    assert record["seconds_total"] == round((ended - moment(record["started_at"])).total_seconds(), 3)
    assert record["drained_by"] == [second.run_id]
    assert first_over < moment(record["indexed_at"]) <= second_over  # when the drain got its articles in
    assert record["indexed"] == 2 and record["spooled"] == 0 and record["reconciled"]


def test_a_run_that_died_ends_when_it_last_did_something(settings, es, site, tmp_path):
    up = local(settings, tmp_path, "died")
    site.listed = [1, 2]
    dead = new_run_id()  # polled its feed, then was killed before fetching anything: no record
    for batch in select_feeds(up, dead, [site.source()], every_feed=True, owner="cli"):
        fetch_feeds(up, dead, batch, conditional=False)
    died_by = datetime.now(UTC)
    later = run_once(up, [site.source()])
    assert later.drained_runs == [dead] and later.drained == {"indexed": 2}
    record = records_by_id(es, up)[dead]
    assert moment(record["ended_at"]) <= died_by  # when its folder last changed, not when the drain ended
    assert moment(record["indexed_at"]) > died_by
    assert record["drained_by"] == [later.run_id] and record["indexed"] == 2 and record["reconciled"]


def test_a_run_stopped_by_a_configuration_error_records_it_at_once_with_its_own_duration(settings, es, site, tmp_path):
    up = local(settings, tmp_path, "config-error", stream_batch_size=2)
    site.listed = [1, 2, 3, 4]
    first = run_once(up.model_copy(update={"max_entries_per_run": 2}), [site.source()])
    assert first.indexed == 2 and first.spooled == 2  # two entries wait in the spool, not yet fetched
    seeds = tmp_path / "seeds"
    shutil.copytree(up.seeds_dir, seeds)
    (seeds / "timeline.yaml").write_text("landmarks: [unclosed\n", encoding="utf-8")  # `run` checks no timeline
    broken = up.model_copy(update={"seeds_dir": seeds})
    begun = datetime.now(UTC)
    with pytest.raises(ConfigError, match="timeline.yaml"):
        run_once(broken, [site.source()])  # stops as it drains the spool: the enricher cannot load
    stopped_at = datetime.now(UTC)

    (stopped,) = [r for r in records_by_id(es, up).values() if r["run_id"] != first.run_id]
    assert "timeline.yaml" in stopped["error"] and stopped["entries"] == 0 and stopped["feeds_total"] == 0
    assert begun <= moment(stopped["started_at"]) <= moment(stopped["ended_at"]) <= stopped_at

    third = run_once(up, [site.source()])  # the timeline is fixed: the spool is drained, the stopped run left be
    assert third.drained_runs == [first.run_id] and third.drained == {"indexed": 2}
    records = records_by_id(es, up)
    assert records[stopped["run_id"]] == stopped
    assert records[first.run_id]["indexed"] == 4 and records[first.run_id]["spooled"] == 0
    assert sorted(urls_indexed(es, up)) == sorted(canonical_url(site.link(n)) for n in range(1, 5))


def test_a_run_not_closed_yet_shows_what_it_did_so_far_running_then_stopped(settings, es, site, tmp_path, monkeypatch):
    import subprocess
    import sys

    from mediamon.flows.batches import read_json, run_dir, write_json

    up = local(settings, tmp_path, "open")
    site.listed = [1, 2]
    begun = new_run_id()  # a `mediamon run` of this process, its feed polled, nothing fetched yet
    for batch in select_feeds(up, begun, [site.source()], every_feed=True, owner="cli"):
        fetch_feeds(up, begun, batch, conditional=False)

    (running,) = json.loads(runs_command(monkeypatch, up, "--json").stdout)
    assert (running["run_id"], running["state"], running["in_index"]) == (begun, "running", False)
    assert (running["entries"], running["spooled"], running["ended_at"], running["reconciled"]) == (2, 2, None, True)
    assert "running now" in runs_command(monkeypatch, up).stdout

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run_file = run_dir(up, begun) / "run.json"
    write_json(run_file, read_json(run_file) | {"pid": int(gone.stdout)})  # its process ended, as a kill leaves it
    (stopped,) = json.loads(runs_command(monkeypatch, up, "--json").stdout)
    assert stopped == running | {"state": "stopped"}
    assert "stopped before its end: the next run finishes its entries" in runs_command(monkeypatch, up).stdout

    later = run_once(up, [site.source()])
    assert later.drained_runs == [begun]
    shown = {record["run_id"]: record for record in json.loads(runs_command(monkeypatch, up, "--json").stdout)}
    assert shown.keys() == {begun, later.run_id}  # each once, from the index now
    assert "state" not in shown[begun] and shown[begun]["in_index"] and shown[begun]["indexed"] == 2
