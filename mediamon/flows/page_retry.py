"""Pages not read in full (stored from their feed entry: `teaser`, `blocked`, `failed`) are fetched again on later
runs, whether or not their feed changed, with growing waits; once read, the article gets its full text and its
relevance to the seeds (a teaser has none)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from elasticsearch import ApiError, Elasticsearch, TransportError

from enrich.annotate import Enricher, annotate, load_enricher
from ingest.fetch import Fetcher
from ingest.pages import article_from_page, page_access
from ingest.sources import Source
from mediamon.core.records import Article, FeedEntry
from mediamon.core.settings import Settings
from mediamon.flows.batches import run_dir, write_stats
from mediamon.flows.chunks import retry_at
from mediamon.flows.feed_polling import run_sources, seconds_since
from mediamon.flows.indexing import group_near_duplicates
from search.client import EsUnavailable, check_health, make_client
from search.documents import article_document, article_from_document
from search.index_versions import articles_alias
from search.write import bulk_write

LOG = logging.getLogger(__name__)
NOT_READ = ["teaser", "blocked", "failed"]


def due_for_retry(client: Elasticsearch, alias: str, now: datetime, limit: int) -> list[Article]:
    """Articles whose page is due to be fetched again, longest waiting first."""
    reply = client.search(
        index=alias,
        size=limit,
        query={
            "bool": {
                "filter": [
                    {"terms": {"access": list(NOT_READ)}},
                    {"range": {"next_retry_at": {"lte": now.isoformat()}}},
                ]
            }
        },
        sort=[{"next_retry_at": "asc"}],
    )
    return [article_from_document(hit["_id"], hit["_source"]) for hit in reply["hits"]["hits"]]


def _source(article: Article, sources: dict[str, Source]) -> Source:
    """The article's source as listed now, else as the article remembers it."""
    known = sources.get(article.source_id)
    if known is not None:
        return known
    return Source(id=article.source_id, name=article.outlet, feeds=[article.feed_url or article.url])


def retry_pages(settings: Settings, run_id: str, enricher: Enricher | None = None) -> dict[str, int]:
    """Fetch again up to `page_retry_batch` pages that are due; returns how many were read in full (`full`) and how
    many were not yet (`still`). Does nothing while Elasticsearch is away (the next run tries)."""
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    try:
        client = make_client(settings)
        check_health(client, settings.es_url)
        alias = articles_alias(settings)
        waiting = (
            due_for_retry(client, alias, datetime.now(UTC), settings.page_retry_batch)
            if settings.page_retry_batch and client.indices.exists_alias(name=alias)
            else []
        )
        if waiting:
            counts = _retry(settings, client, alias, run_id, waiting, enricher)
    except (EsUnavailable, ApiError, TransportError) as exc:
        LOG.warning("pages not fetched again this run: %s", str(exc).splitlines()[0])
    write_stats(run_dir(settings, run_id), "retry", None, {"seconds": seconds_since(started), "retried": counts})
    return dict(counts)


def _retry(
    settings: Settings,
    client: Elasticsearch,
    alias: str,
    run_id: str,
    waiting: list[Article],
    enricher: Enricher | None,
) -> Counter[str]:
    sources = run_sources(run_dir(settings, run_id))
    by_url = {article.final_url or article.url: article for article in waiting}
    skew = timedelta(hours=settings.future_skew_hours)
    read: list[tuple[Article, Article]] = []  # (stored, now read in full)
    actions: list[dict] = []
    with Fetcher(settings) as fetcher:
        for page in fetcher.fetch_many(list(by_url), kind="page"):
            stored = by_url[page.requested_url]
            entry = FeedEntry(
                stored.source_id, stored.feed_url or "", stored.url, stored.title, stored.summary, stored.published_at
            )
            fresh, access, reason = None, page_access(page), f"{page.status}: {page.error}"
            if page.ok:
                try:
                    fresh = article_from_page(
                        entry, page, _source(stored, sources), settings.keep_raw_html, future_skew=skew
                    )
                    access, reason = fresh.access, fresh.access_reason
                except Exception as exc:  # as in a run: one bad page is that page's failure
                    access, reason = "failed", f"extraction failed: {exc.__class__.__name__}: {exc}"
            if fresh is not None and access == "full":
                read.append((stored, replace(fresh, ingest_run=run_id)))
                continue
            tries = stored.retries + 1
            next_at = retry_at(settings, tries, page.fetched_at)
            update = {
                "retries": tries,
                "next_retry_at": next_at.isoformat() if next_at else None,
                "access": access,
                "access_reason": reason,
            }
            actions.append({"_op_type": "update", "_index": alias, "_id": stored.id, "doc": update})
    if read:
        enricher = enricher or load_enricher(settings)
        fresh_articles = [fresh for _, fresh in read]
        pairs = list(zip(fresh_articles, annotate(fresh_articles, enricher), strict=True))
        for (stored, _), (article, enrichment) in zip(read, group_near_duplicates(client, alias, pairs), strict=True):
            document = article_document(article, enrichment)
            actions.append({"_op_type": "index", "_index": alias, "_id": article.id, "_source": document})
            if article.id != stored.id:  # the page named another URL: the full article replaces the stored one
                actions.append({"_op_type": "delete", "_index": alias, "_id": stored.id})
    failed = bulk_write(client, actions)
    client.indices.refresh(index=alias)
    for doc_id, reason in failed.items():
        LOG.warning("retried article %s not written: %s", doc_id, reason)
    return +Counter({"full": len(read), "still": len(waiting) - len(read)})  # zero counts dropped
