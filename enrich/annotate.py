"""Everything `enrich/` adds to a batch of articles, in one pass with the model loaded once."""

from __future__ import annotations

from enrich.embed import Embedder, embedding_text
from enrich.language import detect_language
from enrich.relevance import SeedProfile, seed_relevance
from mediamon.records import Article, Enrichment


def annotate(articles: list[Article], embedder: Embedder, profiles: list[SeedProfile]) -> list[Enrichment]:
    """Language, vector and seed relevance for each article (same order)."""
    vectors = embedder.encode([embedding_text(a.title, a.summary, a.body) for a in articles])
    relevance = seed_relevance(vectors, profiles)
    enrichments = []
    for row, article in enumerate(articles):
        language = detect_language(article.title, article.body or article.summary, hint=article.language_hint)
        scores = {p.seed.id: round(float(relevance[row, col]), 4) for col, p in enumerate(profiles)}
        enrichments.append(
            Enrichment(
                language=language.code,
                language_confidence=language.confidence,
                embedding=tuple(float(x) for x in vectors[row]),
                model=embedder.model_id,
                seed_similarity=scores,
                matched_seeds=tuple(p.seed.id for p in profiles if scores[p.seed.id] >= p.threshold),
            )
        )
    return enrichments
