"""Everything `enrich/` adds to a batch of articles, in one pass with the model and rules loaded once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np

from enrich.embed import Embedder, cosine_bounds, embedding_text, match_point, model_languages, settings_embedder
from enrich.language import LanguageGuess, detect_language
from enrich.near_dup import band_keys, fingerprint
from enrich.relevance import ArticleSignals, RelevanceModel, SeedProfile, build_profiles, relevance, seed_cosines
from enrich.seed_aliases import SeedEntities, load_seed_tagger
from enrich.seeds import load_seeds
from enrich.timeline import Timeline, load_timeline
from enrich.topics import TopicTagger
from mediamon.core.records import Article, Enrichment, Precision
from mediamon.core.settings import Settings

NO_COSINES = np.empty(0, dtype=np.float32)  # an article's signals before the model has embedded it


@dataclass(frozen=True, slots=True)
class Enricher:
    """What enrichment needs, loaded once per process: the model, the seed profiles and the topic rules."""

    embedder: Embedder
    profiles: list[SeedProfile]
    tagger: TopicTagger
    languages: frozenset[str] | None  # languages the model covers; None: all
    relevance_model: RelevanceModel  # how the signals combine, with this model's cosine bounds
    timeline: Timeline  # landmarks that date undated articles
    seed_entities: SeedEntities | None = None  # every seed's key entities, the generated ones among them


def load_enricher(settings: Settings) -> Enricher:
    """Load the model named in settings, the seeds folder's gazetteer and topic rules, and every seed's profile; the
    seeds' key entities that the gazetteer does not know get generated aliases (`enrich/seed_aliases.py`)."""
    embedder = settings_embedder(settings)
    seeds = load_seeds(settings.seeds_dir)
    tagger, entities = load_seed_tagger(settings.seeds_dir, seeds, settings.data_dir)
    return Enricher(
        embedder=embedder,
        profiles=build_profiles(seeds, embedder, tagger, entities.ids, entities.universe),
        tagger=tagger,
        languages=model_languages(settings.model_name, settings.model_languages),
        relevance_model=relevance_model(settings),
        timeline=load_timeline(settings.seeds_dir / "timeline.yaml"),
        seed_entities=entities,
    )


def relevance_model(settings: Settings) -> RelevanceModel:
    """The calibrated combination, with the cosine bounds and match point of the model in settings."""
    floor, ceiling = cosine_bounds(settings.model_name, settings.cosine_bounds)
    point = match_point(settings.model_name, settings.match_point)
    return RelevanceModel(cosine_floor=floor, cosine_ceiling=ceiling, match_point=point)


def standfirst_and_body(summary: str, body: str) -> str:
    """The text topics and entities are read from: the standfirst, unless the body already opens with it."""
    summary, body = summary.strip(), body.strip()
    return body if not summary or summary in body[: len(summary) + 200] else f"{summary}\n{body}"


def time_of(published_at: datetime | None, precision: Precision | None) -> tuple[date | None, int | None]:
    """The day relevance compares with a seed's, and the year of a date known to the year only: a month counts as
    its 15th, a year as undated (None) but naming that year."""
    if published_at is None:
        return None, None
    if precision == "year":
        return None, published_at.year
    if precision == "month":
        return published_at.date().replace(day=15), None
    return published_at.date(), None


def article_signals(
    title: str,
    summary: str,
    body: str,
    published: date | None,
    language: str | None,
    cosines: np.ndarray,
    enricher: Enricher,
    published_year: int | None = None,
) -> ArticleSignals:
    """Entities, topics and the rest of what relevance needs, for one article (`time_of` gives `published` and
    `published_year`)."""
    text = standfirst_and_body(summary, body)
    tags = enricher.tagger.tag(title, text)
    full = f"{title}\n{text}"
    return ArticleSignals(
        cosines=cosines,
        entity_counts=tags.entities,
        topic_scores=tags.scores,
        topics=tuple(tags.topics),
        matched_terms=tags.matched,
        embedding_applies=enricher.languages is None or language in enricher.languages,
        published=published,
        text=full,
        landmarks=enricher.timeline.named(full) if published is None else {},
        published_year=published_year,
    )


