"""Articles closest to a seed story, ranked by the relevance stored at index time."""

from __future__ import annotations

from dataclasses import dataclass, field

from elasticsearch import Elasticsearch

from search.query import SearchFilters
from search.ranked import RankedArticle

RESULT_FIELDS = ["title", "outlet", "published_at", "language", "url", "matched_seeds", "topics"]


@dataclass(frozen=True, slots=True)
class Match(RankedArticle):
    """One article ranked by its relevance to a seed."""

    matched_seeds: list[str]
    topics: list[str]
    reasons: dict = field(default_factory=dict)  # why it scores as it does against the seed (`seed_reasons`)


def similar_to_seed(
    client: Elasticsearch, index: str, seed_id: str, top: int = 10, filters: SearchFilters | None = None
) -> list[Match]:
    """The `top` articles by `seed_similarity.<seed_id>`, best first, within `filters`, each with its reasons."""
    score_field = f"seed_similarity.{seed_id}"
    clauses = [{"exists": {"field": score_field}}, *(filters.clauses() if filters else [])]
    reply = client.search(
        index=index,
        size=top,
        query={"bool": {"filter": clauses}},
        sort=[{score_field: {"order": "desc", "unmapped_type": "float"}}, {"published_at": {"order": "desc"}}],
        source=[*RESULT_FIELDS, score_field, f"seed_reasons.{seed_id}"],
    )
    matches = []
    for rank, hit in enumerate(reply["hits"]["hits"], start=1):
        src = hit["_source"]
        matches.append(
            Match(
                rank=rank,
                score=float(src.get("seed_similarity", {}).get(seed_id, 0.0)),
                id=hit["_id"],
                title=src.get("title", ""),
                outlet=src.get("outlet"),
                published_at=src.get("published_at"),
                language=src.get("language"),
                url=src.get("url", ""),
                matched_seeds=src.get("matched_seeds", []),
                topics=src.get("topics", []),
                reasons=src.get("seed_reasons", {}).get(seed_id, {}),
            )
        )
    return matches
