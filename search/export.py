"""Exporting every article a selection matches, without a cap, as CSV or JSON Lines.

The articles are read page by page through a point in time (`search/pit.py`): those scored for a seed, by the seed's
relevance (best first), or those matching an analyst query (the syntax and filters of `mediamon search`), newest
first. Each row holds the chosen fields; in CSV, lists and mappings are JSON text.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from mediamon.core.errors import UsageError
from search.index_versions import article_fields
from search.pit import PAGE_SIZE, pit_pages
from search.query import NEWEST_FIRST, SearchFilters, articles_query, refused

FORMATS = ("csv", "jsonl")
# A seed's own fields, read from the article's `seed_similarity.<seed>` and `seed_reasons.<seed>`.
SEED_FIELDS = {"relevance": "seed_similarity", "reasons": "seed_reasons"}
DEFAULT_FIELDS = (
    "id",
    "url",
    "title",
    "outlet",
    "published_at",
    "language",
    "relevance",
    "matched_seeds",
    "topics",
    "entities",
    "source_id",
    "affiliation",
    "country",
    "access",
    "dup_group",
)


class ExportError(UsageError):
    """An export that cannot be made as asked (a field that does not exist, a seed's field without a seed)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which articles, in which order: those scored for `seed`, by its relevance; else those matching `query`
    (query_string syntax; `*` for all), newest first. `filters` apply to both."""

    seed: str | None = None
    query: str = "*"
    filters: SearchFilters = field(default_factory=SearchFilters)

    def es_query(self) -> dict:
        if self.seed is None:
            return articles_query(self.query, self.filters)
        scored = {"exists": {"field": f"seed_similarity.{self.seed}"}}
        return {"bool": {"filter": [scored, *self.filters.clauses()]}}

    def sort(self) -> list[dict]:
        if self.seed is None:
            return [NEWEST_FIRST]
        return [{f"seed_similarity.{self.seed}": {"order": "desc", "unmapped_type": "float"}}, NEWEST_FIRST]


def known_fields() -> list[str]:
    """Every field an export can have: `id`, a seed's `relevance` and `reasons`, and the article's own fields."""
    return ["id", *SEED_FIELDS, *article_fields()]


def export_fields(names: Sequence[str] | None, seed: str | None) -> tuple[str, ...]:
    """The fields asked for (None: the defaults; a seed's fields only with a seed), checked, without repeats."""
    if names is None:
        return tuple(name for name in DEFAULT_FIELDS if seed is not None or name not in SEED_FIELDS)
    chosen = tuple(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not chosen:
        raise ExportError("no field named")
    known = known_fields()
    for name in chosen:
        if name not in known:
            raise ExportError(f"unknown field {name!r} (known: {', '.join(known)})")
        if name in SEED_FIELDS and seed is None:
            raise ExportError(f"the field {name!r} is a seed's: export with a seed")
    return chosen


def _source_filter(fields: Sequence[str], seed: str | None) -> list[str] | bool:
    paths = [f"{SEED_FIELDS[name]}.{seed}" if name in SEED_FIELDS else name for name in fields if name != "id"]
    return paths or False


def article_row(hit: dict, fields: Sequence[str], seed: str | None) -> dict[str, object]:
    """The chosen fields of one hit (a missing field is None)."""
    source = hit.get("_source") or {}
    row: dict[str, object] = {}
    for name in fields:
        if name == "id":
            row[name] = hit["_id"]
        elif name in SEED_FIELDS:
            row[name] = (source.get(SEED_FIELDS[name]) or {}).get(seed)
        else:
            row[name] = source.get(name)
    return row


def csv_cell(value: object) -> str:
    """A value as CSV text: nothing for None, JSON for lists, mappings and booleans, else its text."""
    if value is None:
        return ""
    if isinstance(value, (list, dict, bool)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def count_selected(client: Elasticsearch, index: str, selection: Selection) -> int:
    """How many articles the selection holds (for a progress bar)."""
    try:
        return int(client.count(index=index, query=selection.es_query())["count"])
    except (BadRequestError, NotFoundError) as exc:
        raise refused(exc, index) from None


def write_articles(
    client: Elasticsearch,
    index: str,
    selection: Selection,
    fields: Sequence[str],
    fmt: str,
    out: TextIO,
    progress: Callable[[int], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write every article of `selection` to `out` as `fmt` (`csv`: a header row, then a row per article; `jsonl`:
    an object per line); returns how many. `progress` is called with the number written after each page.

    The first page is read before anything is written, so a query Elasticsearch refuses (SearchError) writes
    nothing.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    request: dict = {"source": _source_filter(fields, selection.seed)}
    if "embedding" in fields:
        request["source_exclude_vectors"] = False
    pages = pit_pages(client, index, selection.es_query(), selection.sort(), page_size, **request)
    with closing(pages):
        return _write((page.hits for page in pages), fields, selection.seed, fmt, out, progress)


def _write(
    pages: Iterable[list[dict]],
    fields: Sequence[str],
    seed: str | None,
    fmt: str,
    out: TextIO,
    progress: Callable[[int], None] | None,
) -> int:
    written = 0
    writer = csv.writer(out) if fmt == "csv" else None
    header = False
    for hits in pages:
        if writer is not None and not header:
            writer.writerow(fields)
            header = True
        for hit in hits:
            row = article_row(hit, fields, seed)
            if writer is not None:
                writer.writerow([csv_cell(row[name]) for name in fields])
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        written += len(hits)
        if progress:
            progress(written)
    if writer is not None and not header:
        writer.writerow(fields)  # no article: the header alone
    out.flush()
    return written


def export_articles(
    client: Elasticsearch,
    index: str,
    selection: Selection,
    fields: Sequence[str],
    fmt: str,
    output: Path | None = None,
    progress: Callable[[int], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """`write_articles` to the file `output` (UTF-8), or to standard output when None; returns how many articles.

    A file appears whole or not at all: it is written under a temporary name beside it and renamed at the end (beside
    a symbolic link's target, which is what gets written). What is no file (a named pipe, a terminal, /dev/stdout) is
    written to as it is: a rename would replace it.
    """
    if output is None:
        return write_articles(client, index, selection, fields, fmt, sys.stdout, progress, page_size)
    if output.exists() and not output.is_file():
        with output.open("w", encoding="utf-8", newline="") as out:
            return write_articles(client, index, selection, fields, fmt, out, progress, page_size)
    target = output.resolve()
    partial = target.with_name(f".{target.name}.part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = write_articles(client, index, selection, fields, fmt, out, progress, page_size)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count
