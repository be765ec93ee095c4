"""The new articles a subscription matches, grouped into stories: near-duplicates (`dup_group`) become one
story, its earliest copy first, and stories are ordered by relevance, then time (newest first).

The window is on `fetched_at`, not `published_at`: an article published days ago but found only now is new to
the analyst, and a feed that backdates its items is not missed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from mediamon.alerts.subscriptions import Subscription
from search.query import TEXT_FIELDS, run_search

MAX_CANDIDATES = 2000  # articles read per run; beyond that, the watermark stops at the last one read
SNIPPET_CHARS = 280
MAX_QUERY_TERMS = 8
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"  # highlight tags no article text contains
_MARKED = re.compile(f"{_MARK_OPEN}(.*?){_MARK_CLOSE}")
_SOURCE = [
    "url", "title", "summary", "outlet", "source_id", "affiliation", "language", "published_at", "fetched_at",
    "topics", "topic_scores", "topic_terms", "entities", "seed_similarity", "seed_reasons", "dup_group",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    """One matching article, with what the email shows of it and why it matched."""

    id: str
    url: str
    title: str
    outlet: str | None
    source_id: str | None
    affiliation: str | None
    language: str | None
    published_at: datetime | None
    fetched_at: datetime
    group: str  # the near-duplicate group (the article's own id when it has none)
    snippet: str = ""
    topics: tuple[str, ...] = ()
    topic_terms: dict[str, list[str]] = field(default_factory=dict)
    entities: tuple[str, ...] = ()
    seed_scores: dict[str, float] = field(default_factory=dict)  # followed seeds only
    seed_reasons: dict[str, dict] = field(default_factory=dict)  # followed seeds only
    topic_score: float | None = None  # the best score among the followed topics it carries
    query_score: float | None = None
    query_terms: tuple[str, ...] = ()

    @property
    def when(self) -> datetime:
        """Publication time, or the time it was fetched when the outlet gave none."""
        return self.published_at or self.fetched_at

    @property
    def relevance(self) -> float | None:
        """The best similarity to a followed seed (None when the subscription follows none it has)."""
        return max(self.seed_scores.values(), default=None)

    @property
    def rank(self) -> tuple[float, float, float]:
        """Sort key, higher first: seed relevance, topic score, query score."""
        return (self.relevance or 0.0, self.topic_score or 0.0, self.query_score or 0.0)


@dataclass(frozen=True, slots=True)
class Story:
    """One item of an email: a story's earliest copy (`lead`) and its later copies, earliest first."""

    lead: Candidate
    copies: tuple[Candidate, ...] = ()

    @property
    def articles(self) -> tuple[Candidate, ...]:
        """Every copy, the lead first."""
        return (self.lead, *self.copies)

    @property
    def best(self) -> Candidate:
        """The copy that matched best: its relevance and reasons stand for the story."""
        return max(self.articles, key=lambda c: c.rank)

    @property
    def also_in(self) -> tuple[Candidate, ...]:
        """One copy per other outlet than the lead's, earliest first."""
        seen = {self.lead.outlet}
        unique = []
        for copy in self.copies:
            if copy.outlet not in seen:
                seen.add(copy.outlet)
                unique.append(copy)
        return tuple(unique)


@dataclass(frozen=True, slots=True)
class Matches:
    """What one window held: the matching articles, and whether the window was read to its end."""

    candidates: list[Candidate]
    complete: bool  # False: more than MAX_CANDIDATES matched; read up to the last candidate's `fetched_at`


def match_query(subscription: Subscription, since: datetime, until: datetime) -> dict:
    """The query for articles fetched in (since, until] that the subscription follows."""
    follows = subscription.follows
    filters: list[dict] = [{"range": {"fetched_at": {"gt": since.isoformat(), "lte": until.isoformat()}}}]
    for field_name, values in (
        ("language", follows.languages),
        ("source_id", follows.outlets),
        ("affiliation", follows.affiliations),
    ):
        if values:
            filters.append({"terms": {field_name: list(values)}})
    any_of: list[dict] = [
        {"term": {"matched_seeds": s.id}}
        if s.min_relevance is None
        else {"range": {f"seed_similarity.{s.id}": {"gte": s.min_relevance}}}
        for s in follows.seeds
    ]
    if follows.topics:
        any_of.append({"terms": {"topics": list(follows.topics)}})
    if any_of:
        filters.append({"bool": {"should": any_of, "minimum_should_match": 1}})
    must = [_query_string(follows.query)] if follows.query else []
    return {"bool": {"must": must, "filter": filters}}


