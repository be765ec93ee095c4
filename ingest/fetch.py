"""Polite, hardened HTTP fetching of feeds and article pages.

One `Fetcher` per run: it owns the connection pool, the robots.txt cache and the per-host politeness state.
`fetch` never raises for a bad URL or a bad server: every problem becomes a `FetchResult` with a status.
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal

import httpx
import tenacity
from protego import Protego

from ingest.decode import SNIFF_BYTES, decode_text, looks_binary, looks_like_markup
from ingest.politeness import HostGate
from ingest.ssrf import AddressGuard, BlockedAddress, UnresolvableHost, guarded_transport
from mediamon.core.feeds import FetchOutcome
from mediamon.core.settings import Settings

log = logging.getLogger(__name__)

Kind = Literal["feed", "page"]

ROBOTS_MAX_BYTES = 512_000
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
KEPT_HEADERS = ("content-type", "etag", "last-modified")
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1",
}
# Bodies of these types (or none) are fetched only if they start like markup.
UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "text/xml", "application/xml"})
FEED_TYPE_HINTS = ("xml", "rss", "atom", "rdf", "json")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetched (or refused, or failed) URL."""

    requested_url: str
    final_url: str  # after redirects
    status: FetchOutcome
    http_status: int | None
    fetched_at: datetime  # UTC
    elapsed: float  # seconds
    headers: dict[str, str] = field(default_factory=dict)  # content-type, etag, last-modified if sent
    content: bytes = b""  # the decompressed body; empty unless status is ok
    text: str | None = None  # the body decoded; None unless status is ok
    encoding: str | None = None
    error: str | None = None  # what went wrong, for people

    @property
    def ok(self) -> bool:
        """Whether the body is here."""
        return self.status is FetchOutcome.OK


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back: the ETag and Last-Modified of the previous fetch."""

    etag: str | None = None
    last_modified: str | None = None


class _Failure(Exception):
    """Ends a fetch early with an outcome."""

    def __init__(self, outcome: FetchOutcome, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.http_status = http_status


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _is_retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status != 501)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _classify_transport_error(exc: httpx.TransportError) -> tuple[FetchOutcome, str]:
    if isinstance(exc, httpx.TimeoutException):
        return FetchOutcome.TIMEOUT, f"timed out ({type(exc).__name__})"
    for cause in _causes(exc):
        if isinstance(cause, UnresolvableHost | socket.gaierror):
            return FetchOutcome.DNS, str(exc)
        if isinstance(cause, ssl.SSLError):
            return FetchOutcome.TLS, f"TLS error: {cause.reason or cause}"
    return FetchOutcome.CONNECT_ERROR, f"{type(exc).__name__}: {exc}"


def _is_transient(exc: BaseException) -> bool:
    """Connection failures worth another attempt (not DNS, TLS, read timeouts or refusals)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return True
    if not isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return False
    return _classify_transport_error(exc)[0] is FetchOutcome.CONNECT_ERROR


def _robots_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against (RFC 9309): `mediamon` of `mediamon/0.1 (+...)`."""
    match = re.match(r"[A-Za-z_-]+", user_agent.strip())
    return match[0] if match else user_agent


def _host_key(url: str) -> str:
    try:
        return httpx.URL(url).host
    except (httpx.InvalidURL, TypeError):
        return ""


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _type_verdict(media: str, kind: Kind) -> Literal["accept", "sniff", "reject"]:
    """Servers lie: feeds are accepted as any XML-, RSS-, JSON- or text-ish type, pages as HTML or text."""
    if media in UNKNOWN_TYPES:
        return "sniff"
    if kind == "feed":
        ok = media.startswith("text/") or any(hint in media for hint in FEED_TYPE_HINTS)
    else:
        ok = media in PAGE_TYPES
    return "accept" if ok else "reject"


class _Inflater:
    """Streaming gzip/deflate decoding that never inflates more than `limit` bytes, whatever the ratio."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._zlib: zlib._Decompress | None = zlib.decompressobj(31) if self._gzip else None
        self._left = limit + 1  # one byte more than allowed tells the caller the body is too large

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:  # deflate: zlib-wrapped as the RFC says, or raw as some servers send it
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._zlib = zlib.decompressobj(15 if wrapped else -15)
        out = []
        while data and self._left > 0 and not self._zlib.eof:
            chunk = self._zlib.decompress(data, self._left)
            self._left -= len(chunk)
            out.append(chunk)
            data = self._zlib.unconsumed_tail
        return b"".join(out)


