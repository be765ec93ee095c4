"""Per-host politeness: a cap on fetches in flight to one host and a minimum interval between its requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class HostGate:
    """Thread-safe gate shared by all workers of one fetcher."""

    def __init__(self, min_interval: float, concurrency: int) -> None:
        self._interval = max(0.0, min_interval)
        self._concurrency = max(1, concurrency)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._intervals: dict[str, float] = {}  # hosts that asked for a longer interval

    @contextmanager
    def hold(self, host: str) -> Iterator[None]:
        """Occupy one of the host's fetch slots for the duration of the block (waits for a free one)."""
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self._concurrency))
        with slot:
            yield

    def wait_turn(self, host: str) -> None:
        """Sleep until this request may start: `min_interval` after the previous start for the host."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self._intervals.get(host, self._interval)
        if start > now:
            time.sleep(start - now)

    def defer(self, host: str, seconds: float) -> None:
        """Hold every request to a host for `seconds` (the host asked for it with Retry-After)."""
        with self._lock:
            until = time.monotonic() + seconds
            self._next_start[host] = max(self._next_start.get(host, until), until)

    def slow_down(self, host: str, interval: float) -> None:
        """Keep at least `interval` seconds between the starts of a host's requests (robots.txt's Crawl-delay).

        The request that started last counts: the next one waits the longer interval after it.
        """
        with self._lock:
            current = self._intervals.get(host, self._interval)
            if interval <= current:
                return
            self._intervals[host] = interval
            if host in self._next_start:
                self._next_start[host] += interval - current
