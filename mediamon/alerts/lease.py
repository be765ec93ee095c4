"""Keeping a subscription's lease while a run works on it.

A lease (`records.acquire_lease`) lasts `alert_lease_seconds`. A background thread renews it every third of
that, so a slow run (a long match, a slow SMTP server) keeps it and no overlapping run sends the same articles;
the run renews it once more right before each send. A renewal that finds the lease no longer ours (another run
took it over or wrote it) raises LeaseLost, and the run stops before sending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from mediamon.alerts.records import Lease, acquire_lease, release_lease, renew_lease

LOG = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another run has the subscription's lease now: this run must not send."""


class KeptLease:
    """A held lease, renewed by a background thread from construction until `release`."""

    def __init__(
        self, client: Elasticsearch, alias: str, lease: Lease, ttl: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.subscription = lease.subscription
        self._client, self._alias, self._ttl, self._clock = client, alias, ttl, clock
        self._lease: Lease | None = lease  # None once lost
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease:{lease.subscription}", daemon=True)
        self._thread.start()

    def renew(self) -> None:
        """Extend the lease to its ttl from now; raises LeaseLost when it is no longer ours."""
        with self._lock:
            if self._lease is None:
                raise LeaseLost(f"another run took the lease of subscription {self.subscription}")
            self._lease = renew_lease(self._client, self._alias, self._lease, self._clock(), self._ttl)
            if self._lease is None:
                raise LeaseLost(f"another run took the lease of subscription {self.subscription}")

    def _beat(self) -> None:
        while not self._stopped.wait(self._ttl.total_seconds() / 3):
            try:
                self.renew()
            except LeaseLost as exc:
                LOG.warning("%s: this run stops before its next send", exc)
                return
            except (ApiError, TransportError) as exc:  # not known lost: try again, and before the next send
                LOG.warning("could not renew the lease of subscription %s: %s", self.subscription, exc)

    def release(self) -> None:
        """Stop renewing and give the lease back (when that fails, it expires by itself)."""
        self._stopped.set()
        self._thread.join()
        with self._lock:
            if self._lease is None:
                return
            try:
                release_lease(self._client, self._alias, self._lease)
            except (ApiError, TransportError) as exc:
                LOG.warning("could not release the lease of subscription %s (it expires): %s", self.subscription, exc)


@contextmanager
def keep_lease(
    client: Elasticsearch,
    alias: str,
    subscription_id: str,
    owner: str,
    ttl: timedelta,
    clock: Callable[[], datetime],
) -> Iterator[KeptLease | None]:
    """The subscription's lease, renewed for the block and released after it; None while another run holds it."""
    lease = acquire_lease(client, alias, subscription_id, owner, clock(), ttl)
    if lease is None:
        yield None
        return
    kept = KeptLease(client, alias, lease, ttl, clock)
    try:
        yield kept
    finally:
        kept.release()
