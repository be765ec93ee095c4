"""The fetcher against a real HTTP server on 127.0.0.1 (tests/http_fixtures.py)."""

from __future__ import annotations

import gzip
import ipaddress
import logging
import socket
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from ingest.fetch import Fetcher, Validators, retry_after_seconds
from ingest.ssrf import AddressGuard, is_public_address
from mediamon.core.feeds import FetchOutcome
from mediamon.core.settings import Settings
from tests.http_fixtures import LocalServer, Reply, Seen

HTML = "text/html; charset=utf-8"
PAGE = (
    "<!doctype html><html><head><title>Story</title></head><body><p>"
    + "Words of the story. " * 60
    + "</p></body></html>"
).encode()
RUSSIAN = (
    "<html><head><title>Новости</title></head><body><p>Президент Беларуси встретился с делегацией. "
    "В Минске прошли переговоры о сотрудничестве в области экономики, образования и культуры.</p></body></html>"
)
LIMIT = 100_000


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "allow_hosts": ["127.0.0.1"],
        "http_timeout": 0.5,
        "fetch_deadline": 5.0,
        "max_page_bytes": LIMIT,
        "host_min_interval": 0.0,
        "retry_backoff": 0.05,
        "retry_after_max": 5.0,
        "http_retries": 2,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(make_settings()) as instance:
        yield instance


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and refuse) every name lookup and socket connect."""
    calls: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise OSError("network use in a test that must not touch the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return calls


# Plain answers, errors and retries.


def test_ok_page(server: LocalServer, fetcher: Fetcher):
    server.route("/story", Reply(200, PAGE, {"Content-Type": HTML, "ETag": '"v1"', "X-Other": "x"}))
    result = fetcher.fetch(server.url("/story"), kind="page")
    assert result.ok and result.status is FetchOutcome.OK
    assert (result.http_status, result.content, result.encoding) == (200, PAGE, "utf-8")
    assert result.text == PAGE.decode()
    assert result.headers == {"content-type": HTML, "etag": '"v1"'}
    assert result.final_url == result.requested_url == server.url("/story")
    assert result.error is None and result.elapsed > 0
    assert abs(result.fetched_at - datetime.now(UTC)) < timedelta(minutes=1)
    request = server.seen("/story")[0]
    assert request.headers["user-agent"] == make_settings().user_agent
    assert "text/html" in request.headers["accept"]


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_not_retried(server: LocalServer, fetcher: Fetcher, status: int):
    server.route("/gone", Reply(status, b"no", {"Content-Type": "text/plain"}))
    result = fetcher.fetch(server.url("/gone"), kind="page")
    assert (result.status, result.http_status) == (FetchOutcome.HTTP_4XX, status)
    assert str(status) in result.error
    assert result.content == b"" and result.text is None
    assert len(server.seen("/gone")) == 1


def test_server_error_then_success_is_retried(server: LocalServer, fetcher: Fetcher):
    server.route("/flaky", Reply(500), Reply(200, PAGE, {"Content-Type": HTML}))
    result = fetcher.fetch(server.url("/flaky"), kind="page")
    assert result.ok and result.content == PAGE
    assert len(server.seen("/flaky")) == 2


def test_persistent_server_error_gives_up_after_the_retries(server: LocalServer, fetcher: Fetcher):
    server.route("/down", Reply(503))
    result = fetcher.fetch(server.url("/down"), kind="page")
    assert (result.status, result.http_status) == (FetchOutcome.HTTP_5XX, 503)
    assert len(server.seen("/down")) == 3  # http_retries=2


def test_429_waits_for_retry_after(server: LocalServer, fetcher: Fetcher):
    server.route("/busy", Reply(429, b"", {"Retry-After": "1"}), Reply(200, PAGE, {"Content-Type": HTML}))
    result = fetcher.fetch(server.url("/busy"), kind="page")
    assert result.ok
    first, second = server.seen("/busy")
    assert second.at - first.at >= 1.0


def test_retry_after_beyond_the_cap_ends_the_fetch(server: LocalServer, fetcher: Fetcher):
    server.route("/later", Reply(429, b"", {"Retry-After": "3600"}), Reply(200, PAGE, {"Content-Type": HTML}))
    result = fetcher.fetch(server.url("/later"), kind="page")
    assert (result.status, result.http_status) == (FetchOutcome.HTTP_4XX, 429)
    assert len(server.seen("/later")) == 1


def test_retry_after_parsing():
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_dropped_connection_is_retried():
    """A raw server that hangs up on the first connection and answers the second."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            connections.append(conn)
            if len(connections) == 2:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(PAGE))
                conn.sendall(PAGE)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    with Fetcher(make_settings(respect_robots=False)) as fetcher:
        result = fetcher.fetch(f"http://127.0.0.1:{port}/x", kind="page")
    listener.close()
    assert result.ok and result.content == PAGE
    assert len(connections) == 2


