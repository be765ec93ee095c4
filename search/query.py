"""Analyst search over articles: Lucene `query_string` syntax, filters and highlighted snippets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from mediamon.core.errors import MediamonError

# Fields searched by words that name no field, and their weights (`language:ru` and the like search that field):
# the standard-analysed text, and its copy under the article's language analyser where the index has one.
BASE_TEXT_FIELDS = ("title^3", "summary^2", "body")  # one analyser (standard) for all three
LANGUAGE_TEXT_FIELDS = ("text_lang.*.title^3", "text_lang.*.summary^2", "text_lang.*.body")  # where analysers exist
TEXT_FIELDS = BASE_TEXT_FIELDS + LANGUAGE_TEXT_FIELDS
RESULT_FIELDS = ["title", "outlet", "published_at", "language", "url", "topics", "matched_seeds"]
HIGHLIGHT = {
    "require_field_match": False,  # a word found through its language analyser's copy is marked in the text too
    "fields": {
        "title": {"number_of_fragments": 0},
        "summary": {"fragment_size": 160, "number_of_fragments": 1},
        "body": {"fragment_size": 160, "number_of_fragments": 3},
    },
}


class SearchError(MediamonError, ValueError):
    """A search that cannot run: a date bound that is no date, or one Elasticsearch refused (bad query syntax); the
    message says why."""

    exit_code = 2


class IndexMissing(SearchError):
    """There is no articles index to search yet."""

    exit_code = 1


def refused(exc: BadRequestError | NotFoundError, index: object) -> SearchError:
    if isinstance(exc, NotFoundError) and "index_not_found" in str(exc.body):
        return IndexMissing(
            f"no such index {index}: nothing has been indexed under this prefix yet; "
            "run `mediamon run` (or `mediamon demo`) first"
        )
    return SearchError(es_reason(exc.body))


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Restrictions every search can add; an empty tuple means "any".

    `since`/`until` bound `published_at` (inclusive): an ISO date or time, or date math such as `now-7d`.
    """

    since: str | None = None
    until: str | None = None
    lang: tuple[str, ...] = ()
    outlet: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    seed: tuple[str, ...] = ()

    def clauses(self) -> list[dict]:
        """The filter clauses of a `bool` query (or of a kNN search)."""
        clauses: list[dict] = []
        if self.since or self.until:
            bounds = {op: value for op, value in (("gte", self.since), ("lte", self.until)) if value}
            clauses.append({"range": {"published_at": bounds}})
        for field_name, values in (
            ("language", self.lang),
            ("outlet", self.outlet),
            ("topics", self.topic),
            ("matched_seeds", self.seed),
        ):
            if values:
                clauses.append({"terms": {field_name: list(values)}})
        return clauses


@dataclass(frozen=True, slots=True)
class Hit:
    """One article found, with its highlighted fragments by field (`title`, `summary`, `body`)."""

    id: str
    score: float | None
    title: str
    outlet: str | None
    published_at: str | None
    language: str | None
    url: str
    topics: list[str]
    matched_seeds: list[str]
    highlights: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_es(cls, hit: dict) -> Hit:
        """A Hit from one element of `hits.hits`."""
        src = hit.get("_source", {})
        return cls(
            id=hit["_id"],
            score=hit.get("_score"),
            title=src.get("title") or "",
            outlet=src.get("outlet"),
            published_at=src.get("published_at"),
            language=src.get("language"),
            url=src.get("url") or "",
            topics=src.get("topics") or [],
            matched_seeds=src.get("matched_seeds") or [],
            highlights=hit.get("highlight", {}),
        )

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


def search_articles(
    client: Elasticsearch,
    index: str,
    query: str,
    filters: SearchFilters = SearchFilters(),  # noqa: B008 - frozen, so a shared default is safe
    size: int = 20,
    offset: int = 0,
) -> list[Hit]:
    """Articles matching `query` (query_string syntax, all words required) within `filters`, best first.

    An empty query (or `*`) matches every article; those come newest first. Raises SearchError for a query
    Elasticsearch cannot parse.
    """
    reply = run_search(
        client,
        index=index,
        query=articles_query(query, filters),
        sort=[NEWEST_FIRST] if matches_all(query) else None,
        size=size,
        from_=offset,
        source=RESULT_FIELDS,
        highlight=HIGHLIGHT,
    )
    return [Hit.from_es(hit) for hit in reply["hits"]["hits"]]


NEWEST_FIRST = {"published_at": {"order": "desc", "missing": "_last"}}


def matches_all(query: str) -> bool:
    """Whether the analyst's `query` is empty or `*` (every article)."""
    return query.strip() in ("", "*")


def articles_query(query: str, filters: SearchFilters = SearchFilters()) -> dict:  # noqa: B008 - frozen
    """The Elasticsearch query of an analyst's `query` (query_string syntax over the text fields, all words
    required; empty or `*`: every article) within `filters`."""
    if matches_all(query):
        must: dict = {"match_all": {}}
    else:
        must = {
            "query_string": {
                "query": query.strip(),
                "fields": list(TEXT_FIELDS),
                "default_operator": "AND",
                "lenient": True,
            }
        }
    return {"bool": {"must": [must], "filter": filters.clauses()}}


def run_search(client: Elasticsearch, **request: object) -> dict:
    """`client.search`, with a refused request (or a missing index) turned into a SearchError with the reason."""
    try:
        return dict(client.search(**request))
    except (BadRequestError, NotFoundError) as exc:
        raise refused(exc, request.get("index")) from None


def es_reason(body: object) -> str:
    """The most telling reason in an Elasticsearch error body: the first failed shard's, with its cause."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return str(body)
    error = body["error"]
    shards = error.get("failed_shards") or []
    reason = shards[0].get("reason", error) if shards else (error.get("root_cause") or [error])[0]
    parts = [str(reason.get("reason", reason.get("type", "")))]
    cause = reason.get("caused_by")
    if isinstance(cause, dict) and cause.get("reason"):
        detail = str(cause["reason"]).splitlines()[0].strip()
        if detail and detail not in parts[0]:
            parts.append(detail)
    return ": ".join(parts)


def _as_tuple(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(v for v in values or () if v)


# What Elasticsearch reads as a date besides an ISO date or time: a year, a year and month, epoch milliseconds.
_SHORT_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2]))?|\d{9,}")


def date_bound(option: str, value: str | None) -> str | None:
    """A `--since`/`--until` value as given, once checked; raises SearchError naming the option and the forms it takes
    (an ISO date or time, a year, a month, or date math from `now` such as now-7d)."""
    if not value or value.startswith("now") or _SHORT_DATE.fullmatch(value):
        return value or None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise SearchError(
            f"{option} {value!r} is not a date: give one as 2020-09-14 (a year, a month or a time will do too), or"
            " date math such as now-7d"
        ) from None
    return value


def make_filters(
    since: str | None = None,
    until: str | None = None,
    lang: Sequence[str] | None = None,
    outlet: Sequence[str] | None = None,
    topic: Sequence[str] | None = None,
    seed: Sequence[str] | None = None,
) -> SearchFilters:
    """SearchFilters from optional lists (as command-line options give them); empty values are dropped."""
    return SearchFilters(
        since=date_bound("--since", since),
        until=date_bound("--until", until),
        lang=_as_tuple([code.lower() for code in lang or ()]),  # stored as ISO 639-1, lower case
        outlet=_as_tuple(outlet),
        topic=_as_tuple(topic),
        seed=_as_tuple(seed),
    )
