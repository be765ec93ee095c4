"""Polling stages against a local HTTP server and the real Elasticsearch: conditional GET, body hash, due feeds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.sources import Source
from mediamon.core.feeds import FeedState, FetchOutcome
from mediamon.core.runs import RunReport
from mediamon.core.settings import Settings
from mediamon.flows.batches import read_jsonl, run_dir
from mediamon.flows.feed_polling import fetch_feeds, new_run_id, select_feeds, update_feed_states
from mediamon.flows.feed_states import read_states, write_states
from mediamon.flows.run_report import finish_run
from search.feed_records import load_states
from search.index_versions import feeds_alias
from search.run_records import recent_runs
from tests.http_fixtures import LocalServer, Reply, Seen

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def rss(site: str) -> bytes:
    items = "".join(
        f"<item><title>Item {n}</title><link>https://{site}/news/{n}</link>"
        f"<pubDate>Sun, 01 Mar 2026 1{n}:00:00 GMT</pubDate></item>"
        for n in range(3)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>{items}</channel></rss>'.encode()


def with_etag(seen: Seen) -> Reply:
    if seen.headers.get("if-none-match") == '"v1"':
        return Reply(304)
    return Reply(200, rss("etag.example"), {**RSS_TYPE, "ETag": '"v1"'})


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.route("/etag.xml", with_etag)
    local.route("/plain.xml", Reply(200, rss("plain.example"), RSS_TYPE))
    yield local
    local.close()


def poll_everything(settings: Settings, sources: list[Source]) -> tuple[RunReport, list[dict]]:
    """The feed stages of one run without articles: select every feed, poll it, write states and the record."""
    run_id = new_run_id()
    batches = select_feeds(settings, run_id, sources, every_feed=True)
    paths = [fetch_feeds(settings, run_id, batch) for batch in batches]
    new = [row for path in paths for row in read_jsonl(Path(path))]
    update_feed_states(settings, run_id)
    return finish_run(settings, run_id), new


def test_conditional_get_and_body_hash_spare_unchanged_feeds(settings, es, server, tmp_path):
    run_settings = settings.model_copy(
        update={"index_prefix": f"{settings.index_prefix}poll-", "data_dir": tmp_path, "host_min_interval": 0.0}
    )
    etag_url, plain_url = server.url("/etag.xml"), server.url("/plain.xml")
    sources = [
        Source(id="etag", name="With ETag", feeds=[etag_url]),
        Source(id="plain", name="Without validators", feeds=[plain_url]),
    ]

    first, first_new = poll_everything(run_settings, sources)
    assert first.feeds == {etag_url: "ok", plain_url: "ok"}
    assert len(first_new) == 6 and first.entries == 6 and first.duplicates == 0
    assert first.spooled == 6 and first.reconciled  # no article stage here: the new entries wait in the spool
    states = load_states(es, feeds_alias(run_settings), [etag_url, plain_url])
    assert states[etag_url].etag == '"v1"' and states[plain_url].etag is None
    assert states[plain_url].body_hash and states[plain_url].last_entries == 3
    assert all(s.next_due_at > s.last_fetch_at for s in states.values())

    second, second_new = poll_everything(run_settings, sources)
    assert second.feeds == {etag_url: "not_modified", plain_url: "unchanged"}
    assert second_new == [] and second.entries == 0
    assert server.seen("/etag.xml")[-1].headers["if-none-match"] == '"v1"'
    states = load_states(es, feeds_alias(run_settings), [etag_url, plain_url])
    assert states[etag_url].status == "not_modified" and states[etag_url].etag == '"v1"'
    assert states[plain_url].status == "unchanged" and states[plain_url].consecutive_failures == 0

    records = recent_runs(es, run_settings)
    assert [r["run_id"] for r in records] == [second.run_id, first.run_id]
    assert records[0]["feeds"] == {"not_modified": 1, "unchanged": 1} and records[1]["feeds"] == {"ok": 2}
    assert not run_dir(run_settings, second.run_id).exists()  # a run with nothing left removes its batch files
    assert run_dir(run_settings, first.run_id).exists()  # one whose entries wait is the spool

    nothing_due = select_feeds(run_settings, new_run_id(), sources)
    assert nothing_due == []


def test_feed_states_live_on_disk_while_the_index_is_away_and_reach_it_when_it_is_back(settings, es, tmp_path):
    up = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}offline-", "data_dir": tmp_path})
    away = up.model_copy(update={"es_url": "http://127.0.0.1:9"})
    now = datetime.now(UTC)
    state = FeedState("https://a.example/rss", "a", FetchOutcome.OK, now, now + timedelta(minutes=30), 30)
    assert write_states(away, [state]) is False  # kept locally, owed to the index
    assert read_states(away, [state.feed_url]) == {state.feed_url: state}
    assert not es.indices.exists_alias(name=feeds_alias(up))
    later = dataclasses.replace(state, feed_url="https://b.example/rss", source_id="b")
    assert write_states(up, [later]) is True  # back: the whole copy goes, the owed state with it
    assert set(load_states(es, feeds_alias(up), [state.feed_url, later.feed_url])) == {state.feed_url, later.feed_url}
