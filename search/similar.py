"""Articles closest to a seed story, ranked by the relevance stored at index time."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from elasticsearch import Elasticsearch

RESULT_FIELDS = ["title", "outlet", "published_at", "language", "url", "matched_seeds", "topics"]


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked article."""

    rank: int
    score: float
    id: str
    title: str
    outlet: str | None
    published_at: str | None
    language: str | None
    url: str
    matched_seeds: list[str]
    topics: list[str]

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


def similar_to_seed(client: Elasticsearch, index: str, seed_id: str, top: int = 10) -> list[Match]:
    """The `top` articles by `seed_similarity.<seed_id>`, best first."""
    field = f"seed_similarity.{seed_id}"
    reply = client.search(
        index=index,
        size=top,
        query={"exists": {"field": field}},
        sort=[{field: {"order": "desc", "unmapped_type": "float"}}, {"published_at": {"order": "desc"}}],
        source=[*RESULT_FIELDS, field],
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
            )
        )
    return matches
