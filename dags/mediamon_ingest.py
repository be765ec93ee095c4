"""mediamon_ingest: poll the feeds that are due, fetch and enrich new articles, index them, update feed state.

Thin: every task calls one stage of `mediamon.flows.ingest_run` (imported inside the task, so parsing this file stays
fast) and passes on small references: batches of feed URLs and paths of batch files. Settings come from the
`MEDIAMON_*` environment of the workers; `MEDIAMON_INGEST_SCHEDULE` (cron) sets the schedule.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, Param, dag, task

ARTICLES = Asset("es://mediamon/articles")

# Transient failures (Elasticsearch down or overloaded) fail a task; Airflow retries it with growing delays.
RETRIES = {
    "retries": 3,
    "retry_delay": pendulum.duration(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": pendulum.duration(minutes=10),
}
# Fetch tasks of one run at a time: each runs `fetch_concurrency` fetches, and a host's feeds share one batch.
FETCH_TASKS = 4


@dag(
    schedule=os.environ.get("MEDIAMON_INGEST_SCHEDULE", "*/15 * * * *"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=RETRIES,
    dagrun_timeout=pendulum.duration(hours=2),
    params={"all_feeds": Param(False, type="boolean", description="Poll every feed, not only those due.")},
    tags=["mediamon"],
)
def mediamon_ingest() -> None:
    """Due feeds → new entries → articles → enrichment → index → feed state → run record."""

    @task
    def select_feeds(params: dict | None = None, run_id: str | None = None) -> list[dict]:
        """The feeds due now (or all, with the `all_feeds` param), in batches."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        return list(ingest_run.select_feeds(Settings(), run_id, every_feed=bool(params and params["all_feeds"])))

    @task(max_active_tis_per_dagrun=FETCH_TASKS)
    def fetch_feeds(batch: dict, run_id: str | None = None) -> str:
        """Poll one batch of feeds (conditional GETs); returns the file of entries not indexed yet."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        return ingest_run.fetch_feeds(Settings(), run_id, batch)

    @task(max_active_tis_per_dagrun=FETCH_TASKS)
    def fetch_articles(entries_path: str, run_id: str | None = None) -> str:
        """Fetch and extract the pages of one batch of new entries; returns the articles file."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        return ingest_run.fetch_articles(Settings(), run_id, entries_path)

    @task(trigger_rule="none_failed")
    def enrich(articles_paths: list[str], run_id: str | None = None) -> list[str]:
        """Enrich every batch in one process, so the model loads once; returns the enriched files."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        return ingest_run.enrich_articles(Settings(), run_id, list(articles_paths))

    @task(trigger_rule="none_failed", outlets=[ARTICLES])
    def index(enriched_paths: list[str], run_id: str | None = None) -> dict[str, int]:
        """Index the enriched articles; returns counts. Skipped (no asset event) when nothing was new."""
        from airflow.sdk.exceptions import AirflowSkipException

        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        counts = ingest_run.index_articles(Settings(), run_id, enriched_paths)
        if not counts["indexed"]:
            raise AirflowSkipException("no new article, so no articles asset event")
        return counts

    @task(trigger_rule="none_failed")
    def update_feed_states(run_id: str | None = None) -> dict[str, int]:
        """Write the state of every polled feed; returns feeds by status."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        return ingest_run.update_feed_states(Settings(), run_id)

    @task(trigger_rule="none_failed")
    def record_run(run_id: str | None = None) -> dict:
        """Store the run record and remove the run's batch files; returns the run's counts."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run

        report = ingest_run.finish_run(Settings(), run_id)
        return report.as_dict() | {"failed": report.failed_by_stage}

    batches = select_feeds()
    articles = fetch_articles.expand(entries_path=fetch_feeds.expand(batch=batches))
    index(enrich(articles)) >> update_feed_states() >> record_run()


mediamon_ingest()
