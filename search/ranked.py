"""What every ranked list of articles shows: its place, its score and how to find and read the article."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class RankedArticle:
    """One article in a ranking; `similar` and hybrid search add what their score is made of."""

    rank: int
    score: float
    id: str
    title: str
    outlet: str | None
    published_at: str | None
    language: str | None
    url: str

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)

    def why(self) -> str:
        """One line on what the score is made of (empty when the ranking has nothing to add)."""
        return ""