def test_connection_refused(fetcher: Fetcher):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    result = fetcher.fetch(f"http://127.0.0.1:{port}/", kind="feed")
    assert result.status is FetchOutcome.CONNECT_ERROR
    assert result.error


def test_tls_failure(server: LocalServer, fetcher: Fetcher):
    result = fetcher.fetch(f"https://127.0.0.1:{server.port}/", kind="feed")  # a plain-HTTP server
    assert result.status is FetchOutcome.TLS
    assert "TLS" in result.error


def test_dns_failure(fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch):
    def unknown(host: str, *args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    result = fetcher.fetch("http://no-such-host.invalid/feed", kind="feed")
    assert result.status is FetchOutcome.DNS
    assert "no-such-host.invalid" in result.error


# Timeouts.


def test_a_server_slower_than_the_timeout(server: LocalServer, fetcher: Fetcher):
    server.route("/slow", Reply(200, PAGE, {"Content-Type": HTML}, delay=1.5))
    result = fetcher.fetch(server.url("/slow"), kind="feed")
    assert result.status is FetchOutcome.TIMEOUT
    assert len(server.seen("/slow")) == 1  # a read timeout is not retried


def test_a_trickling_body_hits_the_deadline(server: LocalServer):
    server.route("/drip", Reply(200, headers={"Content-Type": HTML}, chunks=(b"<p>",) + (b"x",) * 50, pause=0.1))
    with Fetcher(make_settings(fetch_deadline=0.5)) as fetcher:
        result = fetcher.fetch(server.url("/drip"), kind="feed")
    assert result.status is FetchOutcome.TIMEOUT
    assert "longer than" in result.error


# Redirects.


def test_three_redirects_that_end_well(server: LocalServer, fetcher: Fetcher):
    server.route("/r1", Reply(301, headers={"Location": "/r2"}))
    server.route("/r2", Reply(302, headers={"Location": server.url("/r3")}))
    server.route("/r3", Reply(307, headers={"Location": "final#top"}))
    server.route("/final", Reply(200, PAGE, {"Content-Type": HTML}))
    result = fetcher.fetch(server.url("/r1"), kind="page")
    assert result.ok and result.content == PAGE
    assert (result.requested_url, result.final_url) == (server.url("/r1"), server.url("/final"))
    assert [r.path for r in server.requests if r.path != "/robots.txt"] == ["/r1", "/r2", "/r3", "/final"]


def test_redirect_loop(server: LocalServer, fetcher: Fetcher):
    server.route("/a", Reply(302, headers={"Location": "/b"}))
    server.route("/b", Reply(302, headers={"Location": "/a"}))
    result = fetcher.fetch(server.url("/a"), kind="page")
    assert result.status is FetchOutcome.REDIRECT_LOOP
    assert result.http_status == 302
    assert len(server.seen("/a")) + len(server.seen("/b")) == 6  # max_redirects=5, then it stops


def test_too_many_redirects(server: LocalServer):
    for hop in range(4):
        server.route(f"/hop{hop}", Reply(302, headers={"Location": f"/hop{hop + 1}"}))
    server.route("/hop4", Reply(200, PAGE, {"Content-Type": HTML}))
    with Fetcher(make_settings(max_redirects=3)) as fetcher:
        assert fetcher.fetch(server.url("/hop0"), kind="feed").status is FetchOutcome.REDIRECT_LOOP
    assert not server.seen("/hop4")


# Size limits.


def test_declared_oversize_is_refused(server: LocalServer, fetcher: Fetcher):
    server.route("/big", Reply(200, b"<p>" + b"x" * (LIMIT + 10), {"Content-Type": HTML}))
    result = fetcher.fetch(server.url("/big"), kind="page")
    assert result.status is FetchOutcome.TOO_LARGE
    assert "Content-Length" in result.error


def test_chunked_oversize_is_cut_off(server: LocalServer, fetcher: Fetcher):
    server.route("/stream", Reply(200, headers={"Content-Type": HTML}, chunks=(b"<p>" + b"x" * 30_000,) * 10))
    result = fetcher.fetch(server.url("/stream"), kind="page")
    assert result.status is FetchOutcome.TOO_LARGE
    assert result.content == b""


def test_gzip_bomb_is_cut_off_without_inflating_it(server: LocalServer, fetcher: Fetcher):
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < LIMIT // 2  # small on the wire, 500 times the cap inflated
    server.route("/bomb", Reply(200, bomb, {"Content-Type": HTML, "Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        result = fetcher.fetch(server.url("/bomb"), kind="page")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status is FetchOutcome.TOO_LARGE
    assert peak < 20 * LIMIT  # the whole bomb inflated would be 50 MB


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw deflate, as some servers send it
    ],
)
def test_compressed_bodies_are_inflated(server: LocalServer, fetcher: Fetcher, encoding, compress):
    server.route("/z", Reply(200, compress(PAGE), {"Content-Type": HTML, "Content-Encoding": encoding}))
    result = fetcher.fetch(server.url("/z"), kind="page")
    assert result.ok and result.content == PAGE
    assert "gzip" in server.seen("/z")[0].headers["accept-encoding"]


def test_unsupported_content_encoding(server: LocalServer, fetcher: Fetcher):
    server.route("/br", Reply(200, b"\x1b\x00", {"Content-Type": HTML, "Content-Encoding": "br"}))
    assert fetcher.fetch(server.url("/br"), kind="page").status is FetchOutcome.BAD_CONTENT


# Content types and binary sniffing.

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89" + b"\0" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 20
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.mark.parametrize(
    ("kind", "content_type", "body", "expected"),
    [
        ("page", "text/html", PNG, FetchOutcome.BAD_CONTENT),
        ("page", "text/html; charset=utf-8", PDF, FetchOutcome.BAD_CONTENT),
        ("page", "image/png", PNG, FetchOutcome.BAD_CONTENT),
        ("page", "application/pdf", PDF, FetchOutcome.BAD_CONTENT),
        ("page", "application/json", b'{"a": 1}', FetchOutcome.BAD_CONTENT),
        ("page", "application/octet-stream", PNG, FetchOutcome.BAD_CONTENT),
        ("page", "application/octet-stream", PAGE, FetchOutcome.OK),
        ("page", None, PAGE, FetchOutcome.OK),
        ("page", "application/xhtml+xml", PAGE, FetchOutcome.OK),
        ("feed", "application/rss+xml", RSS, FetchOutcome.OK),
        ("feed", "text/html", RSS, FetchOutcome.OK),
        ("feed", "application/octet-stream", RSS, FetchOutcome.OK),
        ("feed", "image/jpeg", RSS, FetchOutcome.BAD_CONTENT),
        ("feed", "application/xml", PNG, FetchOutcome.BAD_CONTENT),
        ("page", "text/html", b"", FetchOutcome.BAD_CONTENT),
    ],
)
def test_content_type_and_sniffing(server: LocalServer, fetcher: Fetcher, kind, content_type, body, expected):
    server.route("/thing", Reply(200, body, {"Content-Type": content_type} if content_type else {}))
    result = fetcher.fetch(server.url("/thing"), kind=kind)
    assert result.status is expected, result.error
    assert result.content == (body if expected is FetchOutcome.OK else b"")


# Character sets.


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html; charset=ISO-8859-1", "text/html"])
def test_cp1251_page_with_a_wrong_or_no_label(server: LocalServer, fetcher: Fetcher, content_type):
    server.route("/ru", Reply(200, RUSSIAN.encode("cp1251"), {"Content-Type": content_type}))
    result = fetcher.fetch(server.url("/ru"), kind="page")
    assert result.ok
    assert "Президент Беларуси" in result.text
    assert result.encoding == "cp1251"


def test_meta_charset_only(server: LocalServer, fetcher: Fetcher):
    html = RUSSIAN.replace("<head>", '<head><meta charset="koi8-r">')
    server.route("/meta", Reply(200, html.encode("koi8-r"), {"Content-Type": "text/html"}))
    result = fetcher.fetch(server.url("/meta"), kind="page")
    assert (result.text, result.encoding) == (html, "koi8-r")


def test_feed_keeps_its_bytes_and_reads_the_xml_declaration(server: LocalServer, fetcher: Fetcher):
    feed = '<?xml version="1.0" encoding="windows-1251"?><rss><channel><title>Навіны Беларусі</title></channel></rss>'
    server.route("/feed.xml", Reply(200, feed.encode("cp1251"), {"Content-Type": "text/xml"}))
    result = fetcher.fetch(server.url("/feed.xml"), kind="feed")
    assert result.content == feed.encode("cp1251")
    assert result.text == feed


# Conditional GET.


def conditional(etag: str, modified: str):
    def reply(request: Seen) -> Reply:
        if request.headers.get("if-none-match") == etag or request.headers.get("if-modified-since") == modified:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, RSS, {"Content-Type": "application/rss+xml", "ETag": etag, "Last-Modified": modified})

    return reply


def test_conditional_get(server: LocalServer, fetcher: Fetcher):
    modified = "Wed, 01 Jan 2025 10:00:00 GMT"
    server.route("/feed", conditional('"abc"', modified))
    first = fetcher.fetch(server.url("/feed"), kind="feed")
    assert first.ok and first.headers["etag"] == '"abc"' and first.headers["last-modified"] == modified
    again = fetcher.fetch(server.url("/feed"), kind="feed", etag=first.headers["etag"])
    assert (again.status, again.http_status, again.content, again.text) == (FetchOutcome.NOT_MODIFIED, 304, b"", None)
    by_date = fetcher.fetch(server.url("/feed"), kind="feed", last_modified=modified)
    assert by_date.status is FetchOutcome.NOT_MODIFIED
    stale = fetcher.fetch(server.url("/feed"), kind="feed", etag='"old"')
    assert stale.ok
    assert [r.headers.get("if-none-match") for r in server.seen("/feed")] == [None, '"abc"', None, '"old"']
    assert server.seen("/feed")[2].headers["if-modified-since"] == modified


# robots.txt.


def test_robots_disallow_is_obeyed_for_pages_only(server: LocalServer, fetcher: Fetcher):
    server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private\n", {"Content-Type": "text/plain"}))
    server.route("/private/story", Reply(200, PAGE, {"Content-Type": HTML}))
    server.route("/private/feed", Reply(200, RSS, {"Content-Type": "application/rss+xml"}))
    server.route("/public", Reply(200, PAGE, {"Content-Type": HTML}))
    blocked = fetcher.fetch(server.url("/private/story"), kind="page")
    assert blocked.status is FetchOutcome.ROBOTS
    assert "robots.txt" in blocked.error
    assert fetcher.fetch(server.url("/public"), kind="page").ok
    assert fetcher.fetch(server.url("/private/feed"), kind="feed").ok
    assert not server.seen("/private/story")
    robots = server.seen("/robots.txt")
    assert len(robots) == 1  # cached
    assert robots[0].headers["user-agent"] == make_settings().user_agent


def test_robots_group_for_our_user_agent(server: LocalServer, fetcher: Fetcher):
    rules = b"User-agent: *\nAllow: /\n\nUser-agent: mediamon\nDisallow: /\n"
    server.route("/robots.txt", Reply(200, rules, {"Content-Type": "text/plain"}))
    server.route("/story", Reply(200, PAGE, {"Content-Type": HTML}))
    assert fetcher.fetch(server.url("/story"), kind="page").status is FetchOutcome.ROBOTS


def robots_verdicts(server: LocalServer, fetcher: Fetcher, rules: str, paths: list[str]) -> dict[str, bool]:
    """Whether each path may be fetched (as a page) under `rules`."""
    server.route("/robots.txt", Reply(200, rules.encode(), {"Content-Type": "text/plain"}))
    for path in paths:
        server.route(path.partition("?")[0], Reply(200, PAGE, {"Content-Type": HTML}))
    verdicts = {path: fetcher.fetch(server.url(path), kind="page").status for path in paths}
    assert set(verdicts.values()) <= {FetchOutcome.OK, FetchOutcome.ROBOTS}
    assert len(server.seen("/robots.txt")) == 1
    return {path: status is FetchOutcome.OK for path, status in verdicts.items()}


@pytest.mark.parametrize(
    "rules",
    [
        "User-agent: *\nDisallow: /news/\nAllow: /news/public/\nAllow: /page\nDisallow: /page\n",
        "User-agent: *\nAllow: /news/public/\nDisallow: /page\nAllow: /page\nDisallow: /news/\n",
    ],
)
def test_robots_longest_match_wins_whatever_the_order(server: LocalServer, fetcher: Fetcher, rules: str):
    """RFC 9309 2.2.2: the most specific (longest) rule decides; between equals, Allow."""
    paths = ["/news/story", "/news/public/story", "/news/publicity", "/page", "/elsewhere"]
    assert robots_verdicts(server, fetcher, rules, paths) == {
        "/news/story": False,
        "/news/public/story": True,
        "/news/publicity": False,
        "/page": True,
        "/elsewhere": True,
    }


def test_robots_wildcards_and_end_anchor(server: LocalServer, fetcher: Fetcher):
    rules = "User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?print=\nDisallow: /archive/*/old\n"
    paths = ["/doc.pdf", "/doc.pdf?page=2", "/doc.pdfx", "/story?print=1", "/story", "/archive/2020/old", "/archive/"]
    assert robots_verdicts(server, fetcher, rules, paths) == {
        "/doc.pdf": False,
        "/doc.pdf?page=2": True,  # $ anchors the end of the path and query
        "/doc.pdfx": True,
        "/story?print=1": False,
        "/story": True,
        "/archive/2020/old": False,
        "/archive/": True,
    }


def test_robots_only_our_group_applies_not_merged_with_the_star_group(server: LocalServer, fetcher: Fetcher):
    rules = (
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: otherbot\nAllow: /\n\n"
        "User-agent: MediaMon\nDisallow: /private/\n"  # product tokens match case-insensitively
    )
    paths = ["/news/story", "/private/story"]
    assert robots_verdicts(server, fetcher, rules, paths) == {"/news/story": True, "/private/story": False}


def test_robots_group_matches_our_product_token_not_words_of_our_user_agent(server: LocalServer):
    rules = "User-agent: github\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    settings = make_settings(user_agent="mediamon/0.1 (+https://github.com/mediamon/mediamon)")
    with Fetcher(settings) as fetcher:
        assert robots_verdicts(server, fetcher, rules, ["/story"]) == {"/story": True}


def page_arrivals(server: LocalServer, fetcher: Fetcher, rules: str, pages: int) -> list[float]:
    """Arrival times of robots.txt and then `pages` page requests, fetched one after the other."""
    server.route("/robots.txt", Reply(200, rules.encode(), {"Content-Type": "text/plain"}))
    server.route("/p", Reply(200, PAGE, {"Content-Type": HTML}))
    assert all(fetcher.fetch(server.url(f"/p?n={n}"), kind="page").ok for n in range(pages))
    return [request.at for request in server.requests]


def gaps(arrivals: list[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]


def test_crawl_delay_for_our_agent_spaces_the_requests_to_the_host(server: LocalServer, fetcher: Fetcher):
    rules = "User-agent: *\nCrawl-delay: 5\n\nUser-agent: mediamon\nCrawl-delay: 0.3\nAllow: /\n"
    arrivals = page_arrivals(server, fetcher, rules, 3)
    assert len(arrivals) == 4  # robots.txt, then the pages
    assert all(0.28 <= gap < 2.0 for gap in gaps(arrivals)), gaps(arrivals)


def test_crawl_delay_of_another_agent_is_not_ours(server: LocalServer, fetcher: Fetcher):
    arrivals = page_arrivals(server, fetcher, "User-agent: otherbot\nCrawl-delay: 5\n", 3)
    assert all(gap < 1.0 for gap in gaps(arrivals)), gaps(arrivals)


def test_a_crawl_delay_beyond_the_cap_is_capped_and_logged(server: LocalServer, caplog: pytest.LogCaptureFixture):
    with Fetcher(make_settings(crawl_delay_max=0.3)) as fetcher, caplog.at_level(logging.WARNING, "ingest.fetch"):
        arrivals = page_arrivals(server, fetcher, "User-agent: *\nCrawl-delay: 86400\n", 2)
    assert all(0.28 <= gap < 2.0 for gap in gaps(arrivals)), gaps(arrivals)
    assert any("Crawl-delay of 86400s" in record.getMessage() for record in caplog.records)


def test_crawl_delay_holds_for_concurrent_fetches_to_the_host(server: LocalServer):
    server.route("/robots.txt", Reply(200, b"User-agent: *\nCrawl-delay: 0.3\n", {"Content-Type": "text/plain"}))
    server.route("/p", Reply(200, PAGE, {"Content-Type": HTML}))
    settings = make_settings(host_concurrency=4, fetch_concurrency=8)
    with Fetcher(settings) as fetcher:
        results = list(fetcher.fetch_many([server.url(f"/p?n={n}") for n in range(3)], kind="page"))
    assert [result.status for result in results] == [FetchOutcome.OK] * 3
    arrivals = sorted(request.at for request in server.requests)
    assert len(arrivals) == 4 and all(gap >= 0.28 for gap in gaps(arrivals)), gaps(arrivals)


def test_robots_can_be_switched_off(server: LocalServer):
    server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /\n", {"Content-Type": "text/plain"}))
    server.route("/story", Reply(200, PAGE, {"Content-Type": HTML}))
    with Fetcher(make_settings(respect_robots=False)) as fetcher:
        assert fetcher.fetch(server.url("/story"), kind="page").ok
    assert not server.seen("/robots.txt")


@pytest.mark.parametrize(
    "robots", [Reply(404), Reply(500), Reply(200, b"\0" * 600_000, {"Content-Type": "text/plain"})]
)
def test_missing_or_broken_robots_allows_all(server: LocalServer, fetcher: Fetcher, robots: Reply):
    server.route("/robots.txt", robots)
    server.route("/story", Reply(200, PAGE, {"Content-Type": HTML}))
    assert fetcher.fetch(server.url("/story"), kind="page").ok
    assert fetcher.fetch(server.url("/story"), kind="page").ok
    assert len(server.seen("/robots.txt")) == 1  # not retried, and cached


# SSRF guard.


def test_loopback_without_the_allow_list_never_reaches_the_server(server: LocalServer):
    server.route("/story", Reply(200, PAGE, {"Content-Type": HTML}))
    with Fetcher(make_settings(allow_hosts=[])) as fetcher:
        for url in (server.url("/story"), server.url("/story", host="localhost")):
            result = fetcher.fetch(url, kind="page")
            assert result.status is FetchOutcome.BLOCKED, url
            assert "non-public" in result.error
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "ftp://example.com/feed",
        "gopher://example.com/",
        "not a url",
    ],
)
def test_blocked_without_any_network_traffic(fetcher: Fetcher, no_network: list[object], url: str):
    result = fetcher.fetch(url, kind="page")
    assert result.status is FetchOutcome.BLOCKED
    assert result.error
    assert no_network == []


def test_hostnames_are_checked_at_connect_time(fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch):
    """A public-looking name that resolves to a private address (DNS rebinding) is refused."""
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80))]
    )
    result = fetcher.fetch("http://news.example.com/story", kind="feed")
    assert result.status is FetchOutcome.BLOCKED
    assert "10.1.2.3" in result.error