class Fetcher:
    """Fetches feeds and pages politely (robots.txt, per-host limits) and defensively (SSRF, size, type).

    Use as a context manager, or call `close()`.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._guard = AddressGuard(settings.allow_hosts)
        self._gate = HostGate(settings.host_min_interval, settings.host_concurrency)
        self._client = httpx.Client(
            transport=guarded_transport(self._guard),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(settings.http_timeout),
            follow_redirects=False,
            trust_env=False,
        )
        self._robots_agent = _robots_token(settings.user_agent)
        self._robots: dict[str, Protego] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def fetch(self, url: str, *, kind: Kind, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch one feed or page; conditional when `etag` or `last_modified` (from the previous fetch) is given."""
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        headers = {"Accept": ACCEPT[kind]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        final_url = url
        kept: dict[str, str] = {}
        try:
            with self._gate.hold(_host_key(url)):
                response = self._follow(url, headers, check_robots=kind == "page")
                final_url = str(response.url)
                kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
                with closing(response):
                    status, content = self._read(response, kind, started)
        except _Failure as failure:
            log.debug("fetch %s: %s (%s)", url, failure.outcome, failure.message)
            elapsed = time.monotonic() - started
            return FetchResult(
                url, final_url, failure.outcome, failure.http_status, fetched_at, elapsed, kept, error=failure.message
            )
        text, encoding = decode_text(content, response.charset_encoding) if content else (None, None)
        elapsed = time.monotonic() - started
        return FetchResult(
            url, final_url, status, response.status_code, fetched_at, elapsed, kept, content, text, encoding
        )

    def fetch_many(
        self, urls: Iterable[str], *, kind: Kind, validators: Mapping[str, Validators] | None = None
    ) -> Iterator[FetchResult]:
        """Fetch concurrently, yielding one result per URL in completion order.

        Hosts take turns, each with at most `host_concurrency` fetches in flight; `validators` maps a URL
        to what its previous fetch returned, for conditional GETs.
        """
        queues: dict[str, deque[str]] = {}
        for url in urls:
            queues.setdefault(_host_key(url), deque()).append(url)
        concurrency = max(1, self._settings.fetch_concurrency)
        per_host = max(1, self._settings.host_concurrency)
        in_flight: Counter[str] = Counter()
        futures: dict[Future[FetchResult], str] = {}
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch") as pool:
            try:
                while queues or futures:
                    progressed = True
                    while progressed and len(futures) < concurrency:
                        progressed = False
                        for host in list(queues):
                            if len(futures) >= concurrency or in_flight[host] >= per_host:
                                continue
                            url = queues[host].popleft()
                            if not queues[host]:
                                del queues[host]
                            previous = (validators or {}).get(url, Validators())
                            futures[pool.submit(self._fetch_safely, url, kind, previous)] = host
                            in_flight[host] += 1
                            progressed = True
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        in_flight[futures.pop(future)] -= 1
                        yield future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _fetch_safely(self, url: str, kind: Kind, previous: Validators) -> FetchResult:
        try:
            return self.fetch(url, kind=kind, etag=previous.etag, last_modified=previous.last_modified)
        except Exception as exc:  # a bug must not cost the other URLs their results
            log.exception("fetch %s failed unexpectedly", url)
            return FetchResult(
                url, url, FetchOutcome.CONNECT_ERROR, None, datetime.now(UTC), 0.0, error=f"internal error: {exc!r}"
            )

    def _follow(
        self, url: str, headers: dict[str, str], *, check_robots: bool, attempts: int | None = None
    ) -> httpx.Response:
        """The first non-redirect response (open, streaming), checking every hop against the guard and robots."""
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise _Failure(FetchOutcome.BLOCKED, f"refused invalid URL {url!r}: {exc}") from exc
        for _ in range(self._settings.max_redirects + 1):
            try:
                self._guard.check_url(current)
            except BlockedAddress as exc:
                raise _Failure(FetchOutcome.BLOCKED, str(exc)) from exc
            if check_robots and self._settings.respect_robots and not self._robots_allow(current):
                raise _Failure(FetchOutcome.ROBOTS, f"robots.txt of {current.host} disallows {current}")
            response = self._send(current, headers, attempts=attempts)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            try:
                current = current.join(location).copy_with(fragment=None)
            except httpx.InvalidURL as exc:
                raise _Failure(
                    FetchOutcome.BLOCKED, f"refused invalid redirect to {location!r}", http_status=response.status_code
                ) from exc
        raise _Failure(
            FetchOutcome.REDIRECT_LOOP,
            f"redirect loop: more than {self._settings.max_redirects} redirects (last to {current})",
            http_status=response.status_code,
        )

    def _send(self, url: httpx.URL, headers: dict[str, str], *, attempts: int | None = None) -> httpx.Response:
        """One GET with retries on connection errors, 429 and 5xx, honouring Retry-After up to a cap."""
        settings = self._settings
        attempts = attempts or settings.http_retries + 1
        backoff = tenacity.wait_exponential_jitter(
            multiplier=settings.retry_backoff, max=settings.retry_after_max, jitter=settings.retry_backoff
        )

        def attempt() -> httpx.Response:
            self._gate.wait_turn(url.host)
            return self._client.send(self._client.build_request("GET", url, headers=headers), stream=True)

        def asked_wait(state: tenacity.RetryCallState) -> float | None:
            if state.outcome is None or state.outcome.failed:
                return None
            return retry_after_seconds(state.outcome.result().headers.get("retry-after"))

        def should_retry(state: tenacity.RetryCallState) -> bool:
            assert state.outcome is not None
            if state.outcome.failed:
                return _is_transient(state.outcome.exception())
            return _is_retryable_status(state.outcome.result().status_code)

        def should_stop(state: tenacity.RetryCallState) -> bool:
            return state.attempt_number >= attempts or (asked_wait(state) or 0.0) > settings.retry_after_max

        def pause(state: tenacity.RetryCallState) -> float:
            asked = asked_wait(state)
            return asked if asked is not None else backoff(state)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            assert state.outcome is not None and state.next_action is not None
            if state.outcome.failed:
                problem = repr(state.outcome.exception())
            else:
                response = state.outcome.result()
                response.close()
                problem = f"HTTP {response.status_code}"
                if asked_wait(state) is not None:
                    self._gate.defer(url.host, state.next_action.sleep)
            log.info("retrying %s in %.1fs after %s", url, state.next_action.sleep, problem)

        retrying = tenacity.Retrying(
            retry=should_retry,
            stop=should_stop,
            wait=pause,
            before_sleep=before_sleep,
            retry_error_callback=lambda state: state.outcome.result(),
        )
        try:
            return retrying(attempt)
        except BlockedAddress as exc:
            raise _Failure(FetchOutcome.BLOCKED, str(exc)) from exc
        except httpx.TransportError as exc:
            raise _Failure(*_classify_transport_error(exc)) from exc

    def _read(self, response: httpx.Response, kind: Kind, started: float) -> tuple[FetchOutcome, bytes]:
        """Check the status and type, then download the capped body; (ok, body) or (not_modified, b"")."""
        status = response.status_code
        reason = f"HTTP {status} {response.reason_phrase}".strip()
        if status == 304:
            return FetchOutcome.NOT_MODIFIED, b""
        if status >= 500:
            raise _Failure(FetchOutcome.HTTP_5XX, reason, http_status=status)
        if status >= 400:
            raise _Failure(FetchOutcome.HTTP_4XX, reason, http_status=status)
        if not 200 <= status < 300:
            raise _Failure(FetchOutcome.BAD_CONTENT, f"{reason} is not a usable answer", http_status=status)
        media = _media_type(response.headers.get("content-type"))
        verdict = _type_verdict(media, kind)
        if verdict == "reject":
            raise _Failure(FetchOutcome.BAD_CONTENT, f"content type {media} is not a {kind}", http_status=status)
        limit = self._settings.max_page_bytes
        body = bytearray()
        for chunk in self._body(response, limit, started):
            sniffed = len(body) < SNIFF_BYTES <= len(body) + len(chunk)
            body += chunk
            if len(body) > limit:
                raise _Failure(FetchOutcome.TOO_LARGE, f"body larger than {limit} bytes", http_status=status)
            if sniffed:
                self._sniff(bytes(body), verdict, status)
        if not body:
            raise _Failure(FetchOutcome.BAD_CONTENT, "empty body", http_status=status)
        if len(body) < SNIFF_BYTES:
            self._sniff(bytes(body), verdict, status)
        return FetchOutcome.OK, bytes(body)

    @staticmethod
    def _sniff(head: bytes, verdict: str, status: int) -> None:
        if looks_binary(head):
            raise _Failure(FetchOutcome.BAD_CONTENT, "binary content (sniffed)", http_status=status)
        if verdict == "sniff" and not looks_like_markup(head):
            raise _Failure(FetchOutcome.BAD_CONTENT, "untyped content that is not markup", http_status=status)

    def _body(self, response: httpx.Response, limit: int, started: float) -> Iterator[bytes]:
        """The decompressed body in chunks, stopping early past `limit` bytes (raw or inflated) or the deadline."""
        status = response.status_code
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Failure(
                FetchOutcome.TOO_LARGE, f"Content-Length {declared} exceeds {limit} bytes", http_status=status
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise _Failure(FetchOutcome.BAD_CONTENT, f"unsupported Content-Encoding {encoding!r}", http_status=status)
        inflater = _Inflater(encoding, limit) if encoding in ("gzip", "x-gzip", "deflate") else None
        deadline = started + self._settings.fetch_deadline
        received = 0
        try:
            for raw in response.iter_raw():
                received += len(raw)
                if received > limit:
                    raise _Failure(FetchOutcome.TOO_LARGE, f"body larger than {limit} bytes", http_status=status)
                if time.monotonic() > deadline:
                    raise _Failure(
                        FetchOutcome.TIMEOUT,
                        f"download took longer than {self._settings.fetch_deadline:g}s",
                        http_status=status,
                    )
                yield inflater.feed(raw) if inflater else raw
        except zlib.error as exc:
            raise _Failure(FetchOutcome.BAD_CONTENT, f"corrupt {encoding} body: {exc}", http_status=status) from exc
        except httpx.TransportError as exc:
            outcome, message = _classify_transport_error(exc)
            raise _Failure(outcome, f"{message} while reading the body", http_status=status) from exc

    def _robots_allow(self, url: httpx.URL) -> bool:
        """Whether robots.txt lets our user agent fetch the URL; robots.txt is fetched once per origin, and its
        Crawl-delay for us then slows the host down."""
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            rules = self._robots.get(origin)
            if rules is None:
                rules = self._robots[origin] = self._load_robots(origin)
                self._honour_crawl_delay(url.host, origin, rules)
        return rules.can_fetch(str(url), self._robots_agent)

    def _honour_crawl_delay(self, host: str, origin: str, rules: Protego) -> None:
        """Make the host's interval between requests at least its Crawl-delay for us, up to `crawl_delay_max`."""
        delay = rules.crawl_delay(self._robots_agent)
        if not delay:
            return
        cap = self._settings.crawl_delay_max
        if delay > cap:
            log.warning("robots.txt of %s asks for a Crawl-delay of %gs; waiting %gs instead", origin, delay, cap)
        else:
            log.info("robots.txt of %s asks for a Crawl-delay of %gs", origin, delay)
        self._gate.slow_down(host, min(delay, cap))

    def _load_robots(self, origin: str) -> Protego:
        """Parse robots.txt (RFC 9309, with Crawl-delay); a 4xx allows everything, and so (with a warning) do 5xx,
        timeouts and the like.

        A refused or unresolvable host fails the fetch that asked, and is not cached.
        """
        url = f"{origin}/robots.txt"
        started = time.monotonic()
        try:
            response = self._follow(url, {"Accept": "text/plain, */*;q=0.1"}, check_robots=False, attempts=1)
            with closing(response):
                status = response.status_code
                if 200 <= status < 300:
                    body = b"".join(self._body(response, ROBOTS_MAX_BYTES, started))
                    if len(body) > ROBOTS_MAX_BYTES:
                        raise _Failure(FetchOutcome.TOO_LARGE, f"larger than {ROBOTS_MAX_BYTES} bytes")
                    return Protego.parse(body.decode("utf-8", "replace"))
                if not 400 <= status < 500:
                    log.warning("robots.txt %s answered HTTP %d; allowing everything", url, status)
        except _Failure as failure:
            if failure.outcome in (FetchOutcome.BLOCKED, FetchOutcome.DNS):  # the site's fault, not robots.txt's
                raise
            log.warning("robots.txt %s unavailable (%s); allowing everything", url, failure.message)
        return Protego.parse("")  # no rules: everything allowed
