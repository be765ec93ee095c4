"""The Elasticsearch document for an enriched article: only fields the mapping knows."""

from __future__ import annotations

from datetime import UTC, datetime

from mediamon.core.records import Article, Enrichment, build_article
from search.analyzers import language_text


def article_document(article: Article, enrichment: Enrichment) -> dict:
    """The `_source` of one article in `media-articles` (its `_id` is `article.id`), with its text also under
    `text_lang.<language>` for the language analysers (indexed only, never stored)."""
    document = {
        "url": article.url,
        "raw_html": article.raw_html,
        "final_url": article.final_url,
        "feed_url": article.feed_url,
        "source_id": article.source_id,
        "outlet": article.outlet,
        "affiliation": article.affiliation,
        "country": article.country,
        "language": enrichment.language,
        "language_confidence": enrichment.language_confidence,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "authors": list(article.authors),
        "image": article.image,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "published_precision": article.published_precision,
        "published_source": article.published_source,
        "fetched_at": article.fetched_at.isoformat(),
        "extraction_status": article.extraction_status,
        "access": article.access,
        "access_reason": article.access_reason,
        "retries": article.retries,
        "next_retry_at": article.next_retry_at.isoformat() if article.next_retry_at else None,
        "syndicated_from": article.syndicated_from,
        "ingest_run": article.ingest_run,
        "topics": list(enrichment.topics),
        "topic_scores": dict(enrichment.topic_scores),
        "topic_terms": {k: list(v) for k, v in enrichment.topic_terms.items()},
        "entities": list(enrichment.entities),
        "matched_seeds": list(enrichment.matched_seeds),
        "seed_similarity": dict(enrichment.seed_similarity),
        "seed_reasons": dict(enrichment.seed_reasons),
        "dup_group": enrichment.dup_group,
        "simhash": f"{enrichment.simhash:016x}" if enrichment.simhash is not None else None,
        "simhash_bands": list(enrichment.simhash_bands),
        "model": enrichment.model,
        "embed_backend": enrichment.embed_backend,
        "embedding": list(enrichment.embedding),
    }
    document["dated_at"] = dated_at(document)
    document["text_lang"] = language_text(enrichment.language, document)
    return document


def dated_at(source: dict) -> str | None:
    """Where a document stands in time for Kibana, which leaves out documents without its time field: the
    publication time, else (undated) the fetch time."""
    return source.get("published_at") or source.get("fetched_at")


def article_from_document(doc_id: str, source: dict) -> Article:
    """The article an indexed document was made from (what enrichment reads of it)."""
    published = source.get("published_at")
    return build_article(
        source["url"],
        id=doc_id,
        source_id=source.get("source_id") or "",
        outlet=source.get("outlet") or "",
        title=source.get("title") or "",
        body=source.get("body") or "",
        summary=source.get("summary") or "",
        published_at=datetime.fromisoformat(published) if published else None,
        published_precision=source.get("published_precision"),
        published_source=source.get("published_source"),
        fetched_at=datetime.fromisoformat(source["fetched_at"]) if source.get("fetched_at") else datetime.now(UTC),
        extraction_status=source.get("extraction_status") or "ok",
        access=source.get("access") or "full",
        access_reason=source.get("access_reason"),
        retries=source.get("retries") or 0,
        next_retry_at=datetime.fromisoformat(source["next_retry_at"]) if source.get("next_retry_at") else None,
        syndicated_from=source.get("syndicated_from"),
        ingest_run=source.get("ingest_run"),
        language_hint=source.get("language"),
        authors=tuple(source.get("authors") or ()),
        image=source.get("image"),
        feed_url=source.get("feed_url"),
        final_url=source.get("final_url"),
        affiliation=source.get("affiliation"),
        country=source.get("country"),
        raw_html=source.get("raw_html"),
    )