# 169.254.169.254 (cloud metadata), 127.0.0.1 and 10.0.0.1 dressed as IPv6: NAT64, IPv4-compatible, local-use
# NAT64, SIIT and Teredo (server 65.54.227.120, client 192.0.2.45).
DISGUISED_IPV4 = [
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "::7f00:1",
    "::a9fe:a9fe",
    "64:ff9b:1::a9fe:a9fe",
    "::ffff:0:a9fe:a9fe",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]


@pytest.mark.parametrize("address", DISGUISED_IPV4)
def test_ipv6_literals_embedding_a_non_public_ipv4_are_blocked(
    fetcher: Fetcher, no_network: list[object], address: str
):
    result = fetcher.fetch(f"http://[{address}]/latest/meta-data/", kind="page")
    assert result.status is FetchOutcome.BLOCKED
    assert "non-public" in result.error
    assert no_network == []


@pytest.mark.parametrize("address", DISGUISED_IPV4)
def test_hostnames_resolving_to_ipv6_embedding_a_non_public_ipv4_are_blocked(
    fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch, address: str
):
    connects: list[object] = []
    answer = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 80, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answer)
    monkeypatch.setattr(socket.socket, "connect", lambda *a: connects.append(a))
    result = fetcher.fetch("http://news.example.com/story", kind="feed")
    assert result.status is FetchOutcome.BLOCKED
    assert address in result.error
    assert connects == []


