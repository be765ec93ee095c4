"""The Airflow DAGs: they parse fast and cleanly, and `dag.test()` runs them against the local sample-news server
and the real Elasticsearch, with a broken feed, a missing feed and a missing article among the sources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from enrich.seeds import stories_digest
from mediamon.core.feeds import FetchOutcome
from mediamon.core.settings import PROJECT_ROOT, Settings
from mediamon.dev.sample_news import build_site, feed_list, load_items, serve_site
from mediamon.flows.maintenance import feed_health_report
from mediamon.flows.rescore import record_fingerprint, recorded_fingerprint
from search.feed_records import all_states
from search.index_versions import articles_alias, ensure_articles_index, feeds_alias, indices_behind
from search.run_records import recent_runs
from search.write import bulk_create
from tests.smtp_fixtures import smtp_server

DAGS = PROJECT_ROOT / "dags"
VENV_BIN = Path(sys.executable).parent
BROKEN_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>Cut off'


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home with a migrated SQLite database, set up before anything imports airflow."""
    assert "airflow" not in sys.modules, "airflow was imported before its home was set"
    home = tmp_path_factory.mktemp("airflow")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        }
    )
    subprocess.run([VENV_BIN / "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ)
    return home


@pytest.fixture(scope="module")
def dagbag(airflow_home: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dags_import_cleanly_and_parse_fast(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"mediamon_ingest", "mediamon_maintenance", "mediamon_alerts"}
    durations = {Path(stat.file).name: stat.duration.total_seconds() for stat in dagbag.dagbag_stats}
    assert set(durations) == {"mediamon_ingest.py", "mediamon_maintenance.py", "mediamon_alerts.py"}
    assert all(seconds < 2.0 for seconds in durations.values()), durations


def test_dag_schedules_and_limits(dagbag):
    ingest, maintenance = dagbag.dags["mediamon_ingest"], dagbag.dags["mediamon_maintenance"]
    assert ingest.schedule == ingest.timetable.expression == Settings().ingest_schedule == "*/15 * * * *"
    assert maintenance.schedule == "@daily"
    for dag in (ingest, maintenance):
        assert dag.max_active_runs == 1 and dag.catchup is False
    assert ingest.params["all_feeds"] is False
    tasks = ingest.task_dict
    assert [a.uri for a in tasks["publish"].outlets] == ["es://mediamon/articles"]
    assert tasks["fetch_feeds"].retries == 3 and tasks["fetch_feeds"].retry_exponential_backoff == 2.0
    assert set(tasks["select_feeds"].downstream_task_ids) == {"fetch_feeds", "drain_spool"}
    assert set(tasks["update_feed_states"].upstream_task_ids) == {"publish"}
    # workers share the chunks of a run, each chunk through its stages on its own (a mapped task group)
    assert type(tasks["fetch_feeds"]).__name__.endswith("MappedOperator")
    assert type(ingest.task_group_dict["chunk"]).__name__ == "MappedTaskGroup"
    for stage in ("chunk.fetch_articles", "chunk.enrich", "chunk.index"):
        assert tasks[stage].task_group.group_id == "chunk", stage
    assert set(tasks["chunk.fetch_articles"].upstream_task_ids) == {"plan_chunks"}
    assert set(tasks["chunk.enrich"].upstream_task_ids) == {"chunk.fetch_articles"}
    assert set(tasks["chunk.index"].upstream_task_ids) == {"chunk.enrich"}
    assert set(tasks["publish"].upstream_task_ids) == {"chunk.index", "drain_spool"}
    assert {t: tasks[t].trigger_rule for t in ("update_feed_states", "record_run")} == {
        "update_feed_states": "all_done",
        "record_run": "all_done",
    }


@pytest.mark.parametrize(("variable", "schedule"), [("*/5 * * * *", "*/5 * * * *"), ("", None)])
def test_parsing_imports_nothing_heavy_and_reads_the_schedule_from_the_environment(airflow_home, variable, schedule):
    """In a fresh interpreter: parsing loads none of our packages, nor the ES, model or extraction libraries. An
    empty schedule leaves triggered runs only."""
    script = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
ours = {"mediamon", "ingest", "enrich", "search", "torch", "sentence_transformers", "trafilatura", "elasticsearch"}
print(json.dumps({"errors": bag.import_errors, "schedule": bag.dags["mediamon_ingest"].schedule,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules} & ours)}))
"""
    env = {**os.environ, "MEDIAMON_INGEST_SCHEDULE": variable}
    done = subprocess.run([sys.executable, "-c", script, str(DAGS)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"errors": {}, "schedule": schedule, "loaded": []}


# --- dag.test() against the sample news ---


def site_with_failures(base_url: str) -> dict[str, tuple[bytes, str]]:
    """The sample site plus a feed that is not XML-complete and a feed whose only item has no page."""
    site = build_site(base_url)
    gone = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Gone</title>'
        f"<item><title>Vanished</title><link>{base_url}/gone/vanished.html</link></item></channel></rss>"
    )
    site["/feeds/broken.xml"] = (BROKEN_FEED, "application/rss+xml")
    site["/feeds/gone.xml"] = (gone.encode(), "application/rss+xml")
    return site


@pytest.fixture(scope="module")
def sample_run(airflow_home, settings: Settings, es: Elasticsearch, tmp_path_factory) -> Iterator[dict]:
    """The environment of the DAG runs: a feeds file of the sample outlets plus three bad ones, on a local server."""
    folder = tmp_path_factory.mktemp("ingest")
    with serve_site(site_with_failures) as base_url, pytest.MonkeyPatch.context() as env:
        extra = {
            "broken": f"{base_url}/feeds/broken.xml",
            "missing": f"{base_url}/feeds/missing.xml",
            "gone": f"{base_url}/feeds/gone.xml",
        }
        sources = feed_list(base_url) + [{"id": key, "name": key.title(), "feeds": [url]} for key, url in extra.items()]
        feeds_path = folder / "feeds.yaml"
        feeds_path.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
        variables = {
            "MEDIAMON_FEEDS_PATH": str(feeds_path),
            "MEDIAMON_INDEX_PREFIX": f"{settings.index_prefix}dag-",
            "MEDIAMON_ALLOW_HOSTS": '["127.0.0.1"]',
            "MEDIAMON_HOST_MIN_INTERVAL": "0",
            "MEDIAMON_DATA_DIR": str(folder / "data"),
            "MEDIAMON_STREAM_BATCH_SIZE": "8",  # several chunks: fetch, enrich and index are mapped over them
        }
        for name, value in variables.items():
            env.setenv(name, value)
        yield {"base_url": base_url, "extra": extra, "settings": Settings()}


def run_dag(dagbag, dag_id: str, **conf) -> tuple[str, dict[str, str]]:
    """One `dag.test()` run: its id and the state of each task; a mapped task's state is its instances' states
    joined, e.g. `success*6`.

    Pass params explicitly: in-process runs keep the previous run's params otherwise.
    """
    run = dagbag.dags[dag_id].test(run_conf=conf)
    mapped: dict[str, list[str]] = {}
    states = {}
    for ti in run.get_task_instances():
        if ti.map_index < 0:
            states[ti.task_id] = str(ti.state)
        else:
            mapped.setdefault(ti.task_id, []).append(str(ti.state))
    states |= {task: f"{set(s).pop()}*{len(s)}" if len(set(s)) == 1 else str(s) for task, s in mapped.items()}
    assert run.state == "success", states
    return run.run_id, states


def test_ingest_dag_indexes_the_sample_news_and_records_every_failure(dagbag, sample_run, es):
    settings, extra = sample_run["settings"], sample_run["extra"]
    items = load_items()
    run_id, tasks = run_dag(dagbag, "mediamon_ingest", all_feeds=False)
    assert tasks["publish"] == "success"  # new articles: the publish task emits the articles asset event
    chunks = -(-(len(items) + 1) // 8)
    assert tasks["chunk.fetch_articles"] == tasks["chunk.enrich"] == tasks["chunk.index"] == f"success*{chunks}"

    # every sample item, and the vanished page's entry stored from what its feed gave (to be fetched again)
    assert es.count(index=articles_alias(settings))["count"] == len(items) + 1
    vanished = es.search(index=articles_alias(settings), query={"term": {"access": "failed"}})["hits"]["hits"]
    assert [hit["_source"]["title"] for hit in vanished] == ["Vanished"]
    states = {s.feed_url: s for s in all_states(es, feeds_alias(settings))}
    assert len(states) == len(feed_list(sample_run["base_url"])) + 3
    assert states[extra["broken"]].status is FetchOutcome.PARSE_ERROR
    assert states[extra["missing"]].status is FetchOutcome.HTTP_4XX and states[extra["missing"]].http_status == 404
    for url in (extra["broken"], extra["missing"]):
        assert states[url].consecutive_failures == 1 and states[url].failing_since and states[url].error
    healthy = [s for url, s in states.items() if url not in (extra["broken"], extra["missing"])]
    assert {s.status for s in healthy} == {FetchOutcome.OK}
    assert sum(s.items_seen for s in healthy) == len(items) + 1 and states[extra["gone"]].items_seen == 1

    record = recent_runs(es, settings, 1)[0]
    assert record["run_id"] == run_id and record["mode"] == "due"
    assert record["feeds"] == {"ok": len(healthy), "parse_error": 1, "http_4xx": 1}
    assert record["entries"] == len(items) + 1 and record["reconciled"]
    assert record["indexed"] == len(items) and record["duplicates"] == 0 and record["spooled"] == 0
    assert record["failed"] == {"fetch": 1} and record["failed_total"] == 1
    assert record["failures"][0]["url"] == f"{sample_run['base_url']}/gone/vanished.html"
    assert record["failures"][0]["reason"].startswith("http_4xx")
    assert {"select", "feeds", "articles", "enrich", "index", "state"} <= set(record["seconds"])


def test_a_second_ingest_run_finds_nothing_new(dagbag, sample_run, es):
    settings, extra = sample_run["settings"], sample_run["extra"]
    count = es.count(index=articles_alias(settings))["count"]

    _, tasks = run_dag(dagbag, "mediamon_ingest", all_feeds=True)  # poll every feed again: the bodies repeat
    assert tasks["publish"] == "skipped" and tasks["update_feed_states"] == tasks["record_run"] == "success"
    record = recent_runs(es, settings, 1)[0]
    assert record["mode"] == "all" and record["indexed"] == 0 and record["fetched"] == 0
    assert record["feeds"] == {"unchanged": record["feeds_total"] - 2, "parse_error": 1, "http_4xx": 1}
    states = {s.feed_url: s for s in all_states(es, feeds_alias(settings))}
    assert states[extra["broken"]].consecutive_failures == 2
    assert states[extra["broken"]].interval_minutes > states[extra["gone"]].interval_minutes

    _, tasks = run_dag(dagbag, "mediamon_ingest", all_feeds=False)  # nothing is due yet: no feed is polled
    assert tasks["fetch_feeds"] == "skipped" and tasks["record_run"] == "success"
    record = recent_runs(es, settings, 1)[0]
    assert record["feeds_total"] == 0 and record["indexed"] == 0
    assert es.count(index=articles_alias(settings))["count"] == count


def test_maintenance_dag_deletes_old_articles_and_reports_failing_feeds(dagbag, sample_run, es, monkeypatch):
    settings, extra = sample_run["settings"], sample_run["extra"]
    alias = articles_alias(settings)
    hits = es.search(index=alias, size=100, source=["url"])["hits"]["hits"]
    old = {hit["_id"] for hit in hits[::2]}  # as if fetched 400 days ago; all were published years ago
    fetched = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    bulk(es, ({"_op_type": "update", "_index": alias, "_id": key, "doc": {"fetched_at": fetched}} for key in old))
    es.indices.refresh(index=alias)
    monkeypatch.setenv("MEDIAMON_RETENTION_DAYS", "365")

    _, tasks = run_dag(dagbag, "mediamon_maintenance")
    assert tasks["extraction_drift"] == tasks["feed_health"] == "success"
    left = {hit["_id"] for hit in es.search(index=alias, size=100, source=False)["hits"]["hits"]}
    assert left == {hit["_id"] for hit in hits} - old and left  # the rest stay, whenever they were published

    failing = feed_health_report(settings.model_copy(update={"feed_failing_hours": 0}))
    assert {f["feed_url"] for f in failing} == {extra["broken"], extra["missing"]}
    assert feed_health_report(settings) == []  # none has failed for a day yet


def test_maintenance_dag_reindexes_once_when_the_model_changed(dagbag, sample_run, es, monkeypatch):
    alias = articles_alias(sample_run["settings"])
    monkeypatch.setenv("MEDIAMON_RETENTION_DAYS", "100000")  # keep every sample article
    models = {hit["_id"]: hit["_source"]["model"] for hit in es.search(index=alias, size=100)["hits"]["hits"]}
    assert models and len(set(models.values())) == 1
    old = indices_behind(es, alias)
    # as if the articles had been embedded by another model than the one in settings
    updates = ({"_op_type": "update", "_index": alias, "_id": key, "doc": {"model": "old/model@0"}} for key in models)
    bulk(es, updates, refresh=True)

    run_dag(dagbag, "mediamon_maintenance")
    new = indices_behind(es, alias)
    assert new != old and len(new) == 1
    hits = es.search(index=alias, size=100, source_exclude_vectors=False)["hits"]["hits"]
    assert {hit["_id"]: hit["_source"]["model"] for hit in hits} == models
    assert all(len(hit["_source"]["embedding"]) == 384 for hit in hits)
    assert es.count(index=old[0])["count"] == len(models)  # the old version is kept

    run_dag(dagbag, "mediamon_maintenance")  # the vectors are the model's now: no second reindex
    assert indices_behind(es, alias) == new


def test_maintenance_dag_rescores_once_when_the_seed_stories_changed(dagbag, sample_run, es, monkeypatch, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(Settings().seeds_dir, seeds)
    monkeypatch.setenv("MEDIAMON_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("MEDIAMON_RETENTION_DAYS", "100000")  # keep every sample article
    settings = Settings()
    record_fingerprint(settings, stories_digest(seeds))  # as an earlier run left it
    alias = articles_alias(settings)
    story = (seeds / "stories" / "belarus-2020-09.txt").read_text(encoding="utf-8")
    (seeds / "stories" / "second.txt").write_text(story.replace("id: belarus-2020-09", "id: second"), "utf-8")

    _, tasks = run_dag(dagbag, "mediamon_maintenance")
    assert tasks["rescore_if_seeds_changed"] == "success"
    hits = es.search(index=alias, size=100, source=["seed_similarity", "access"])["hits"]["hits"]
    full = [hit for hit in hits if hit["_source"]["access"] == "full"]
    assert full and all(
        hit["_source"]["seed_similarity"]["second"] == hit["_source"]["seed_similarity"]["belarus-2020-09"]
        for hit in full
    )  # the second seed is the first under another id: the same scores
    assert recorded_fingerprint(settings) == stories_digest(seeds)

    some = full[0]["_id"]  # a score nobody would give: a second rescore would put it right
    es.update(index=alias, id=some, doc={"seed_similarity": {"second": 0.0}}, refresh=True)
    run_dag(dagbag, "mediamon_maintenance")  # the stories did not change since: no rescore
    assert es.get(index=alias, id=some)["_source"]["seed_similarity"]["second"] == 0.0


# --- mediamon_alerts ---


def test_alerts_dag_runs_after_new_articles_and_on_the_digest_schedule(dagbag):
    alerts = dagbag.dags["mediamon_alerts"]
    assert alerts.timetable.timetable.expression == Settings().alerts_digest_schedule == "0 6 * * *"
    assert alerts.timetable.asset_condition.uri == "es://mediamon/articles"
    assert alerts.max_active_runs == 1 and alerts.catchup is False
    assert alerts.task_dict["send_alerts"].retries == 4 and alerts.task_dict["check_subscriptions"].retries == 0
    select = alerts.task_dict["select_subscriptions"].python_callable  # reads seeds/subscriptions.yaml only
    assert select(dag_run=SimpleNamespace(run_type="asset_triggered")) == ["belarus-2020-09"]
    everything = ["belarus-2020-09", "repression-digest", "state-media-weekly"]
    assert select(dag_run=SimpleNamespace(run_type="scheduled")) == everything


def test_alerts_dag_emails_once_through_the_smtp_connection(dagbag, settings, es, tmp_path, monkeypatch):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}dagalerts-"})
    alias = ensure_articles_index(es, local, 384, "test-model")
    fetched = datetime.now(UTC) - timedelta(hours=1)
    titles = {  # key: (title, sub-topic)
        "a1": ("Lukashenko flies to Sochi to meet Putin", "belarus.russia"),
        "a2": ("Kolesnikova detained at the border", "belarus.repression"),
    }
    documents = [
        (key, {"url": f"https://news.example/{key}", "title": title, "body": title, "outlet": "News",
               "source_id": "news", "language": "en", "fetched_at": fetched.isoformat(),
               "topics": ["belarus", topic], "seed_similarity": {"belarus-2020-09": 0.8},
               "matched_seeds": ["belarus-2020-09"], "embedding": [1.0] + [0.0] * 383})
        for key, (title, topic) in titles.items()
    ]  # fmt: skip
    assert bulk_create(es, alias, documents).created == 2
    es.indices.refresh(index=alias)
    subscriptions = [
        {"id": "now", "name": "Now", "recipients": ["desk@example.org"], "follows": {"seeds": ["belarus-2020-09"]},
         "frequency": "immediate"},
        {"id": "daily", "name": "Daily", "recipients": ["desk@example.org"],
         "follows": {"topics": ["belarus.repression"]}, "frequency": "daily"},
    ]  # fmt: skip
    path = tmp_path / "subscriptions.yaml"
    path.write_text(yaml.safe_dump({"subscriptions": subscriptions}), encoding="utf-8")
    with smtp_server() as server:
        extra = {"disable_ssl": True, "disable_tls": True, "from_email": "alerts@example.org"}
        connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.port, "extra": extra}
        for name, value in {
            "MEDIAMON_INDEX_PREFIX": local.index_prefix,
            "MEDIAMON_SUBSCRIPTIONS_PATH": str(path),
            "MEDIAMON_SMTP_URL": "smtp://127.0.0.1:1",  # not used: the Airflow connection wins
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(connection),
        }.items():
            monkeypatch.setenv(name, value)
        _, tasks = run_dag(dagbag, "mediamon_alerts")
        assert tasks["select_subscriptions"] == tasks["check_subscriptions"] == "success"
        subjects = sorted(mail.message["Subject"] for mail in server.received)
        assert subjects == ["[mediamon] Daily: daily digest, 1 new story", "[mediamon] Now: 2 new stories"]
        assert {mail.message["From"] for mail in server.received} == {"alerts@example.org"}

        run_dag(dagbag, "mediamon_alerts")  # nothing new, and the digest is not due again today
        assert len(server.received) == 2
