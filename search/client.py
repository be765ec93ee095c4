"""The Elasticsearch client built from settings, and a liveness check that works on every ES 9 distribution."""

from __future__ import annotations

import re

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.serializer import OrjsonSerializer

from mediamon.core.errors import MediamonError
from mediamon.core.settings import Settings


class EsUnavailable(MediamonError):
    """Elasticsearch cannot be reached or is not healthy; the message says where and what to do."""


# The operating system's reason inside a client error's nested text: "[Errno 111] Connection refused".
_OS_REASON = re.compile(r"\[Errno -?\d+\] [^)'\"]+")


def reason(exc: Exception) -> str:
    """The gist of a client error, for a person: the operating system's reason when the error carries one (a refused
    connection, an unknown host), else the error's class and text."""
    found = _OS_REASON.search(str(exc))
    return found.group(0).strip() if found else f"{exc.__class__.__name__}: {exc}"


def make_client(settings: Settings) -> Elasticsearch:
    """A client for the cluster in settings (URL, API key or basic auth, CA certificate); JSON by orjson, which
    writes a bulk request's vectors several times faster than the standard library."""
    auth: dict[str, object] = {}
    if settings.es_api_key:
        auth["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username and settings.es_password:
        auth["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    if settings.es_ca_cert:
        auth["ca_certs"] = str(settings.es_ca_cert)
    return Elasticsearch(
        settings.es_url,
        request_timeout=settings.es_timeout,
        retry_on_timeout=True,
        max_retries=3,
        serializer=OrjsonSerializer(),
        **auth,
    )


def check_health(client: Elasticsearch, url: str) -> str:
    """Cluster health status (`green`/`yellow`); raises EsUnavailable when the cluster is down or red.

    Uses `_cluster/health`: the core-only test distribution answers 405 to `GET /`, so `ping()` is no use.
    """
    try:
        status = client.cluster.health(timeout="10s")["status"]
    except (EsConnectionError, ApiError) as exc:
        raise EsUnavailable(
            f"Elasticsearch at {url} is unreachable ({reason(exc)}). "
            "Start the local node with `mediamon es up`, or set MEDIAMON_ES_URL to a running cluster."
        ) from exc
    if status == "red":
        raise EsUnavailable(f"Elasticsearch at {url} is red: some primary shards are not allocated")
    return str(status)