def test_a_nat64_address_of_a_public_ipv4_is_connected_to(monkeypatch: pytest.MonkeyPatch):
    """Behind DNS64 every IPv4-only site resolves to the well-known NAT64 prefix."""
    answer = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::5db8:d822", 80, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answer)
    assert AddressGuard([]).resolve("news.example.com", 80) == ["64:ff9b::5db8:d822"]


def test_every_redirect_hop_is_checked(server: LocalServer, fetcher: Fetcher):
    server.route("/to-metadata", Reply(302, headers={"Location": "http://169.254.169.254/latest/"}))
    server.route("/to-localhost", Reply(302, headers={"Location": server.url("/story", host="localhost")}))
    server.route("/to-file", Reply(302, headers={"Location": "file:///etc/passwd"}))
    server.route("/story", Reply(200, PAGE, {"Content-Type": HTML}))
    for path in ("/to-metadata", "/to-localhost", "/to-file"):
        assert fetcher.fetch(server.url(path), kind="feed").status is FetchOutcome.BLOCKED, path
    assert not server.seen("/story")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fd00:ec2::254", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:808:808::", True),  # 6to4 of 8.8.8.8
        ("ff02::1", False),
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::c0a8:101", False),  # 192.168.1.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8: how an IPv4-only site resolves behind DNS64
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64: refused whatever it embeds
        ("64:ff9b:1::808:808", False),
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::a9fe:a9fe", False),
        ("::808:808", True),
        ("::", False),
        ("::ffff:0:7f00:1", False),  # SIIT (unallocated space)
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo: refused whatever it embeds
        ("2001:0:808:808:0:0:f7f7:f7f7", False),  # Teredo, server and client 8.8.8.8
    ],
)
def test_public_addresses(address: str, public: bool):
    assert is_public_address(ipaddress.ip_address(address)) is public


