"""The monitoring run: feeds → new entries → pages → extraction → enrichment → index. DAGs and the CLI call this."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

from elasticsearch import Elasticsearch

from enrich.annotate import annotate, load_enricher
from ingest.extract import extract_page
from ingest.feeds import parse_feed
from ingest.fetch import Fetcher, FetchOutcome, FetchResult
from ingest.sources import Source, load_sources
from ingest.urls import article_id, canonical_url
from mediamon.records import Article, FeedEntry
from mediamon.settings import Settings
from search.client import check_health, make_client
from search.documents import article_document
from search.index import bulk_create, existing_ids
from search.indices import ensure_articles_index

LOG = logging.getLogger(__name__)


@dataclass(slots=True)
class RunReport:
    """What one run did, per stage: feeds by status, entries, articles new / known / failed, seconds."""

    feeds: dict[str, str] = field(default_factory=dict)
    entries: int = 0
    known: int = 0
    fetched: int = 0
    indexed: int = 0
    duplicates: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    source_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage into `seconds`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)

    def feed_counts(self) -> Counter[str]:
        """How many feeds ended in each status."""
        return Counter(self.feeds.values())

    def as_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "feeds": dict(self.feed_counts()),
            "entries": self.entries,
            "known": self.known,
            "fetched": self.fetched,
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "source_errors": self.source_errors,
            "seconds": self.seconds,
        }


def _feed_entries(fetcher: Fetcher, sources: list[Source], report: RunReport) -> list[FeedEntry]:
    urls = {str(url): source for source in sources for url in source.feeds}
    entries: list[FeedEntry] = []
    for result in fetcher.fetch_many(list(urls), kind="feed"):
        source = urls[result.requested_url]
        if result.status is not FetchOutcome.OK:
            report.feeds[result.requested_url] = str(result.status)
            LOG.warning("skipped feed %r because %s", result.requested_url, result.error)
            continue
        parsed = parse_feed(result.content, feed_url=result.requested_url, source_id=source.id)
        if parsed.problem and not parsed.entries:
            report.feeds[result.requested_url] = "parse_error"
            LOG.warning("skipped feed %r because %s", result.requested_url, parsed.problem)
            continue
        report.feeds[result.requested_url] = "ok"
        entries.extend(parsed.entries)
    return entries


def _canonical(declared: str | None, final_url: str) -> str:
    """The page's `<link rel=canonical>` (made absolute) when it is a usable URL, else the URL we ended at."""
    if declared:
        try:
            return canonical_url(urljoin(final_url, declared))
        except ValueError:
            LOG.info("ignored canonical link %r of %s", declared, final_url)
    return canonical_url(final_url)


def _article(entry: FeedEntry, page: FetchResult, source: Source) -> Article:
    extraction = extract_page(page.text or "", url=page.final_url)
    body, status = extraction.body, extraction.status
    if status != "ok" and len(entry.summary) > len(body):
        body, status = entry.summary, "feed_summary"
    canonical = _canonical(extraction.canonical_url, page.final_url)
    published = entry.published
    if published is None and extraction.published is not None:
        published = datetime(*extraction.published.timetuple()[:3], tzinfo=UTC)
    return Article(
        id=article_id(canonical),
        url=canonical,
        source_id=source.id,
        outlet=source.name,
        title=extraction.title or entry.title,
        body=body,
        summary=extraction.description or entry.summary,
        published_at=published,
        fetched_at=page.fetched_at,
        extraction_status=status,
        language_hint=extraction.language_hint or source.language,
        authors=extraction.authors,
        image=extraction.image,
        feed_url=entry.feed_url,
        final_url=page.final_url,
        affiliation=source.affiliation,
        country=source.country,
    )


def _new_entries(client: Elasticsearch, alias: str, entries: list[FeedEntry], report: RunReport) -> list[FeedEntry]:
    by_id: dict[str, FeedEntry] = {}
    for entry in entries:
        by_id.setdefault(article_id(canonical_url(entry.url)), entry)
    known = existing_ids(client, alias, by_id)
    report.known = len(known)
    return [entry for doc_id, entry in by_id.items() if doc_id not in known]


def run_once(settings: Settings, sources: list[Source] | None = None) -> RunReport:
    """Poll every source once and index what is new. One bad feed or page never stops the run."""
    report = RunReport()
    if sources is None:
        loaded = load_sources(settings.feeds_path)
        sources = list(loaded.sources)
        report.source_errors = [str(e) for e in loaded.errors]
    client = make_client(settings)
    check_health(client, settings.es_url)
    enricher = load_enricher(settings)
    alias = ensure_articles_index(client, settings, enricher.embedder.dims)
    source_by_id = {s.id: s for s in sources}
    articles: list[Article] = []
    with Fetcher(settings) as fetcher:
        with report.stage("feeds"):
            entries = _feed_entries(fetcher, sources, report)
            report.entries = len(entries)
            new = _new_entries(client, alias, entries, report)
        entry_by_url = {entry.url: entry for entry in new}
        with report.stage("fetch_extract"):
            for page in fetcher.fetch_many(list(entry_by_url), kind="page"):
                entry = entry_by_url[page.requested_url]
                if page.status is not FetchOutcome.OK:
                    report.failed[page.requested_url] = f"{page.status}: {page.error}"
                    LOG.warning("skipped article %r because %s", page.requested_url, page.error)
                    continue
                articles.append(_article(entry, page, source_by_id[entry.source_id]))
        report.fetched = len(articles)
    with report.stage("enrich"):
        enrichments = annotate(articles, enricher)
    with report.stage("index"):
        result = bulk_create(
            client,
            alias,
            ((a.id, article_document(a, e)) for a, e in zip(articles, enrichments, strict=True)),
        )
        client.indices.refresh(index=alias)
    report.indexed, report.duplicates = result.created, result.duplicates
    report.failed.update(result.failed)
    return report
