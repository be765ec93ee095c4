"""The mediamon_alerts DAG on a deployment that has never ingested: `dag.test()` against the real node, with an
index prefix that has no index at all.

Each run goes in a fresh interpreter with an Airflow home of its own: tests/test_dags.py sets up Airflow in the
test process, once, before anything imports it. Retries are off in these runs, so a failing task shows at once
instead of after the retry delays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from mediamon.core.settings import PROJECT_ROOT, Settings
from tests.smtp_fixtures import free_port

DAGS = PROJECT_ROOT / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"
SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).dags["mediamon_alerts"]
for task in dag.tasks:
    task.retries = 0
run = dag.test()
tasks = {}
for ti in run.get_task_instances():
    tasks.setdefault(ti.task_id, []).append(str(ti.state))
print(json.dumps({"run": str(run.state), "tasks": tasks}))
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the runs: a migrated Airflow home, no smtp connection, the shipped subscriptions."""
    home = tmp_path_factory.mktemp("airflow-alerts")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "MEDIAMON_"))}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "MEDIAMON_MODELS_DIR": os.environ["MEDIAMON_MODELS_DIR"],
    }
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=env)
    return env


def run_alerts_dag(env: dict[str, str]) -> tuple[dict, str]:
    """One `dag.test()` run of mediamon_alerts: its state and its tasks' states, and what it logged."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DAGS)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


def test_on_a_prefix_never_ingested_the_send_tasks_skip_with_one_line_and_create_nothing(
    airflow_env, settings: Settings, es: Elasticsearch, tmp_path: Path
):
    prefix = f"{settings.index_prefix}neveringested-"
    env = airflow_env | {"MEDIAMON_INDEX_PREFIX": prefix, "MEDIAMON_DATA_DIR": str(tmp_path)}
    run, log = run_alerts_dag(env)
    assert run == {
        "run": "success",
        "tasks": {
            "select_subscriptions": ["success"],
            "check_subscriptions": ["success"],
            "send_alerts": ["skipped"] * 3,  # the three shipped subscriptions
        },
    }
    line = (
        f"no articles are indexed yet under the index prefix '{prefix}' (no {prefix}media-articles), "
        "so there is nothing to alert on"
    )
    assert log.count(line) == 3, log[-3000:]  # one line for each send task
    assert es.indices.get(index=f"{prefix}*", expand_wildcards="all") == {}


def test_elasticsearch_down_still_fails_the_send_tasks(airflow_env, settings: Settings, tmp_path: Path):
    env = airflow_env | {
        "MEDIAMON_INDEX_PREFIX": f"{settings.index_prefix}neveringested-",
        "MEDIAMON_DATA_DIR": str(tmp_path),
        "MEDIAMON_ES_URL": f"http://127.0.0.1:{free_port()}",
    }
    run, log = run_alerts_dag(env)
    assert run["run"] == "failed" and run["tasks"]["send_alerts"] == ["failed"] * 3, run
    assert "no articles are indexed yet" not in log
