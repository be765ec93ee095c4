"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the alert tests: every accepted message recorded, recipients and
DATA refusable on demand, QUIT answered, stalled, refused or dropped, callbacks when a client connects and when a
message is accepted, optionally STARTTLS or TLS from the start with AUTH, on a self-signed certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class Received:
    """One message the server accepted: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    login: str | None

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


@dataclass
class Handler:
    """Records accepted messages; refuses the recipients in `refuse_rcpt` with a 550 and the next `refuse_data`
    DATA commands with a 451; answers QUIT as `quit`
    says (`stall`: after `stall_seconds`, `refuse`: with a 421, `drop`: by closing the connection). `on_connect`
    runs (in the server's thread) before the greeting, `on_data` once a message is recorded, before the 250."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: set[str] = field(default_factory=set)
    refuse_data: int = 0
    on_connect: Callable[[], None] | None = None
    on_data: Callable[[], None] | None = None
    quit: Literal["reply", "stall", "refuse", "drop"] = "reply"
    stall_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_QUIT(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.quit == "stall":
            await asyncio.sleep(self.stall_seconds)
        elif self.quit == "drop":
            server.transport.close()
        return "421 4.3.2 Service shutting down" if self.quit == "refuse" else "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802 - aiosmtpd's hook name
        if address in self.refuse_rcpt:
            return "550 5.2.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            if self.refuse_data:
                self.refuse_data -= 1
                return "451 4.3.0 Mail server temporarily unavailable, try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message, login))
        if self.on_data is not None:
            self.on_data()
        return "250 2.0.0 Message accepted for delivery"


class _Session(SMTP):
    """aiosmtpd's SMTP session, calling the handler's `on_connect` before it greets the client."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if self.event_handler.on_connect is not None:
            self.event_handler.on_connect()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Session(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (for a moment)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """A running server: its port and what it received."""

    port: int
    handler: Handler

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def smtp_server(
    port: int | None = None,
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    users: dict[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """Serve SMTP on 127.0.0.1; with `users`, AUTH (LOGIN/PLAIN) is required, over TLS."""
    handler = Handler()

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and users.get(auth_data.login.decode()) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    options: dict = {}
    if starttls is not None:
        options |= {"tls_context": starttls, "require_starttls": True}
    if implicit_tls is not None:
        options |= {"ssl_context": implicit_tls, "server_hostname": "127.0.0.1"}
    if users is not None:  # aiosmtpd counts only STARTTLS as TLS for AUTH, so under implicit TLS it is not asked
        options |= {
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": starttls is not None,
        }
    controller = _Controller(handler, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield SmtpServer(controller.port, handler)
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 and localhost: its PEM file (the client's CA) and a server context."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context
