"""The mediamon_ingest DAG when a stage stops the run on a configuration error: the task fails, and the run's record
says why. One `dag.test()` against the real node, in a fresh interpreter with an Airflow home of its own (as in
tests/test_alerts_dag.py), retries off so the failing task shows at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch

from mediamon.core.settings import PROJECT_ROOT, Settings
from mediamon.dev.drill_site import drill_site
from mediamon.flows.batches import run_dir
from mediamon.flows.ingest_run import run_once
from mediamon.flows.run_report import STOPPED
from search.run_records import recent_runs

DAGS = PROJECT_ROOT / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"
SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).dags["mediamon_ingest"]
for task in dag.tasks:
    task.retries = 0
run = dag.test()
tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances() if ti.map_index < 0}
print(json.dumps({"run": str(run.state), "run_id": run.run_id, "tasks": tasks}))
"""


def airflow_env(home: Path, settings: Settings) -> dict[str, str]:
    """A migrated Airflow home of its own, and `settings` as the workers' `MEDIAMON_*` environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "MEDIAMON_"))}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "MEDIAMON_MODELS_DIR": os.environ["MEDIAMON_MODELS_DIR"],
        "MEDIAMON_ES_URL": settings.es_url,
        "MEDIAMON_INDEX_PREFIX": settings.index_prefix,
        "MEDIAMON_DATA_DIR": str(settings.data_dir),
        "MEDIAMON_SEEDS_DIR": str(settings.seeds_dir),
        "MEDIAMON_FEEDS_PATH": str(settings.feeds_path),
        "MEDIAMON_ALLOW_HOSTS": json.dumps(settings.allow_hosts),
        "MEDIAMON_HOST_MIN_INTERVAL": "0",
        "MEDIAMON_STREAM_BATCH_SIZE": str(settings.stream_batch_size),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=env)
    return env


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
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(DAGS)],
            capture_output=True,
            text=True,
            env=airflow_env(tmp_path / "airflow", up),
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["run"] == "failed" and run["tasks"]["drain_spool"] == "failed", run
    assert run["tasks"]["record_run"] == "success", run

    record = {r["run_id"]: r for r in recent_runs(es, up, 10)}[run["run_id"]]
    assert record["error"].startswith("configuration error: ") and "timeline.yaml" in record["error"], record
    assert record["entries"] == 0 and record["reconciled"]
    assert not (run_dir(up, run["run_id"]) / STOPPED).exists()  # nothing of the run is spooled: its folder went
