"""Sending an email over SMTP (smtplib): plain, STARTTLS or TLS from the start, with optional AUTH.

The server is given as `smtp://[user:password@]host[:port]` (port 25; `MEDIAMON_SMTP_STARTTLS=true`
upgrades the connection and then requires it) or `smtps://…` (port 465). Inside Airflow the DAG sends through
Airflow's SmtpHook instead (`mediamon/alerts/airflow_smtp.py`).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from mediamon.core.errors import ConfigError
from mediamon.core.settings import Settings
from mediamon.core.tls import ca_file_problem

LOG = logging.getLogger(__name__)

Security = Literal["plain", "starttls", "ssl"]


class SmtpError(RuntimeError):
    """The email was not accepted (server down, refused, or every recipient rejected); send it later."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to send: server, transport security, credentials, timeout and the sender address."""

    host: str
    port: int
    security: Security = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    sender: str = "mediamon <mediamon@localhost>"
    ca_cert: Path | None = None
    verify: bool = True  # check the server's certificate (and host name) under TLS

    @property
    def address(self) -> str:
        """`host:port` and the security, for messages (never the credentials)."""
        return f"{self.host}:{self.port} ({self.security})"


def check_smtp_url(value: str) -> str:
    """`value` when it names an SMTP server; ConfigError otherwise, saying what is wrong but never repeating the
    URL (it may hold a password)."""
    problem = _smtp_url_problem(value)
    if problem:
        raise ConfigError(f"MEDIAMON_SMTP_URL {problem}: set it to smtp://[user:password@]host[:port] or smtps://…")
    return value


def _smtp_url_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    try:
        url = urlsplit(value)
    except ValueError as exc:
        return f"cannot be read ({exc})"
    if url.scheme not in ("smtp", "smtps"):
        return f"has the scheme {url.scheme!r}, not smtp or smtps" if url.scheme else "has no scheme"
    if not url.hostname:
        return "names no host"
    try:
        port_ok = url.port != 0
    except ValueError:
        port_ok = False
    return None if port_ok else "has a port that is no number from 1 to 65535"


def check_smtp_ca_cert(path: Path | None) -> Path | None:
    """`path` when it is None or a CA file TLS can load; ConfigError naming the file otherwise."""
    problem = ca_file_problem(path) if path is not None else None
    if problem:
        raise ConfigError(
            f"MEDIAMON_SMTP_CA_CERT {path} cannot be used ({problem}): "
            "set it to a CA file in PEM form, or unset it for the system's CAs"
        )
    return path


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP config in settings (`smtp_url`, `smtp_starttls`, `smtp_from`, `smtp_timeout`, …); ConfigError
    when the URL or the CA file cannot be used."""
    url = urlsplit(check_smtp_url(settings.smtp_url))
    security: Security = "ssl" if url.scheme == "smtps" else "starttls" if settings.smtp_starttls else "plain"
    return SmtpConfig(
        host=str(url.hostname),
        port=url.port or (465 if security == "ssl" else 25),
        security=security,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        timeout=settings.smtp_timeout,
        sender=settings.smtp_from,
        ca_cert=check_smtp_ca_cert(settings.smtp_ca_cert),
    )


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(config.ca_cert) if config.ca_cert else None)
    if not config.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class Mailer:
    """Where alert emails go: the From address, a name for messages, and how to open an SMTP session (connected,
    secured and logged in) that closes when the block ends."""

    sender: str
    address: str
    connect: Callable[[], AbstractContextManager[smtplib.SMTP]]


def settings_mailer(config: SmtpConfig) -> Mailer:
    """A mailer that opens sessions with smtplib as `config` says."""

    @contextmanager
    def connect() -> Iterator[smtplib.SMTP]:
        if config.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=_tls_context(config)
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            if config.security == "starttls":
                client.starttls(context=_tls_context(config))
            if config.username:
                client.login(config.username, config.password or "")
            yield client

    return Mailer(sender=config.sender, address=config.address, connect=connect)


def send_message(
    mailer: Mailer,
    message: EmailMessage,
    recipients: Sequence[str] | None = None,
    *,
    before: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Send one message to `recipients` (default: its To/Cc); returns those the server refused (the others got it).

    `before` runs once the session is open (connected, secured, logged in), right before the transaction: what it
    raises aborts the send before MAIL FROM and is raised as is. Raises SmtpError when the message was not accepted
    for any recipient: nothing was sent. Once the server has accepted it (its 250 to DATA) the message is
    delivered: trouble closing the session afterwards (QUIT timing out or refused, the connection dropped) is
    logged, not raised.
    """
    refused: dict | None = None
    try:
        with mailer.connect() as client:
            if before is not None:
                before()
            refused = client.send_message(message, to_addrs=list(recipients) if recipients is not None else None)
    except (smtplib.SMTPException, OSError) as exc:
        if refused is None:
            raise SmtpError(f"SMTP server {mailer.address} did not take the email: {_describe(exc)}") from exc
        LOG.warning(
            "SMTP server %s accepted %s; closing the session failed: %s",
            mailer.address,
            message["Message-ID"],
            _describe(exc),
        )
    return {address: f"{code} {reply.decode(errors='replace')}" for address, (code, reply) in refused.items()}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        return f"{exc.smtp_code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient was refused: " + ", ".join(
            f"{address} ({code})" for address, (code, _) in exc.recipients.items()
        )
    return f"{exc.__class__.__name__}: {exc}"
