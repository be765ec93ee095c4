"""The mediamon_alerts DAG on a deployment that has never ingested: `dag.test()` against the real node, with an
index prefix that has no index at all.

Each run goes in a fresh interpreter with an Airflow home of its own, retries off (tests/airflow_runs.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from tests.airflow_runs import dag_test, migrated_home
from tests.smtp_fixtures import free_port


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the runs: a migrated Airflow home, no smtp connection, the shipped subscriptions."""
    return migrated_home(tmp_path_factory.mktemp("airflow-alerts"))


def test_on_a_prefix_never_ingested_the_send_tasks_skip_with_one_line_and_create_nothing(
    airflow_env, settings: Settings, es: Elasticsearch, tmp_path: Path
):
    prefix = f"{settings.index_prefix}neveringested-"
    env = airflow_env | {"MEDIAMON_INDEX_PREFIX": prefix, "MEDIAMON_DATA_DIR": str(tmp_path)}
    run, log = dag_test("mediamon_alerts", env)
    assert run["run"] == "success"
    assert run["tasks"] == {
        "select_subscriptions": ["success"],
        "check_subscriptions": ["success"],
        "send_alerts": ["skipped"] * 3,  # the three shipped subscriptions
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
    run, log = dag_test("mediamon_alerts", env)
    assert run["run"] == "failed" and run["tasks"]["send_alerts"] == ["failed"] * 3, run
    assert "no articles are indexed yet" not in log
