"""A DAG run by `dag.test()` in a fresh interpreter with an Airflow home of its own (tests/test_dags.py sets up
Airflow in the test process, once, before anything imports it). Retries are off in these runs, so a failing task
shows at once instead of after the retry delays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mediamon.core.settings import PROJECT_ROOT

DAGS = PROJECT_ROOT / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"
SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).dags[sys.argv[2]]
for task in dag.tasks:
    task.retries = 0
run = dag.test()
tasks = {}
for ti in run.get_task_instances():
    tasks.setdefault(ti.task_id, []).append(str(ti.state))
print(json.dumps({"run": str(run.state), "run_id": run.run_id, "tasks": tasks}))
"""


def migrated_home(home: Path, **variables: str) -> dict[str, str]:
    """The environment of runs in the migrated Airflow home `home`: the packaged models, the shipped DAGs, and of
    the `AIRFLOW*` and `MEDIAMON_*` variables only these `variables`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "MEDIAMON_"))}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "MEDIAMON_MODELS_DIR": os.environ["MEDIAMON_MODELS_DIR"],
        **variables,
    }
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=env)
    return env


def dag_test(dag_id: str, env: dict[str, str], timeout: float = 300) -> tuple[dict, str]:
    """One `dag.test()` run of `dag_id`: its state, its id and its tasks' states (one for each map index), and what
    it logged."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DAGS), dag_id], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr
