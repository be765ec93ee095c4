"""mediamon_alerts: alert emails of new matching coverage (the library: `mediamon/alerts/run.py`).

Two triggers, one DAG (`AssetOrTimeSchedule`):
- an `es://mediamon/articles` asset event (mediamon_ingest indexed new articles): the `immediate`
  subscriptions;
- the digest schedule, `MEDIAMON_ALERTS_DIGEST_SCHEDULE` (cron, UTC; default 06:00), and manual runs:
  every subscription, so the daily and weekly digests go out when due (once a UTC day / ISO week).
One mapped task per subscription: a failing one is retried on its own. Emails go through the Airflow
connection `MEDIAMON_SMTP_CONN_ID` (default `smtp_default`, type smtp: host, port, login, password; extras
`disable_ssl`, `disable_tls`, `from_email`, `timeout`, `ssl_context`), sent through the smtp provider's
SmtpHook, when it exists, else through `MEDIAMON_SMTP_URL`. A failed send fails the task and records
nothing, so Airflow's retries (and the next run) send the same articles: an SMTP outage delays alerts and
loses none. An email sent but not recorded (Elasticsearch failing) fails the task too: a later run records it
and does not send it again (docs/alerts.md, "Exactly once"). On a deployment whose first ingest has not indexed
anything yet (no articles index under the prefix), the send tasks end skipped, with one line saying so, and
create nothing.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

ARTICLES = Asset("es://mediamon/articles")
DIGESTS = CronTriggerTimetable(os.environ.get("MEDIAMON_ALERTS_DIGEST_SCHEDULE", "0 6 * * *"), timezone="UTC")

RETRIES = {
    "retries": 4,
    "retry_delay": pendulum.duration(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": pendulum.duration(minutes=15),
}
SEND_TASKS = 4  # subscriptions sent at a time


@dag(
    schedule=AssetOrTimeSchedule(timetable=DIGESTS, assets=ARTICLES),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=RETRIES,
    dagrun_timeout=pendulum.duration(hours=1),
    tags=["mediamon"],
)
def mediamon_alerts() -> None:
    """Subscriptions → one email each of its new matching stories → sent records and watermark."""

    @task
    def select_subscriptions(dag_run=None) -> list[str]:
        """After new articles, the immediate subscriptions; on the digest schedule or by hand, all of them."""
        from mediamon.alerts.run import select
        from mediamon.alerts.subscriptions import Frequency, load_subscriptions
        from mediamon.core.settings import Settings

        settings = Settings()
        loaded = load_subscriptions(settings.subscriptions_path, settings.seeds_dir)
        after_ingest = dag_run is not None and dag_run.run_type == "asset_triggered"
        return [s.id for s in select(loaded, None, [Frequency.IMMEDIATE] if after_ingest else None)]

    @task(max_active_tis_per_dagrun=SEND_TASKS)
    def send_alerts(subscription_id: str) -> dict:
        """Email one subscription its new stories (a digest when due); fails, to be retried, when not sent;
        skipped while no article is indexed (a deployment before its first ingest)."""
        from airflow.sdk.exceptions import AirflowSkipException

        from mediamon.alerts.airflow_smtp import hook_mailer
        from mediamon.alerts.run import NothingIndexed, RunStatus, run_subscription
        from mediamon.core.settings import Settings

        settings = Settings()
        mailer = hook_mailer(settings.smtp_conn_id, settings.smtp_from)
        try:
            outcome = run_subscription(settings, subscription_id, mailer)
        except NothingIndexed as exc:
            raise AirflowSkipException(str(exc)) from None
        if outcome.status is RunStatus.FAILED:
            raise RuntimeError(f"subscription {subscription_id} not sent: {outcome.error}")
        return outcome.as_dict()

    @task(retries=0)
    def check_subscriptions() -> int:
        """Fail, visibly, while the subscriptions file has bad entries (the good ones are sent anyway)."""
        from mediamon.alerts.subscriptions import load_subscriptions
        from mediamon.core.settings import Settings

        settings = Settings()
        loaded = load_subscriptions(settings.subscriptions_path, settings.seeds_dir)
        if loaded.errors:
            raise ValueError("bad subscriptions:\n" + "\n".join(str(error) for error in loaded.errors))
        return len(loaded.subscriptions)

    send_alerts.expand(subscription_id=select_subscriptions())
    check_subscriptions()


mediamon_alerts()
