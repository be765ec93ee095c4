"""Extraction drift per source, on the real local node: a source whose bodies or dates fall off is flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from mediamon.cli import app
from mediamon.core.settings import Settings, get_settings
from mediamon.flows.maintenance import extraction_drift, extraction_drift_report
from search.extraction_drift import DROP, MIN_ARTICLES, SourceExtraction, Window
from search.index_versions import ensure_articles_index
from search.write import bulk_create

NOW = datetime(2025, 3, 20, 12, tzinfo=UTC)


def _doc(source: str, fetched: datetime, status: str = "ok", dated: bool = True) -> dict:
    return {
        "source_id": source,
        "fetched_at": fetched.isoformat(),
        "published_at": (fetched - timedelta(hours=2)).isoformat() if dated else None,
        "extraction_status": status,
        "title": f"{source} story",
        "body": "text",
    }


def _batch(source: str, days_ago: float, n: int, broken: int = 0, undated: int = 0, status: str = "ok"):
    """`n` articles of `source` fetched about `days_ago` before NOW; the first `broken` lack a body, the last
    `undated` a date."""
    fetched = NOW - timedelta(days=days_ago)
    for i in range(n):
        yield _doc(source, fetched + timedelta(minutes=i), "empty" if i < broken else status, i < n - undated)


@pytest.fixture(scope="module")
def drift_settings(settings: Settings, es: Elasticsearch) -> Settings:
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}drift-", "drift_days": 7})
    alias = ensure_articles_index(es, local, 384, "test-model")
    documents = [
        *_batch("steady", 10, 12, broken=1),
        *_batch("steady", 3, 12, broken=1),
        *_batch("redesigned", 10, 20),  # bodies found for every article, then for 4 of 20
        *_batch("redesigned", 2, 20, broken=16),
        *_batch("lost-dates", 9, 15),  # dates read for all, then for 5 of 15
        *_batch("lost-dates", 1, 15, undated=10),
        *_batch("small", 10, 3),  # too few to judge
        *_batch("small", 2, 3, broken=3),
        *_batch("archive", 2, 30, status="imported"),  # backfills are not extraction
        *_batch("old", 30, 20),  # outside both windows
    ]
    report = bulk_create(es, alias, [(f"doc-{i}", d) for i, d in enumerate(documents)])
    assert report.created == len(documents), report
    es.indices.refresh(index=alias)
    return local


def test_drops_in_bodies_or_dates_are_flagged_and_steady_or_small_sources_are_not(drift_settings):
    rows = {r.source_id: r for r in extraction_drift(drift_settings, NOW)}
    assert set(rows) == {"steady", "redesigned", "lost-dates", "small"}  # no imports, nothing outside the windows
    assert rows["redesigned"].drift == ("body extracted 100% -> 20%",)
    assert rows["lost-dates"].drift == ("publication date 100% -> 33%",)
    assert rows["steady"].drift == () and rows["small"].drift == ()
    assert (rows["steady"].previous.articles, rows["steady"].current.articles) == (12, 12)
    assert rows["small"].current.extracted_share == 0.0


def test_drifting_sources_come_first_and_the_report_is_json_ready(drift_settings):
    report = extraction_drift_report(drift_settings, NOW)
    assert [r["source_id"] for r in report[:2]] == ["lost-dates", "redesigned"]
    assert json.loads(json.dumps(report)) == report
    assert report[1]["previous_extracted_share"] == 1.0 and report[1]["current_extracted_share"] == 0.2


def test_a_longer_window_takes_in_more(drift_settings):
    rows = {r.source_id: r for r in extraction_drift(drift_settings, NOW, days=20)}
    assert rows["old"].previous.articles == 20 and rows["old"].drift == ()


def test_the_cli_shows_the_drift_of_the_last_days_and_exits_1(settings, es, monkeypatch):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}drift-cli-"})
    alias = ensure_articles_index(es, local, 384, "test-model")
    now = datetime.now(UTC)
    documents = [
        *(_doc("redesigned", now - timedelta(days=10, minutes=i)) for i in range(12)),
        *(_doc("redesigned", now - timedelta(days=1, minutes=i), status="empty") for i in range(12)),
    ]
    bulk_create(es, alias, [(f"cli-{i}", d) for i, d in enumerate(documents)])
    es.indices.refresh(index=alias)
    monkeypatch.setenv("MEDIAMON_INDEX_PREFIX", local.index_prefix)
    get_settings.cache_clear()
    try:
        table = CliRunner().invoke(app, ["feeds", "extraction"])
        as_json = CliRunner().invoke(app, ["feeds", "extraction", "--json"])
        longer = CliRunner().invoke(app, ["feeds", "extraction", "--days", "30", "--json"])
    finally:
        get_settings.cache_clear()
    assert table.exit_code == 1 and "redesigned" in table.output and "100% -> 0%" in table.output
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)[0]["drift"] == ["body extracted 100% -> 0%"]
    assert longer.exit_code == 0  # one 30-day window holds both weeks: nothing to compare it with


def test_the_threshold_is_a_drop_of_drop_points_with_enough_articles():
    enough = MIN_ARTICLES
    just = SourceExtraction(
        "s", current=Window(enough, enough - round(DROP * enough), enough), previous=Window(enough, enough, enough)
    )
    assert just.drift == ("body extracted 100% -> 70%",)
    few = SourceExtraction("s", current=Window(enough - 1, 0, 0), previous=Window(enough, enough, enough))
    assert few.drift == ()
