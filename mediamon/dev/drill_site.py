"""A local outlet for fault drills and tests: one feed listing the stories we choose, each with its page, which can
be made slow or missing (404), on 127.0.0.1. The stories are ours: short local news written from a template."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ingest.sources import Source

TOPICS = [
    "the potash plant in Salihorsk", "the railway works near Brest", "the library exhibition in Minsk",
    "the harvest in the Homel region", "the new tram line in Vitebsk", "the river cleanup on the Neman",
    "the hospital wing in Mogilev", "the football derby in Grodno", "the textile factory in Baranovichi",
    "the airport terminal in Minsk",
]  # fmt: skip


def story(n: int) -> tuple[str, str]:
    """Story `n`: its title and its body as three HTML paragraphs, different for every `n`."""
    topic = TOPICS[n % len(TOPICS)]
    title = f"Report {n}: news about {topic}"
    paragraphs = [
        f"Item {n}. Officials said on Monday that {topic} would continue through the autumn, according to a "
        f"statement published by the regional administration, which expects about {100 + n} people to take part.",
        f"Residents interviewed for report {n} described {topic} as long overdue, while critics pointed to the "
        f"cost of {n * 7 + 3} million roubles and asked why the tender had not been published in advance.",
        f"The next update on {topic} is due in {n % 5 + 2} weeks, when the committee meets again to review the "
        f"plans, the budget and the complaints that have been sent in by local groups since the summer began.",
    ]
    return title, "\n".join(f"<p>{p}</p>" for p in paragraphs)


class DrillSite:
    """The outlet's state: which stories its feed lists, which pages are missing, how slow pages are."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.listed: list[int] = []
        self.missing: set[int] = set()
        self.page_delay = 0.0
        self.titles: dict[int, str] = {}  # a headline other than the story's own (a recurring round-up, say)
        self.canonical: dict[int, str] = {}  # a `<link rel=canonical>` for the story's page

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/feed.xml"

    def link(self, n: int) -> str:
        return f"{self.base_url}/news/{n}.html"

    def source(self, source_id: str = "outlet") -> Source:
        return Source(id=source_id, name=source_id.title(), feeds=[self.feed_url], language="en")

    def title(self, n: int) -> str:
        return self.titles.get(n) or story(n)[0]

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>{self.title(n)}</title><link>{self.link(n)}</link><description>Summary of report {n}."
            f"</description><pubDate>Mon, 14 Sep 2020 08:{n % 60:02d}:00 +0000</pubDate></item>"
            for n in self.listed
        )
        channel = f"<channel><title>Outlet</title>{items}</channel>"
        return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()

    def page(self, n: int) -> bytes | None:
        """Story `n`'s page (a story the feed no longer lists keeps its page), None when it is missing."""
        if n in self.missing:
            return None
        title, body = self.title(n), story(n)[1]
        link = f'<link rel="canonical" href="{self.canonical[n]}">' if n in self.canonical else ""
        article = f"<article><h1>{title}</h1>{body}</article>"
        return f"<html><head><title>{title}</title>{link}</head><body>{article}</body></html>".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    outlet: DrillSite


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        outlet, path = self.server.outlet, urlsplit(self.path).path
        body, kind = None, "text/html; charset=utf-8"
        if path == "/feed.xml":
            body, kind = outlet.feed(), "application/rss+xml"
        elif path.startswith("/news/") and path.endswith(".html") and path[6:-5].isdigit():
            time.sleep(outlet.page_delay)
            body = outlet.page(int(path[6:-5]))
        status, body = (200, body) if body is not None else (404, b"not found")
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # a killed run hangs up
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""


@contextmanager
def drill_site() -> Iterator[DrillSite]:
    """Serve a `DrillSite` on 127.0.0.1 (any free port) for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.outlet = DrillSite(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="drill site", daemon=True)
    thread.start()
    try:
        yield server.outlet
    finally:
        server.shutdown()
        server.server_close()
