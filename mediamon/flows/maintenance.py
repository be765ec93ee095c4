"""Upkeep: feeds that keep failing, sources whose extraction drifted, article retention, empty batch folders of runs
that died before they began, reindexing when the model changed, and rescoring when the seed stories changed."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from mediamon.core.feeds import FeedState
from mediamon.core.settings import Settings
from mediamon.flows.batches import batches_root
from mediamon.flows.reindex import ReindexReport, finish_stopped_reindex, reindex_articles
from mediamon.flows.rescore import record_fingerprint, recorded_fingerprint, rescore_seeds
from search.client import check_health, make_client
from search.extraction_drift import SourceExtraction, extraction_by_source
from search.feed_records import failing_since
from search.index_versions import articles_alias, feeds_alias, reindex_needed
from search.retention import delete_matching

LOG = logging.getLogger(__name__)

# Batch folders of runs that never finished are removed after this many days.
STALE_BATCH_DAYS = 3


def failing_feeds(settings: Settings, now: datetime | None = None) -> list[FeedState]:
    """Feeds failing for longer than `feed_failing_hours`, longest failing first."""
    client = make_client(settings)
    check_health(client, settings.es_url)
    alias = feeds_alias(settings)
    if not client.indices.exists_alias(name=alias):
        return []
    before = (now or datetime.now(UTC)) - timedelta(hours=settings.feed_failing_hours)
    return failing_since(client, alias, before)


def feed_health_report(settings: Settings, now: datetime | None = None) -> list[dict]:
    """Log the feeds failing for longer than `feed_failing_hours` and return them as JSON-ready dicts."""
    failing = failing_feeds(settings, now)
    for state in failing:
        LOG.warning(
            "feed %s (%s) failing since %s: %s after %d polls: %s",
            state.feed_url,
            state.source_id,
            state.failing_since,
            state.status,
            state.consecutive_failures,
            state.error,
        )
    LOG.info("%d feeds failing for more than %d hours", len(failing), settings.feed_failing_hours)
    keys = ("feed_url", "source_id", "status", "failing_since", "consecutive_failures", "error", "last_ok_at")
    return [{key: state.to_document()[key] for key in keys} for state in failing]


def extraction_drift(
    settings: Settings, now: datetime | None = None, days: int | None = None
) -> list[SourceExtraction]:
    """Each source's extraction in the last `days` (default `drift_days`) against the days before, drift first."""
    client = make_client(settings)
    check_health(client, settings.es_url)
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        return []
    return extraction_by_source(client, alias, now or datetime.now(UTC), days or settings.drift_days)


def extraction_drift_report(settings: Settings, now: datetime | None = None) -> list[dict]:
    """Log the sources whose extraction drifted (bodies or dates found far less often than the window before) and
    return every source's figures as JSON-ready dicts, drifting sources first."""
    rows = extraction_drift(settings, now)
    for row in rows:
        if row.drift:
            LOG.warning("source %s: extraction drift: %s", row.source_id, "; ".join(row.drift))
    LOG.info("%d of %d sources with extraction drift", sum(1 for r in rows if r.drift), len(rows))
    return [row.to_dict() for row in rows]


def retention_query(cutoff: datetime) -> dict:
    """Articles mediamon took in (fetched or imported) before `cutoff`. Retention counts from then, not from the
    publication date: an archive imported on purpose, or the years-old coverage a seed story follows, stays."""
    return {"range": {"fetched_at": {"lt": cutoff.isoformat()}}}


def apply_retention(settings: Settings, now: datetime | None = None) -> int:
    """Delete articles taken in longer than `retention_days` ago (none when it is 0); returns how many."""
    if not settings.retention_days:
        return 0
    client = make_client(settings)
    check_health(client, settings.es_url)
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
    return delete_matching(client, alias, retention_query(cutoff))


def prune_batches(settings: Settings) -> int:
    """Remove the empty shells of runs that died before they began (no `run.json`) and are older than
    STALE_BATCH_DAYS; a run that began is in the spool and drained, never pruned. Returns how many."""
    root = batches_root(settings)
    if not root.is_dir():
        return 0
    oldest = time.time() - STALE_BATCH_DAYS * 86_400
    stale = [
        folder
        for folder in root.iterdir()
        if folder.is_dir() and not (folder / "run.json").exists() and folder.stat().st_mtime < oldest
    ]
    for folder in stale:
        shutil.rmtree(folder)
    return len(stale)


def article_count(client: Elasticsearch, settings: Settings) -> int | None:
    """How many articles the alias holds (None when there is no articles index yet)."""
    alias = articles_alias(settings)
    return client.count(index=alias)["count"] if client.indices.exists_alias(name=alias) else None


def reindex(
    settings: Settings, client: Elasticsearch | None = None, progress: Callable[[int], None] | None = None
) -> ReindexReport:
    """Load the model named in settings and move the articles to a new index version made for it."""
    from enrich.annotate import load_enricher

    if client is None:
        client = make_client(settings)
        check_health(client, settings.es_url)
    return reindex_articles(client, settings, load_enricher(settings), progress)


def reindex_if_model_changed(settings: Settings) -> dict | None:
    """Reindex when the articles' vectors come from another model than the one in settings, else finish the last pass
    of a reindex stopped after its switch, if any; returns the report (None: nothing done)."""
    from enrich.annotate import load_enricher

    client = make_client(settings)
    check_health(client, settings.es_url)
    enricher = load_enricher(settings)
    reason = reindex_needed(client, settings, enricher.embedder.model_id)
    if reason is None:
        LOG.info("no reindex needed: the articles' vectors are %s's", enricher.embedder.model_id)
        finished = finish_stopped_reindex(client, settings, enricher)
        if finished:
            LOG.warning("finished a stopped reindex: %d articles copied from %s", finished.caught_up, finished.source)
        return finished.as_dict() if finished else None
    LOG.warning("reindexing: %s", reason)
    return reindex_articles(client, settings, enricher).as_dict()


def rescore_if_seeds_changed(settings: Settings) -> dict | None:
    """Rescore every article when the seed stories changed since the last full rescore (their fingerprint differs
    from the one recorded); returns the rescore's report. The first time, with no fingerprint yet, the current
    one is recorded and nothing rescored (the articles were scored as they were indexed)."""
    from enrich.seeds import stories_digest

    client = make_client(settings)
    check_health(client, settings.es_url)
    digest, recorded = stories_digest(settings.seeds_dir), recorded_fingerprint(settings)
    if recorded is None or not client.indices.exists_alias(name=articles_alias(settings)):
        LOG.info("seed stories' fingerprint recorded: %s", digest)
        record_fingerprint(settings, digest)
        return None
    if recorded == digest:
        LOG.info("no rescore needed: the seed stories are those the articles were scored with")
        return None
    LOG.warning("rescoring: the seed stories changed (%s, was %s)", digest[:12], recorded[:12])
    return rescore_seeds(settings, client).as_dict()
