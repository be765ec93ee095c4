"""A real HTTP server on 127.0.0.1 for fetcher tests: scripted replies per path, every request recorded."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted response. `chunks` are sent with chunked encoding (no Content-Length), `pause` between them."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    chunks: tuple[bytes, ...] | None = None
    pause: float = 0.0


@dataclass(frozen=True, slots=True)
class Seen:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


Handler = Callable[[Seen], Reply]


class _QuietServer(ThreadingHTTPServer):
    block_on_close = False  # sleeping handlers must not hold up shutdown

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up is what the tests do
            super().handle_error(request, client_address)


class LocalServer:
    """Threaded HTTP/1.1 server. `route(path, *replies)` plays replies in turn (the last one repeats).

    A route matches its path with any query string, unless a route for the full path exists.
    """

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: dict[str, list[Reply] | Handler] = {}
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, *replies: Reply | Handler) -> None:
        if len(replies) == 1 and callable(replies[0]):
            self._routes[path] = replies[0]
        else:
            self._routes[path] = list(replies)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            route = self._routes.get(seen.path, self._routes.get(seen.path.partition("?")[0]))
            if route is None:
                return Reply(404, b"not found", {"Content-Type": "text/plain"})
            if callable(route):
                return route(seen)
            return route.pop(0) if len(route) > 1 else route[0]

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                try:
                    self._send(server._reply(seen))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    server._done()

            def _send(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None:
                    if "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.chunks:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    time.sleep(reply.pause)
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base signature)
                pass

        return _Handler
