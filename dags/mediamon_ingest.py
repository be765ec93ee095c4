"""mediamon_ingest: finish what earlier runs spooled, fetch pages due again, poll the feeds that are due, then
fetch, enrich and index the new entries in chunks, update feed states and record the run.

Thin: every task calls one function of `mediamon.flows` (imported inside the task, so parsing this file stays
fast) and passes on small references: batches of feed URLs and paths of batch files. Each chunk of new entries goes
through fetch → enrich → index in a mapped task group (`chunk`), so workers share the chunks and the stages overlap:
a chunk is enriched as soon as it is fetched, while others are still being fetched (each enrich task loads the
model once). With
Elasticsearch away the index tasks fail after their retries, and everything fetched waits in the spool for the
next run. Settings come from the `MEDIAMON_*` environment of the workers; `MEDIAMON_INGEST_SCHEDULE` (cron) sets
the schedule (empty: triggered runs only).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, Param, XComArg, dag, task, task_group

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
    schedule=os.environ.get("MEDIAMON_INGEST_SCHEDULE", "*/15 * * * *") or None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=RETRIES,
    dagrun_timeout=pendulum.duration(hours=2),
    params={"all_feeds": Param(False, type="boolean", description="Poll every feed, not only those due.")},
    tags=["mediamon"],
)
def mediamon_ingest() -> None:
    """Spool → pages again → due feeds → new entries → chunks → articles → enrichment → index → feed state → record."""

    @task
    def select_feeds(params: dict | None = None, run_id: str | None = None) -> list[dict]:
        """The feeds due now (or all, with the `all_feeds` param), in batches."""
        from mediamon.core.settings import Settings
        from mediamon.flows import feed_polling

        every_feed = bool(params and params["all_feeds"])
        return list(feed_polling.select_feeds(Settings(), run_id, every_feed=every_feed))

    @task
    def drain_spool(run_id: str | None = None) -> dict:
        """Finish the entries earlier runs left in the spool (within the run's entry budget). An expected error that
        stops it (a configuration error, found as the enricher loads) fails the task and goes into the run's record."""
        from mediamon.core.settings import Settings
        from mediamon.flows import ingest_run, run_report

        settings = Settings()
        with run_report.stopping_the_run(settings, run_id):
            return ingest_run.drain_spool(settings, run_id, settings.max_entries_per_run)

    @task
    def retry_pages(run_id: str | None = None) -> dict[str, int]:
        """Fetch again the pages stored from their feed entry that are due."""
        from mediamon.core.settings import Settings
        from mediamon.flows import page_retry

        return page_retry.retry_pages(Settings(), run_id)

    @task(max_active_tis_per_dagrun=FETCH_TASKS)
    def fetch_feeds(batch: dict, run_id: str | None = None) -> str:
        """Poll one batch of feeds (conditional GETs); returns the file of entries to fetch."""
        from mediamon.core.settings import Settings
        from mediamon.flows import feed_polling

        return feed_polling.fetch_feeds(Settings(), run_id, batch)

    @task
    def plan_chunks(entries_paths: list[str], drained: dict, run_id: str | None = None) -> list[str]:
        """Cut the new entries into chunks; returns those within the run's budget (the rest are spooled)."""
        from mediamon.core.settings import Settings
        from mediamon.flows import feed_polling

        settings = Settings()
        return feed_polling.plan_chunks(settings, run_id, settings.max_entries_per_run - drained["entries"])

    @task(max_active_tis_per_dagrun=FETCH_TASKS)
    def fetch_articles(chunk_path: str, run_id: str | None = None) -> str:
        """Fetch and extract the pages of one chunk; returns the articles file."""
        from mediamon.core.settings import Settings
        from mediamon.flows import chunks

        return chunks.fetch_chunk(Settings(), run_id, chunk_path)

    @task
    def enrich(articles_path: str, run_id: str | None = None) -> str:
        """Enrich one chunk (the model loads once in this task); returns the enriched file."""
        from mediamon.core.settings import Settings
        from mediamon.flows import chunks

        return chunks.enrich_chunk(Settings(), run_id, articles_path)

    @task
    def index(enriched_path: str, run_id: str | None = None) -> str:
        """Index one chunk and record each entry's outcome; fails (and is retried) while Elasticsearch is away."""
        from mediamon.core.settings import Settings
        from mediamon.flows import chunks

        return chunks.index_chunk(Settings(), run_id, enriched_path)

    @task(outlets=[ARTICLES])
    def publish(outcomes_paths: list[str], drained: dict) -> int:
        """Emit the articles asset event when new articles were indexed; skipped (no event) otherwise."""
        from airflow.sdk.exceptions import AirflowSkipException

        from mediamon.flows import run_report

        indexed = run_report.indexed_in(outcomes_paths) + drained["drained"].get("indexed", 0)
        if not indexed:
            raise AirflowSkipException("no new article, so no articles asset event")
        return indexed

    @task(trigger_rule="all_done")
    def update_feed_states(run_id: str | None = None) -> dict[str, int]:
        """Write the state of every polled feed (locally, and to the index when it answers); returns feeds by status."""
        from mediamon.core.settings import Settings
        from mediamon.flows import feed_polling

        return feed_polling.update_feed_states(Settings(), run_id)

    @task(trigger_rule="all_done")
    def record_run(run_id: str | None = None) -> dict:
        """Store the run record (with the error a stage stopped the run on); its batch files go unless entries wait
        in the spool. Returns the run's counts."""
        from mediamon.core.settings import Settings
        from mediamon.flows import run_report

        return run_report.finish_run(Settings(), run_id).as_dict()

    batches = select_feeds()
    drained = drain_spool()
    batches >> drained >> retry_pages()
    entries = fetch_feeds.expand(batch=batches)
    drained >> entries
    chunk_paths = plan_chunks(entries, drained)

    @task_group
    def chunk(chunk_path: str) -> XComArg:
        """One chunk of new entries: fetched, enriched, indexed, on its own as soon as its stage before is done."""
        return index(enrich(fetch_articles(chunk_path)))

    outcomes = chunk.expand(chunk_path=chunk_paths)
    publish(outcomes, drained) >> update_feed_states() >> record_run()


mediamon_ingest()
