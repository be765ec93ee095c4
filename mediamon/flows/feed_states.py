"""Feed states kept on disk beside the index, so feeds are polled on schedule while Elasticsearch is away.

The local copy (`data_dir/feed-states.json.gz`) is written on every update; the feeds index gets the same states
when it is up, and the whole copy once it is back after an outage (a marker file says one is owed). Reading
merges both, the newer poll of a feed winning: a new data folder against an existing cluster loses nothing.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from elasticsearch import ApiError, TransportError

from mediamon.core.feeds import FeedState
from mediamon.core.settings import Settings
from mediamon.flows.batches import folder_lock
from search.client import EsUnavailable, check_health, make_client
from search.feed_records import load_states, save_states
from search.index_versions import ensure_feeds_index, feeds_alias

LOG = logging.getLogger(__name__)


def _copy_path(settings: Settings) -> Path:
    return settings.data_dir / "feed-states.json.gz"


def _owed_path(settings: Settings) -> Path:
    return settings.data_dir / "feed-states.unsynced"


def _read_copy(settings: Settings) -> dict[str, FeedState]:
    path = _copy_path(settings)
    if not path.exists():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {url: FeedState.from_document(doc) for url, doc in json.load(handle).items()}


def _write_copy(settings: Settings, states: dict[str, FeedState]) -> None:
    path = _copy_path(settings)
    partial = path.with_name(f".{path.name}.partial")
    data = {url: state.to_document() for url, state in states.items()}
    partial.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), compresslevel=5))
    partial.replace(path)


def read_states(settings: Settings, feed_urls: Iterable[str]) -> dict[str, FeedState]:
    """The last known state of these feeds: the local copy merged with the index (when it answers)."""
    urls = list(dict.fromkeys(feed_urls))
    local = _read_copy(settings)
    states = {url: local[url] for url in urls if url in local}
    try:
        client = make_client(settings)
        check_health(client, settings.es_url)
        alias = feeds_alias(settings)
        stored = load_states(client, alias, urls) if client.indices.exists_alias(name=alias) else {}
    except (EsUnavailable, ApiError, TransportError) as exc:
        LOG.warning("feed states from the local copy only: %s", str(exc).splitlines()[0])
        return states
    for url, state in stored.items():
        if url not in states or state.last_fetch_at > states[url].last_fetch_at:
            states[url] = state
    return states


def write_states(settings: Settings, states: Iterable[FeedState]) -> bool:
    """Write states to the local copy, then to the index (with the whole copy if one is owed). Returns whether the
    index took them; when it did not, the copy is owed to it."""
    new = {state.feed_url: state for state in states}
    with folder_lock(settings.data_dir, exclusive=True):
        copy = _read_copy(settings) | new
        _write_copy(settings, copy)
        owed = _owed_path(settings)
        try:
            client = make_client(settings)
            check_health(client, settings.es_url)
            save_states(client, ensure_feeds_index(client, settings), (copy if owed.exists() else new).values())
        except (EsUnavailable, ApiError, TransportError) as exc:
            owed.touch()
            LOG.warning("feed states kept locally until Elasticsearch is back: %s", str(exc).splitlines()[0])
            return False
        owed.unlink(missing_ok=True)
        return True
