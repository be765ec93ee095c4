"""Retention on the real local node: articles go a set number of days after they came in (fetched or imported),
whatever their publication date; 0 keeps everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from mediamon.flows.maintenance import apply_retention
from search.index_versions import ensure_articles_index
from search.write import bulk_create

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _article(published: datetime | None, fetched: datetime) -> dict:
    return {
        "url": f"https://news.example/{fetched:%Y%m%d}",
        "published_at": published.isoformat() if published else None,
        "fetched_at": fetched.isoformat(),
    }


@pytest.mark.parametrize(("days", "left"), [(365, {"archive-imported-today", "fetched-last-month"}), (0, None)])
def test_articles_go_a_year_after_they_came_in_not_after_they_were_published(
    es: Elasticsearch, settings: Settings, days: int, left: set[str] | None
) -> None:
    settings = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}retention-{days}-"})
    alias = ensure_articles_index(es, settings, 384, "test-model")
    articles = {
        "archive-imported-today": _article(datetime(2020, 9, 14, tzinfo=UTC), NOW),
        "fetched-last-month": _article(None, NOW - timedelta(days=30)),
        "fetched-two-years-ago": _article(NOW - timedelta(days=730), NOW - timedelta(days=730)),
        "undated-fetched-two-years-ago": _article(None, NOW - timedelta(days=731)),
    }
    assert bulk_create(es, alias, articles.items()).created == len(articles)
    es.indices.refresh(index=alias)
    deleted = apply_retention(settings.model_copy(update={"retention_days": days}), now=NOW)
    kept = {hit["_id"] for hit in es.search(index=alias, size=10, source=False)["hits"]["hits"]}
    assert kept == (left if left is not None else set(articles))
    assert deleted == len(articles) - len(kept)
