"""Backfills: archived articles from a JSON Lines file, through the same enrich-and-index path as fetched ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from enrich.annotate import annotate, load_enricher
from ingest.dates import UNDATED, Published, believable, parse_date
from mediamon.core.entry_files import validation_reason
from mediamon.core.records import Article, build_article
from mediamon.core.settings import Settings
from mediamon.flows.indexing import index_enriched
from search.client import check_health, make_client
from search.index_versions import ensure_articles_index

LOG = logging.getLogger(__name__)
CHUNK = 256


class ImportedArticle(BaseModel):
    """One line of an import file; `published` is checked apart (`_published`): a bad date never drops the line."""

    model_config = ConfigDict(extra="ignore")

    url: str
    title: str
    body: str
    published: Any = None  # an ISO 8601 year, month, day or date-time, or Unix seconds
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    source: str = "import"
    id: str | None = None
    summary: str = ""


@dataclass(slots=True)
class ImportReport:
    """What an import did; `errors` holds `file:line: reason` for every line that was not imported, `undated` the
    same for lines imported without the date they gave (not a date, or in the future)."""

    read: int = 0
    indexed: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    undated: list[str] = field(default_factory=list)


def _published(value: Any, where: str, now: datetime, skew: timedelta, report: ImportReport) -> Published:
    """The date of an import line: the one given, unless it is not a date or is in the future (then none, and the
    line in `report.undated`: the article is kept, its date is not guessed)."""
    if value is None or value == "":
        return UNDATED
    try:
        at, precision = parse_date(value)
    except (TypeError, ValueError, OverflowError, OSError):
        report.undated.append(f"{where}: published {value!r} is not a date (ISO 8601 or Unix seconds)")
        return UNDATED
    published = believable([Published(at, precision, "import")], now=now, skew=skew, what=where)
    if published.at is None:
        report.undated.append(f"{where}: published {value!r} is in the future")
    return published


def _article(row: ImportedArticle, published: Published, now: datetime) -> Article:
    return build_article(
        row.url,
        id=row.id,
        source_id=row.source,
        outlet=row.source,
        title=row.title,
        body=row.body,
        summary=row.summary,
        published_at=published.at,
        published_precision=published.precision,
        published_source=published.source,
        fetched_at=now,
        extraction_status="imported",
        language_hint=row.lang,
    )


def _line_reason(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        return validation_reason(error)
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text ({error.reason})"
    return str(error).splitlines()[0]


def _articles(path: Path, report: ImportReport, skew: timedelta) -> Iterator[Article]:
    # Read as bytes and decoded line by line, so a line in another encoding is one bad line, not the file's end; a
    # byte-order mark is allowed.
    now = datetime.now(UTC)
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            report.read += 1
            try:
                row = ImportedArticle.model_validate(json.loads(line.decode("utf-8-sig")))
                yield _article(row, _published(row.published, f"{path}:{number}", now, skew, report), now)
            except (json.JSONDecodeError, ValidationError, ValueError) as exc:
                reason = _line_reason(exc)
                report.errors.append(f"{path}:{number}: {reason}")
                LOG.warning("skipped %s:%d because %s", path, number, reason)


def import_jsonl(settings: Settings, path: Path, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Enrich and index every valid line of `path`; a bad line is reported and the others still go in.
    `progress` is called with the lines read so far and the lines in all after every chunk."""
    with path.open("rb") as handle:
        total = sum(1 for line in handle if line.strip())
    report = ImportReport()
    client = make_client(settings)
    check_health(client, settings.es_url)
    enricher = load_enricher(settings)
    alias = ensure_articles_index(client, settings, enricher.embedder.dims, enricher.embedder.model_id)
    articles = _articles(path, report, timedelta(hours=settings.future_skew_hours))
    while chunk := list(islice(articles, CHUNK)):
        result = index_enriched(client, alias, list(zip(chunk, annotate(chunk, enricher), strict=True)))
        report.indexed += result.created
        report.duplicates += result.duplicates
        report.errors.extend(f"{path}: article {doc_id}: {reason}" for doc_id, reason in result.failed.items())
        if progress:
            progress(report.read, total)
        LOG.info("%s: %d of %d lines read, %d indexed", path, report.read, total, report.indexed)
    return report