@dataclass(frozen=True, slots=True)
class SeedScores:
    """An article's relevance to the seeds: what it stores as `seed_similarity`, `seed_reasons` and
    `matched_seeds` (the seeds over their threshold, in the seeds' order)."""

    similarity: dict[str, float]
    reasons: dict[str, dict[str, object]]
    matched: tuple[str, ...]


def seed_scores(access: str, signals: ArticleSignals, enricher: Enricher) -> SeedScores:
    """The relevance of an article to each seed of `enricher`, from its signals (cosines in profile order).

    An article whose page could not be read in full (`access` other than `full`) gets none: a feed's teaser says
    too little to rank it, so it stays out of seed matches until its full text arrives.
    """
    profiles = enricher.profiles if access == "full" else []
    scores = {p.seed.id: relevance(p, col, signals, enricher.relevance_model) for col, p in enumerate(profiles)}
    return SeedScores(
        similarity={seed_id: round(r.score, 4) for seed_id, r in scores.items()},
        reasons={seed_id: r.reasons() for seed_id, r in scores.items()},
        matched=tuple(p.seed.id for p in profiles if scores[p.seed.id].score >= p.threshold),
    )


def rescore(
    articles: list[Article], vectors: np.ndarray, languages: list[str | None], enricher: Enricher
) -> list[SeedScores]:
    """The seed relevance `annotate` gives these articles, from the vectors and languages it gave them before
    (stored with them): the model embeds nothing here, so the vectors must be `enricher`'s model's."""
    cosines = seed_cosines(vectors, enricher.profiles)
    scores = []
    for row, article in enumerate(articles):
        published, year = time_of(article.published_at, article.published_precision)
        signals = article_signals(
            article.title, article.summary, article.body, published, languages[row], cosines[row], enricher, year
        )
        scores.append(seed_scores(article.access, signals, enricher))
    return scores


def annotate(articles: list[Article], enricher: Enricher) -> list[Enrichment]:
    """Language, vector, topics, entities and relevance to every seed (`seed_scores`: none for a teaser), for each
    article (same order).

    The model embeds the batch in a thread while this one reads the articles (language, near-duplicate digest,
    topics and entities): OpenVINO and the tokenizer let go of the GIL, so the cores the model leaves idle between
    its batches do the reading.
    """
    texts = [embedding_text(a.title, a.summary, a.body) for a in articles]
    with ThreadPoolExecutor(1, thread_name_prefix="embed") as pool:
        embedding = pool.submit(enricher.embedder.encode, texts)
        readings = [_read(article, enricher) for article in articles]
        vectors = embedding.result()
    cosines = seed_cosines(vectors, enricher.profiles)
    enrichments = []
    for row, (article, (simhash, language, unscored)) in enumerate(zip(articles, readings, strict=True)):
        signals = replace(unscored, cosines=cosines[row])
        seeds = seed_scores(article.access, signals, enricher)
        enrichments.append(
            Enrichment(
                language=language.code,
                language_confidence=language.confidence,
                embedding=tuple(float(x) for x in vectors[row]),
                model=enricher.embedder.model_id,
                embed_backend=enricher.embedder.backend,
                topics=signals.topics,
                topic_scores={t: round(s, 3) for t, s in signals.topic_scores.items() if s > 0},
                topic_terms={t: terms for t, terms in signals.matched_terms.items() if terms},
                entities=tuple(sorted(signals.entity_counts)),
                seed_similarity=seeds.similarity,
                seed_reasons=seeds.reasons,
                matched_seeds=seeds.matched,
                simhash=simhash,
                simhash_bands=tuple(band_keys(simhash)) if simhash is not None else (),
            )
        )
    return enrichments


def _read(article: Article, enricher: Enricher) -> tuple[int | None, LanguageGuess, ArticleSignals]:
    """What `annotate` reads from an article's text alone: its near-duplicate digest, its language and its signals,
    their cosines still empty."""
    language = detect_language(article.title, article.body or article.summary, hint=article.language_hint)
    published, year = time_of(article.published_at, article.published_precision)
    signals = article_signals(
        article.title, article.summary, article.body, published, language.code, NO_COSINES, enricher, year
    )
    return fingerprint(article.body), language, signals