# Concurrency and politeness.


def test_fetch_many_keeps_the_minimum_interval_per_host(server: LocalServer):
    server.route("/p", Reply(200, PAGE, {"Content-Type": HTML}))
    settings = make_settings(host_min_interval=0.2, host_concurrency=4, fetch_concurrency=8, respect_robots=False)
    with Fetcher(settings) as fetcher:
        results = list(fetcher.fetch_many([server.url(f"/p?n={n}") for n in range(4)], kind="page"))
    assert all(result.ok for result in results)
    arrivals = sorted(request.at for request in server.requests)
    assert len(arrivals) == 4
    assert all(later - earlier >= 0.18 for earlier, later in zip(arrivals, arrivals[1:], strict=False))


@pytest.mark.parametrize("per_host", [1, 2])
def test_fetch_many_caps_requests_in_flight_per_host(server: LocalServer, per_host: int):
    server.route("/slow", Reply(200, PAGE, {"Content-Type": HTML}, delay=0.15))
    settings = make_settings(host_concurrency=per_host, fetch_concurrency=8, respect_robots=False)
    with Fetcher(settings) as fetcher:
        results = list(fetcher.fetch_many([server.url(f"/slow?n={n}") for n in range(6)], kind="page"))
    assert [result.status for result in results] == [FetchOutcome.OK] * 6
    assert server.max_in_flight == per_host