def _query_string(text: str) -> dict:
    """The same query as `mediamon search` runs for these words."""
    return {
        "query_string": {
            "query": text,
            "fields": list(TEXT_FIELDS),
            "default_operator": "AND",
            "lenient": True,
        }
    }


def _highlight(subscription: Subscription) -> dict:
    """Body snippets: around the query's words when there is a query, else the body's beginning."""
    spec: dict = {
        "pre_tags": [_MARK_OPEN],
        "post_tags": [_MARK_CLOSE],
        "fields": {
            "title": {"number_of_fragments": 0},
            "summary": {"number_of_fragments": 0},
            "body": {
                "fragment_size": SNIPPET_CHARS,
                "number_of_fragments": 1,
                "no_match_size": SNIPPET_CHARS,
            },
        },
    }
    if subscription.follows.query:
        spec["highlight_query"] = _query_string(subscription.follows.query)
    return spec


def find_matches(
    client: Elasticsearch, alias: str, subscription: Subscription, since: datetime, until: datetime
) -> Matches:
    """The articles fetched in (since, until] that match, earliest fetched first (at most MAX_CANDIDATES).

    Raises search.query.SearchError when Elasticsearch refuses the subscription's query.
    """
    reply = run_search(
        client,
        index=alias,
        query=match_query(subscription, since, until),
        sort=[{"fetched_at": "asc"}, {"url": "asc"}],
        track_scores=True,
        track_total_hits=True,
        size=MAX_CANDIDATES,
        source=_SOURCE,
        highlight=_highlight(subscription),
    )
    hits = reply["hits"]["hits"]
    candidates = [_candidate(hit, subscription) for hit in hits]
    return Matches(candidates, complete=reply["hits"]["total"]["value"] <= len(hits))


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _plain_snippet(text: str) -> str:
    text = " ".join(text.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "").split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[:SNIPPET_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


def _candidate(hit: dict, subscription: Subscription) -> Candidate:
    src, marks = hit["_source"], hit.get("highlight", {})
    follows = subscription.follows
    followed = {s.id for s in follows.seeds}
    similarity = src.get("seed_similarity") or {}
    reasons = src.get("seed_reasons") or {}
    topic_scores = src.get("topic_scores") or {}
    topics = tuple(src.get("topics") or ())
    followed_topic_scores = [float(topic_scores.get(t, 0.0)) for t in follows.topics if t in topics]
    fragments = [fragment for field_marks in marks.values() for fragment in field_marks]
    terms = dict.fromkeys(term.casefold() for fragment in fragments for term in _MARKED.findall(fragment))
    summary = src.get("summary") or ""
    return Candidate(
        id=hit["_id"],
        url=src.get("url") or "",
        title=src.get("title") or "",
        outlet=src.get("outlet") or src.get("source_id"),
        source_id=src.get("source_id"),
        affiliation=src.get("affiliation"),
        language=src.get("language"),
        published_at=_time(src["published_at"]) if src.get("published_at") else None,
        fetched_at=_time(src["fetched_at"]),
        group=src.get("dup_group") or hit["_id"],
        snippet=_plain_snippet(summary or (marks.get("body") or [""])[0]),
        topics=topics,
        topic_terms=src.get("topic_terms") or {},
        entities=tuple(src.get("entities") or ()),
        seed_scores={s: float(v) for s, v in similarity.items() if s in followed},
        seed_reasons={s: r for s, r in reasons.items() if s in followed and isinstance(r, dict)},
        topic_score=max(followed_topic_scores, default=None),
        query_score=hit.get("_score") if follows.query else None,
        query_terms=tuple(terms)[:MAX_QUERY_TERMS] if follows.query else (),
    )


def group_stories(candidates: Iterable[Candidate]) -> list[Story]:
    """One story per near-duplicate group, its earliest copy as lead; best relevance first, then newest."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[candidate.group].append(candidate)
    stories = []
    for members in groups.values():
        members.sort(key=lambda c: (c.when, c.id))
        stories.append(Story(lead=members[0], copies=tuple(members[1:])))
    return sorted(stories, key=lambda s: (s.best.rank, s.lead.when), reverse=True)
