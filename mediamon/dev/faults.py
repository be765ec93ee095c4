"""Faults on demand, for the fault drill (`bench/faults.py`) and the tests: an Elasticsearch that goes away or
answers slowly (a proxy in front of the real node), and the processes a run leaves behind.

The proxy forwards every request to the real node; `down()` closes its port (connections are refused, as when the
node stops), `up()` opens it again on the same port, and `slow_writes` holds each `_bulk` request that long.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx

HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, gate: EsGate) -> None:
        super().__init__(("127.0.0.1", port), _Forward)
        self.gate = gate

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet when a killed client hangs up; loud otherwise."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Forward(BaseHTTPRequestHandler):
    server: _Proxy
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        gate = self.server.gate
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if "/_bulk" in self.path and gate.slow_writes:
            time.sleep(gate.slow_writes)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        reply = gate.client.request(self.command, self.path, content=body, headers=headers)
        self.send_response(reply.status_code)
        for name, value in reply.headers.items():
            if name.lower() not in HOP_HEADERS | {"content-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.content)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""


class EsGate:
    """A proxy on 127.0.0.1 in front of an Elasticsearch node that can go away and come back."""

    def __init__(self, upstream: str = "http://127.0.0.1:9200", port: int = 0) -> None:
        self.client = httpx.Client(base_url=upstream, timeout=60.0)
        self.slow_writes = 0.0
        self._server: _Proxy | None = None
        self.port = port
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Answer again (on the same port)."""
        if self._server is None:
            self._server = _Proxy(self.port, self)
            self.port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, name="es-gate", daemon=True).start()

    def down(self) -> None:
        """Close the port: connections are refused until `up()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.down()
        self.client.close()


@contextmanager
def es_gate(upstream: str = "http://127.0.0.1:9200") -> Iterator[EsGate]:
    """An `EsGate` for the duration of the block."""
    gate = EsGate(upstream)
    try:
        yield gate
    finally:
        gate.close()


def descendants(pid: int) -> list[int]:
    """The live processes started by `pid`, and theirs (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Whether `condition` came true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def cli_command(*args: str, ctrl_c: Literal["stops", "ignored"] = "stops") -> list[str]:
    """The command line of `mediamon ARGS` in a fresh interpreter, with Ctrl-C handled as in a terminal (`stops`:
    KeyboardInterrupt) or as in the background of a script (`ignored`), whatever the caller's own handling (a caller
    in the background of a script ignores SIGINT, and its children inherit that)."""
    handler = {"stops": "default_int_handler", "ignored": "SIG_IGN"}[ctrl_c]
    script = f"import signal; signal.signal(signal.SIGINT, signal.{handler}); from mediamon.cli import entry_point; "
    return [sys.executable, "-c", script + "entry_point()", *args]


def fetch_worker(pid: int) -> int | None:
    """The page-fetching process of the run `pid`, None while it has none."""
    for child in descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def kill_hard(pid: int) -> None:
    """SIGKILL, as an out-of-memory killer or a pulled plug would."""
    os.kill(pid, 9)
