"""Articles closest to a seed story, ranked by the relevance stored at index time."""

from __future__ import annotations

from dataclasses import dataclass, field

from elasticsearch import Elasticsearch

from search.query import SearchFilters, run_search
from search.ranked import RankedArticle

RESULT_FIELDS = ["title", "outlet", "published_at", "language", "url", "matched_seeds", "topics"]


@dataclass(frozen=True, slots=True)
class Match(RankedArticle):
    """One article ranked by its relevance to a seed."""

    matched_seeds: list[str]
    topics: list[str]
    reasons: dict = field(default_factory=dict)  # why it scores as it does against the seed (`seed_reasons`)

    def why(self) -> str:
        """The seed's entities it names, the topics it shares, the model's part and time, in one line."""
        r = self.reasons
        parts = []
        if r.get("entities"):
            parts.append("names " + ", ".join(r["entities"][:5]))
        if r.get("topics"):
            parts.append("about " + ", ".join(r["topics"][:3]))
        if "cosine" in r:
            parts.append(f"meaning {r['cosine']:.2f}" if r.get("embedding_used") else "meaning not compared")
        if "time" in r:
            parts.append(f"time {r['time']:.1f}")
        if r.get("landmarks"):
            parts.append("after " + ", ".join(r["landmarks"]))
        return "; ".join(parts)


def similar_to_seed(
    client: Elasticsearch, index: str, seed_id: str, top: int = 10, filters: SearchFilters | None = None
) -> list[Match]:
    """The `top` articles by `seed_similarity.<seed_id>`, best first, within `filters`, each with its reasons."""
    score_field = f"seed_similarity.{seed_id}"
    clauses = [{"exists": {"field": score_field}}, *(filters.clauses() if filters else [])]
    reply = run_search(
        client,
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


def seed_reasons_of(client: Elasticsearch, index: str, seed_id: str, article_id: str) -> dict | None:
    """The stored reasons of one article's relevance to a seed (its title and URL too); None when not indexed."""
    fields = ["title", "url", "access", f"seed_similarity.{seed_id}", f"seed_reasons.{seed_id}"]
    doc = client.options(ignore_status=404).get(index=index, id=article_id, source=fields)
    if not doc.get("found"):
        return None
    src = doc["_source"]
    return {
        "id": article_id,
        "title": src.get("title"),
        "url": src.get("url"),
        "access": src.get("access"),
        "score": src.get("seed_similarity", {}).get(seed_id),
        "reasons": src.get("seed_reasons", {}).get(seed_id, {}),
    }
