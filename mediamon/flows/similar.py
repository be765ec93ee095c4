"""Articles similar to a page or a text: fetched and embedded as the pipeline would, then hybrid BM25 + kNN."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from enrich.embed import Embedder, embedding_text, settings_embedder
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id
from mediamon.flows.page_report import fetch_report
from search.hybrid import HybridHit, similar_articles
from search.index_versions import articles_alias
from search.query import SearchFilters


def similar_to_text(
    client: Elasticsearch,
    index: str,
    embedder: Embedder,
    title: str,
    body: str,
    top: int = 10,
    filters: SearchFilters | None = None,
    exclude_ids: tuple[str, ...] = (),
) -> list[HybridHit]:
    """Articles closest to any text (a URL's article, a file): BM25 and kNN fused by RRF, within `filters`.

    The text is embedded exactly as the pipeline embeds articles, so its vector is comparable with theirs.
    """
    vector = embedder.encode([embedding_text(title, "", body)])[0]
    return similar_articles(
        client, index, vector.tolist(), f"{title}\n{body}", filters or SearchFilters(), top, exclude_ids=exclude_ids
    )


def similar_to_document(
    settings: Settings, client: Elasticsearch, title: str, body: str, top: int, filters: SearchFilters
) -> list[HybridHit]:
    """The articles closest to a text, with the model in settings."""
    embedder = settings_embedder(settings)
    return similar_to_text(client, articles_alias(settings), embedder, title, body, top, filters)


def similar_to_url(
    settings: Settings, client: Elasticsearch, url: str, top: int, filters: SearchFilters
) -> list[HybridHit]:
    """The articles closest to the page at `url`, fetched now through the pipeline's fetcher (itself left out).

    Raises PageUnavailable when the page cannot be fetched.
    """
    page = fetch_report(settings, url)
    embedder = settings_embedder(settings)
    index = articles_alias(settings)
    return similar_to_text(client, index, embedder, page["title"], page["body"], top, filters, (article_id(url),))
