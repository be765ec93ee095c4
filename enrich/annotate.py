"""Everything `enrich/` adds to a batch of articles, in one pass with the model and rules loaded once."""

from __future__ import annotations

from dataclasses import dataclass

from enrich.embed import Embedder, embedding_text, load_embedder
from enrich.language import detect_language
from enrich.relevance import SeedProfile, build_profiles, seed_relevance
from enrich.seeds import load_seeds
from mediamon.records import Article, Enrichment
from mediamon.settings import Settings


@dataclass(frozen=True, slots=True)
class Enricher:
    """What enrichment needs, loaded once per process: the model and the seed profiles."""

    embedder: Embedder
    profiles: list[SeedProfile]


def load_enricher(settings: Settings) -> Enricher:
    """Load the model named in settings and build a profile for every seed story."""
    embedder = load_embedder(settings.model_name, settings.embed_batch_size)
    return Enricher(embedder=embedder, profiles=build_profiles(load_seeds(settings.seeds_dir), embedder))


def annotate(articles: list[Article], enricher: Enricher) -> list[Enrichment]:
    """Language, vector and seed relevance for each article (same order)."""
    embedder, profiles = enricher.embedder, enricher.profiles
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
