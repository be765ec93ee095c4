"""mediamon_maintenance: daily feed-health summary, extraction drift per source, article retention, cleanup of stale
batch files, and a reindex when the embedding model in settings is not the one the articles' vectors came from.

Settings come from the `MEDIAMON_*` environment: `MEDIAMON_FEED_FAILING_HOURS`, `MEDIAMON_DRIFT_DAYS`,
`MEDIAMON_RETENTION_DAYS`, `MEDIAMON_MODEL_NAME`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

RETRIES = {
    "retries": 3,
    "retry_delay": pendulum.duration(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": pendulum.duration(minutes=30),
}


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=RETRIES,
    tags=["mediamon"],
)
def mediamon_maintenance() -> None:
    """Feed health, extraction drift, batch cleanup, and the reindex (when the model changed) before retention."""

    @task
    def feed_health() -> list[dict]:
        """Log and return the feeds failing for longer than `feed_failing_hours`."""
        from mediamon.core.settings import Settings
        from mediamon.flows import maintenance

        return maintenance.feed_health_report(Settings())

    @task
    def extraction_drift() -> list[dict]:
        """Log and return each source's extraction figures; a source whose bodies or dates fell off is flagged."""
        from mediamon.core.settings import Settings
        from mediamon.flows import maintenance

        return maintenance.extraction_drift_report(Settings())

    @task
    def retention() -> int:
        """Delete articles older than `retention_days`; returns how many."""
        from mediamon.core.settings import Settings
        from mediamon.flows import maintenance

        return maintenance.apply_retention(Settings())

    @task
    def prune_batches() -> int:
        """Remove batch folders that failed runs left behind; returns how many."""
        from mediamon.core.settings import Settings
        from mediamon.flows import maintenance

        return maintenance.prune_batches(Settings())

    @task
    def reindex_if_model_changed() -> dict | None:
        """Re-embed every article into a new index version when the model changed; returns the reindex report."""
        from mediamon.core.settings import Settings
        from mediamon.flows import maintenance

        return maintenance.reindex_if_model_changed(Settings())

    feed_health()
    extraction_drift()
    prune_batches()
    reindex_if_model_changed() >> retention()


mediamon_maintenance()
