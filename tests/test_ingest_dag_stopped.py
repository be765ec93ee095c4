"""The mediamon_ingest DAG when a stage stops the run on a configuration error: the task fails, and the run's record
says why. One `dag.test()` against the real node, in a fresh interpreter with an Airflow home of its own and
retries off (tests/airflow_runs.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from mediamon.dev.drill_site import drill_site
from mediamon.flows.batches import run_dir
from mediamon.flows.ingest_run import run_once
from mediamon.flows.run_report import STOPPED
from search.run_records import recent_runs
from tests.airflow_runs import dag_test, migrated_home


def airflow_env(home: Path, settings: Settings) -> dict[str, str]:
    """A migrated Airflow home of its own, and `settings` as the workers' `MEDIAMON_*` environment."""
    return migrated_home(
        home,
        MEDIAMON_ES_URL=settings.es_url,
        MEDIAMON_INDEX_PREFIX=settings.index_prefix,
        MEDIAMON_DATA_DIR=str(settings.data_dir),
        MEDIAMON_SEEDS_DIR=str(settings.seeds_dir),
        MEDIAMON_FEEDS_PATH=str(settings.feeds_path),
        MEDIAMON_ALLOW_HOSTS=json.dumps(settings.allow_hosts),
        MEDIAMON_HOST_MIN_INTERVAL="0",
        MEDIAMON_STREAM_BATCH_SIZE=str(settings.stream_batch_size),
    )


def test_a_configuration_error_in_the_spool_drain_fails_the_task_and_the_record_says_why(
    settings: Settings, es: Elasticsearch, tmp_path: Path
):
    seeds, feeds = tmp_path / "seeds", tmp_path / "feeds.yaml"
    up = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}dagstop-",
            "data_dir": tmp_path / "data",
            "host_min_interval": 0,
            "stream_batch_size": 2,
            "seeds_dir": seeds,
            "feeds_path": feeds,
        }
    )
    shutil.copytree(settings.seeds_dir, seeds)
    with drill_site() as site:
        site.listed = [1, 2, 3, 4]
        source = site.source()
        feeds.write_text(yaml.safe_dump({"sources": [source.model_dump(mode="json")]}), encoding="utf-8")
        first = run_once(up.model_copy(update={"max_entries_per_run": 2}), [source])
        assert first.spooled == 2  # the DAG run's drain loads the enricher for these
        (seeds / "timeline.yaml").write_text("landmarks: [unclosed\n", encoding="utf-8")
        run, _ = dag_test("mediamon_ingest", airflow_env(tmp_path / "airflow", up), timeout=600)
    assert run["run"] == "failed" and run["tasks"]["drain_spool"] == ["failed"], run
    assert run["tasks"]["record_run"] == ["success"], run

    record = {r["run_id"]: r for r in recent_runs(es, up, 10)}[run["run_id"]]
    assert record["error"].startswith("configuration error: ") and "timeline.yaml" in record["error"], record
    assert record["entries"] == 0 and record["reconciled"]
    assert not (run_dir(up, run["run_id"]) / STOPPED).exists()  # nothing of the run is spooled: its folder went
