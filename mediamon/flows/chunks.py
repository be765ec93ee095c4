"""One chunk of new entries through its three stages: fetch and extract → enrich → index, each writing its file.

A stage skips a chunk whose output file exists, so a retried task, a rerun or a drain after a kill repeats only
what was not finished. One bad page never stops a chunk: an exception while extracting or enriching it is that
page's failure, and a page that could not be read is stored from what its feed gave (`access`), to be fetched
again later. The index stage gives every entry its outcome; it raises EsUnavailable (the chunk stays spooled)
when Elasticsearch does not answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from elasticsearch import ApiError, TransportError

from enrich.annotate import Enricher, annotate, load_enricher
from ingest.fetch import Fetcher
from ingest.pages import article_from_entry, article_from_page, page_access
from mediamon.core.records import Article, Enrichment, FeedEntry
from mediamon.core.runs import DuplicateRule, EntryOutcome, Outcome
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from mediamon.flows.batches import (
    batch_part,
    batch_path,
    from_json,
    read_jsonl,
    run_dir,
    to_json,
    write_jsonl,
    write_stats,
)
from mediamon.flows.feed_polling import run_sources, seconds_since
from mediamon.flows.indexing import index_enriched
from search.client import EsUnavailable, check_health, make_client, reason
from search.index_versions import ensure_articles_index
from search.write import written_by

LOG = logging.getLogger(__name__)


def _output(path: str | Path, kind: str) -> Path:
    path = Path(path)
    return batch_path(path.parent, kind, batch_part(path))


def is_enriched(chunk_path: str) -> bool:
    """Whether a chunk has been enriched already (a resumed run's)."""
    return _output(chunk_path, "enriched").exists()


def retry_at(settings: Settings, retries: int, now: datetime) -> datetime | None:
    """When a page not read in full is fetched again after `retries` earlier tries (None: no more tries)."""
    if retries >= settings.page_retries:
        return None
    return now + timedelta(minutes=settings.page_retry_minutes * 2**retries)


def fetch_chunk(settings: Settings, run_id: str, chunk_path: str) -> str:
    """Fetch and extract the pages of one chunk of entries; returns the articles file (rows: entry and article,
    or entry and failure)."""
    output = _output(chunk_path, "articles")
    if output.exists():
        return str(output)
    started = time.perf_counter()
    entries = [from_json(FeedEntry, row) for row in read_jsonl(Path(chunk_path))]
    sources = run_sources(run_dir(settings, run_id))
    by_url = {entry.url: entry for entry in entries}
    skew = timedelta(hours=settings.future_skew_hours)
    rows = []
    with Fetcher(settings) as fetcher:
        for page in fetcher.fetch_many(list(by_url), kind="page"):
            entry = by_url[page.requested_url]
            source = sources[entry.source_id]
            try:
                if page.ok:
                    article = article_from_page(entry, page, source, settings.keep_raw_html, future_skew=skew)
                else:
                    reason = f"{page.status}: {page.error}"
                    article = article_from_entry(
                        entry, source, page_access(page), reason, page.fetched_at, future_skew=skew
                    )
                    LOG.warning("page %r not read (%s): stored from its feed entry", entry.url, reason)
            except Exception as exc:  # one bad page never stops a run: it is stored from its feed entry
                reason = f"extraction failed: {exc.__class__.__name__}: {exc}"
                LOG.warning("page %r: %s", entry.url, reason)
                article = article_from_entry(entry, source, "failed", reason, page.fetched_at, future_skew=skew)
            retry = retry_at(settings, 0, page.fetched_at) if article.access != "full" else None
            article = replace(article, ingest_run=run_id, next_retry_at=retry)
            rows.append({"entry": to_json(entry), "article": to_json(article)})
    write_jsonl(output, rows)
    fetched = sum(1 for row in rows if row["article"]["access"] == "full")
    _stats(output, "articles", {"seconds": seconds_since(started), "fetched": fetched})
    return str(output)


def _annotate_each(articles: list[Article], enricher: Enricher) -> list[Enrichment | str]:
    """Enrichments of a batch; when the batch fails, article by article, a failing one giving its error."""
    try:
        return list(annotate(articles, enricher))
    except Exception:  # find the article that breaks enrichment; the others go on
        results: list[Enrichment | str] = []
        for article in articles:
            try:
                results.append(annotate([article], enricher)[0])
            except Exception as exc:
                LOG.warning("article %s: enrichment failed: %r", article.url, exc)
                results.append(f"enrichment failed: {exc.__class__.__name__}: {exc}")
        return results


def enrich_chunk(
    settings: Settings, run_id: str, articles_path: str, enricher: Callable[[], Enricher] | None = None
) -> str:
    """Enrich one chunk's articles; returns the enriched file. The model (`enricher()`, by default loaded from
    settings) is asked for only when there is an article to enrich. Its stats keep the seconds spent loading it and
    the process's CPU seconds (over wall seconds: the cores the chunk kept busy; in `run_once`, which enriches two
    chunks at once, the other chunk's too)."""
    output = _output(articles_path, "enriched")
    if output.exists():
        return str(output)
    started, cpu = time.perf_counter(), time.process_time()
    rows = list(read_jsonl(Path(articles_path)))
    articles = [from_json(Article, row["article"]) for row in rows if "article" in row]
    loading = time.perf_counter()
    loaded = (enricher or (lambda: load_enricher(settings)))() if articles else None
    load_seconds = seconds_since(loading)
    results = iter(_annotate_each(articles, loaded) if loaded else [])
    out = []
    for row in rows:
        if "article" in row:
            result = next(results)
            if isinstance(result, str):
                row = {"entry": row["entry"], "failure": {"stage": "enrich", "reason": result}}
            else:
                row = {**row, "enrichment": to_json(result)}
        out.append(row)
    write_jsonl(output, out)
    stats = {"seconds": seconds_since(started), "enriched": len(articles), "load_seconds": load_seconds}
    _stats(output, "enrich", stats | {"cpu_seconds": round(time.process_time() - cpu, 3)})
    return str(output)


def index_chunk(settings: Settings, run_id: str, enriched_path: str) -> str:
    """Index one chunk and give each of its entries its outcome; returns the outcomes file.

    An article already there is the entry's own when this run wrote it (a retry after a kill), else a duplicate.
    Raises EsUnavailable when Elasticsearch does not answer: the chunk stays in the spool.
    """
    output = _output(enriched_path, "outcomes-chunk")
    if output.exists():
        return str(output)
    started = time.perf_counter()
    rows = list(read_jsonl(Path(enriched_path)))
    outcomes: list[EntryOutcome] = []
    first: dict[str, tuple[FeedEntry, Article, Enrichment]] = {}
    for row in rows:
        entry = from_json(FeedEntry, row["entry"])
        if "failure" in row:
            failure = row["failure"]
            outcome = EntryOutcome(entry.feed_url, entry.url, Outcome.FAILED, stage=failure["stage"])
            outcomes.append(replace(outcome, reason=failure["reason"]))
            continue
        article = from_json(Article, row["article"])
        if article.id in first:  # two links of this chunk led to one page
            rule = DuplicateRule.SAME_PAGE
            outcomes.append(EntryOutcome(entry.feed_url, entry.url, Outcome.DUPLICATE, article.id, rule))
            continue
        first[article.id] = (entry, article, from_json(Enrichment, row["enrichment"]))
    if first:
        outcomes += _index(settings, run_id, list(first.values()))
    write_jsonl(output, (outcome.to_json() for outcome in outcomes))
    indexed = sum(1 for o in outcomes if o.outcome is Outcome.INDEXED)
    _stats(output, "index", {"seconds": seconds_since(started), "indexed": indexed})
    LOG.info("run %s, %s: %d entries, %d indexed", run_id, output.name, len(outcomes), indexed)
    return str(output)


def _index(settings: Settings, run_id: str, rows: list[tuple[FeedEntry, Article, Enrichment]]) -> list[EntryOutcome]:
    try:
        client = make_client(settings)
        check_health(client, settings.es_url)
        _, _, enrichment = rows[0]
        alias = ensure_articles_index(client, settings, len(enrichment.embedding), enrichment.model)
        result = index_enriched(client, alias, [(a, e) for _, a, e in rows])
        ours = written_by(client, alias, result.conflicts)
    except (ApiError, TransportError) as exc:
        raise EsUnavailable(f"Elasticsearch at {settings.es_url} failed while indexing: {reason(exc)}") from exc
    outcomes = []
    for entry, article, _ in rows:
        if article.id in result.failed:
            reason = f"not indexed: {result.failed[article.id]}"
            outcomes.append(EntryOutcome(entry.feed_url, entry.url, Outcome.FAILED, stage="index", reason=reason))
        elif article.id in result.conflicts and ours.get(article.id) != run_id:
            rule = DuplicateRule.INDEXED if article.id == article_id(entry.url) else DuplicateRule.SAME_PAGE
            outcomes.append(EntryOutcome(entry.feed_url, entry.url, Outcome.DUPLICATE, article.id, rule))
        elif article.access != "full":  # stored from the feed: the page failed, and is fetched again later
            stage = "extract" if (article.access_reason or "").startswith("extraction failed") else "fetch"
            reason = f"{article.access_reason} (stored from the feed as {article.access}; fetched again later)"
            outcome = EntryOutcome(entry.feed_url, entry.url, Outcome.FAILED, article.id, stage=stage, reason=reason)
            outcomes.append(outcome)
        else:
            outcomes.append(EntryOutcome(entry.feed_url, entry.url, Outcome.INDEXED, article.id))
    return outcomes


def _stats(output: Path, stage: str, stats: dict) -> None:
    write_stats(output.parent, stage, batch_part(output), stats)
