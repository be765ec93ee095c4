"""Extraction drift per source: a publisher's redesign shows as a sudden drop in bodies found or dates read.

Compares, for each source, the last `days` of fetched articles with the `days` before: the share whose body was
extracted (`extraction_status` `ok`) and the share with a publication date. A source whose share falls by
`DROP` or more, with at least `MIN_ARTICLES` articles in both windows, is flagged. Imported articles are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from elasticsearch import Elasticsearch

# A share falling by this much (0.3 = 30 points) between the two windows is drift.
DROP = 0.3
# Fewer articles than this in either window say too little to flag.
MIN_ARTICLES = 10
SOURCES = 10_000


@dataclass(frozen=True, slots=True)
class Window:
    """One source's articles in one window: how many, how many with a body extracted and with a date."""

    articles: int
    extracted: int
    dated: int

    @property
    def extracted_share(self) -> float | None:
        return self.extracted / self.articles if self.articles else None

    @property
    def dated_share(self) -> float | None:
        return self.dated / self.articles if self.articles else None


@dataclass(frozen=True, slots=True)
class SourceExtraction:
    """A source's extraction in the current and the previous window, and the drops that count as drift."""

    source_id: str
    current: Window
    previous: Window

    @property
    def drift(self) -> tuple[str, ...]:
        """What fell, e.g. `body extracted 95% -> 20%`; empty when nothing did or the volume is too small."""
        if min(self.current.articles, self.previous.articles) < MIN_ARTICLES:
            return ()
        drops = []
        for name, attr in (("body extracted", "extracted_share"), ("publication date", "dated_share")):
            before, now = getattr(self.previous, attr), getattr(self.current, attr)
            if before - now >= DROP - 1e-9:  # a drop of exactly DROP counts, whatever the float rounding
                drops.append(f"{name} {before:.0%} -> {now:.0%}")
        return tuple(drops)

    def to_dict(self) -> dict:
        """JSON-ready: counts and shares of both windows, and the drift found."""
        return {
            "source_id": self.source_id,
            **{
                f"{label}_{key}": value
                for label, window in (("current", self.current), ("previous", self.previous))
                for key, value in (
                    ("articles", window.articles),
                    ("extracted_share", window.extracted_share),
                    ("dated_share", window.dated_share),
                )
            },
            "drift": list(self.drift),
        }


def _window(bucket: dict) -> Window:
    return Window(bucket["doc_count"], bucket["extracted"]["doc_count"], bucket["dated"]["doc_count"])


def extraction_by_source(client: Elasticsearch, index: str, now: datetime, days: int) -> list[SourceExtraction]:
    """Every source with articles fetched in the last `2 * days` before `now`, drifting sources first."""
    start, middle = now - timedelta(days=2 * days), now - timedelta(days=days)
    counts = {
        "extracted": {"filter": {"term": {"extraction_status": "ok"}}},
        "dated": {"filter": {"exists": {"field": "published_at"}}},
    }
    response = client.search(
        index=index,
        size=0,
        query={
            "bool": {
                "filter": [{"range": {"fetched_at": {"gte": start.isoformat(), "lt": now.isoformat()}}}],
                "must_not": [{"term": {"extraction_status": "imported"}}],
            }
        },
        aggs={
            "sources": {
                "terms": {"field": "source_id", "size": SOURCES},
                "aggs": {
                    "windows": {
                        "filters": {
                            "filters": {
                                "previous": {"range": {"fetched_at": {"lt": middle.isoformat()}}},
                                "current": {"range": {"fetched_at": {"gte": middle.isoformat()}}},
                            }
                        },
                        "aggs": counts,
                    }
                },
            }
        },
    )
    rows = [
        SourceExtraction(
            bucket["key"],
            current=_window(bucket["windows"]["buckets"]["current"]),
            previous=_window(bucket["windows"]["buckets"]["previous"]),
        )
        for bucket in response["aggregations"]["sources"]["buckets"]
    ]
    return sorted(rows, key=lambda r: (not r.drift, r.source_id))
