"""mediamon_maintenance: daily feed-health summary, extraction drift per source, article retention, cleanup of stale
batch files, a reindex when the embedding model in settings is not the one the articles' vectors came from, and a
rescore of the articles when the seed stories changed.

Settings come from the `MEDIAMON_*` environment: `MEDIAMON_FEED_FAILING_HOURS`, `MEDIAMON_DRIFT_DAYS`,
`MEDIAMON_RETENTION_DAYS`, `MEDIAMON_MODEL_NAME`, `MEDIAMON_SEEDS_DIR`, `MEDIAMON_DATA_DIR` (where the seed stories'
fingerprint is kept).
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
    """Feed health, extraction drift, batch cleanup, then the reindex (when the model changed) and the rescore (when
    the seed stories changed) before retention."""

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

    @task
    def rescore_if_seeds_changed() -> dict | None:
        """Rescore every article in place when the seed stories changed since the last rescore (first run: only
        record their fingerprint); returns the rescore report."""
        from mediamon.core.settings import Settings
        from mediamon.flows import maintenance

        return maintenance.rescore_if_seeds_changed(Settings())

    feed_health()
    extraction_drift()
    prune_batches()
    reindex_if_model_changed() >> rescore_if_seeds_changed() >> retention()


mediamon_maintenance()
