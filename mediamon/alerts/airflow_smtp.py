"""Sending alert emails through Airflow's SmtpHook: the connection's server, TLS, login and sender are Airflow's."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

from mediamon.alerts.smtp import Mailer


def hook_mailer(conn_id: str, default_sender: str) -> Mailer | None:
    """A mailer over the Airflow smtp connection `conn_id` (host, port, login, password; extras `disable_ssl`,
    `disable_tls`, `from_email`, `timeout`, `ssl_context`); None when there is no such connection."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    hook = SmtpHook(smtp_conn_id=conn_id)
    try:
        hook.smtp_connection = hook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None

    @contextmanager
    def connect() -> Iterator[smtplib.SMTP]:
        with SmtpHook(smtp_conn_id=conn_id) as opened:
            # The hook's own send builds an HTML-only message and retries DATA on any error (a second copy after a
            # lost reply): the session it opened sends our multipart message once instead.
            yield opened._smtp_client  # its session; the hook has no public accessor

    return Mailer(sender=hook.from_email or default_sender, address=f"Airflow connection {conn_id}", connect=connect)