def test_fetch_many_yields_one_result_per_url(server: LocalServer):
    server.route("/good", Reply(200, PAGE, {"Content-Type": HTML}))
    server.route("/missing", Reply(404))
    server.route("/slow", Reply(200, PAGE, {"Content-Type": HTML}, delay=1.5))
    server.route("/loop", Reply(302, headers={"Location": "/loop"}))
    server.route("/big", Reply(200, b"x" * (LIMIT + 1), {"Content-Type": HTML}))
    expected = {
        server.url("/good"): FetchOutcome.OK,
        server.url("/missing"): FetchOutcome.HTTP_4XX,
        server.url("/slow"): FetchOutcome.TIMEOUT,
        server.url("/loop"): FetchOutcome.REDIRECT_LOOP,
        server.url("/big"): FetchOutcome.TOO_LARGE,
        "http://10.0.0.1/": FetchOutcome.BLOCKED,
        "file:///etc/passwd": FetchOutcome.BLOCKED,
        "": FetchOutcome.BLOCKED,
        "not a url": FetchOutcome.BLOCKED,
    }
    urls = [*expected, server.url("/good")]  # a duplicate gets its own result
    with Fetcher(make_settings(respect_robots=False)) as fetcher:
        results = list(fetcher.fetch_many(iter(urls), kind="page"))
    assert Counter(result.requested_url for result in results) == Counter(urls)
    assert {result.requested_url: result.status for result in results} == expected


def test_fetch_many_sends_conditional_requests(server: LocalServer, fetcher: Fetcher):
    server.route("/feed", conditional('"abc"', "Wed, 01 Jan 2025 10:00:00 GMT"))
    server.route("/other", conditional('"xyz"', "Wed, 01 Jan 2025 10:00:00 GMT"))
    previous = {server.url("/feed"): Validators(etag='"abc"')}
    results = {
        r.requested_url: r.status
        for r in fetcher.fetch_many([server.url("/feed"), server.url("/other")], kind="feed", validators=previous)
    }
    assert results == {server.url("/feed"): FetchOutcome.NOT_MODIFIED, server.url("/other"): FetchOutcome.OK}


def test_fetch_many_can_be_abandoned(server: LocalServer):
    server.route("/p", Reply(200, PAGE, {"Content-Type": HTML}, delay=0.05))
    settings = make_settings(fetch_concurrency=2, host_concurrency=2, respect_robots=False)
    with Fetcher(settings) as fetcher:
        started = time.monotonic()
        stream = fetcher.fetch_many([server.url(f"/p?n={n}") for n in range(50)], kind="page")
        assert next(stream).ok
        stream.close()
        assert time.monotonic() - started < 2.0
    assert len(server.requests) < 50
