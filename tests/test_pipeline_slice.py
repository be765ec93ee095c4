"""The thin slice end to end: sample feeds over a local HTTP server → pipeline → the real local Elasticsearch."""

from __future__ import annotations

import pytest

from ingest.sources import Source
from mediamon.core.runs import RunReport
from mediamon.core.settings import Settings
from mediamon.core.urls import canonical_url
from mediamon.dev.sample_news import feed_list, item_url, load_items, serve_sample_news
from mediamon.flows.ingest_run import run_once
from search.index_versions import articles_alias
from search.seed_matches import similar_to_seed

SEED = "belarus-2020-09"


@pytest.fixture(scope="module")
def slice_runs(settings: Settings, es) -> tuple[Settings, str, RunReport, RunReport]:
    run_settings = settings.model_copy(
        update={"index_prefix": f"{settings.index_prefix}slice-", "host_min_interval": 0.0}
    )
    with serve_sample_news() as base_url:
        sources = [Source.model_validate(entry) for entry in feed_list(base_url)]
        first = run_once(run_settings, sources)
        second = run_once(run_settings, sources)
    return run_settings, base_url, first, second


def test_first_run_indexes_every_sample_item(slice_runs, es):
    run_settings, _, first, _ = slice_runs
    items = load_items()
    assert first.failed == {}
    assert set(first.feeds.values()) == {"ok"}
    assert first.indexed == first.entries == len(items) and first.reconciled
    assert es.count(index=articles_alias(run_settings))["count"] == len(items)


def test_second_run_indexes_nothing_new(slice_runs, es):
    run_settings, _, first, second = slice_runs
    assert second.entries == first.entries and second.reconciled
    assert second.duplicates == first.indexed and dict(second.duplicate_rules) == {
        "link already indexed": first.indexed
    }
    assert second.fetched == 0 and second.indexed == 0 and second.spooled == 0
    assert es.count(index=articles_alias(run_settings))["count"] == first.indexed


def test_indexed_article_carries_extraction_and_enrichment(slice_runs, es):
    run_settings, base_url, _, _ = slice_runs
    item = next(i for i in load_items() if i.lang == "be" and i.body)
    hits = es.search(
        index=articles_alias(run_settings),
        query={"term": {"url": canonical_url(item_url(base_url, item))}},
        source_exclude_vectors=False,
    )
    doc = hits["hits"]["hits"][0]["_source"]
    assert doc["title"] == item.title
    assert item.body[0][:80] in doc["body"]
    assert doc["language"] == "be"
    assert doc["source_id"] == item.source
    assert doc["published_at"].startswith(item.published.date().isoformat())
    assert len(doc["embedding"]) == 384
    assert SEED in doc["seed_similarity"]


def test_belarus_crisis_items_outrank_unrelated_ones(slice_runs, es):
    run_settings, base_url, _, _ = slice_runs
    grade = {canonical_url(item_url(base_url, i)): i.grade for i in load_items()}
    ranked = [grade[m.url] for m in similar_to_seed(es, articles_alias(run_settings), SEED, top=100)]
    assert len(ranked) == len(grade)
    last_crisis = max(pos for pos, g in enumerate(ranked) if g >= 2)
    first_unrelated = min(pos for pos, g in enumerate(ranked) if g == 0)
    assert last_crisis < first_unrelated, ranked
