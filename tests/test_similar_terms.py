"""The BM25 half of `similar`: a long text becomes a bounded query of its most telling terms."""

from __future__ import annotations

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from search.hybrid import MAX_QUERY_TERMS, _telling_terms, similar_articles
from search.index_versions import ensure_articles_index
from search.write import bulk_create

DIMS = 384
BODIES = {
    "s1": "Ministers in Brussels agreed sanctions on Lukashenko and forty officials of Belarus.",
    "s2": "The striker scored the winning goal of the match in the last minute.",
    "s3": "The minister said the weather in the north will be cold and wet for the week.",
    "s4": "Shares fell in London as the bank raised its rate for the third time this year.",
}
# Words every body shares, then many that only some bodies have: hundreds of terms in all.
FILLER = " ".join(["the", "in", "of", "and", "for"] * 60 + " ".join(BODIES.values()).split() * 3)


@pytest.fixture(scope="module")
def index(es: Elasticsearch, settings: Settings) -> str:
    own = settings.model_copy(update={"index_prefix": settings.index_prefix + "terms-"})
    alias = ensure_articles_index(es, own, DIMS, "test-model")
    vector = np.eye(DIMS, dtype=np.float32)[0].tolist()
    documents = ((doc_id, {"title": "", "body": body, "embedding": vector}) for doc_id, body in BODIES.items())
    assert bulk_create(es, alias, documents).failed == {}
    es.indices.refresh(index=alias)
    return alias


def test_a_long_text_gives_at_most_the_cap_of_indexed_terms(es: Elasticsearch, index: str) -> None:
    terms = _telling_terms(es, index, f"{FILLER} Lukashenko zzyzxqq").split()
    assert 0 < len(terms) <= MAX_QUERY_TERMS
    assert "lukashenko" in terms  # rare in the index, so telling
    assert "zzyzxqq" not in terms  # in no article: it could match nothing


def test_similar_finds_the_article_by_its_telling_terms_in_a_long_text(es: Elasticsearch, index: str) -> None:
    hits = similar_articles(es, index, None, f"{FILLER} Lukashenko Belarus sanctions Brussels")
    assert hits[0].id == "s1"


@pytest.fixture(scope="module")
def weighted(es: Elasticsearch, settings: Settings) -> str:
    """Articles naming Tikhanovskaya in their title, standfirst or body only, beside ones that do not."""
    own = settings.model_copy(update={"index_prefix": settings.index_prefix + "weights-"})
    alias = ensure_articles_index(es, own, DIMS, "test-model")
    vector = np.eye(DIMS, dtype=np.float32)[0].tolist()
    fields = {
        "in-body": {"title": "News of the day", "summary": "What happened", "body": "Tikhanovskaya spoke in Vilnius."},
        "in-title": {"title": "Tikhanovskaya in Vilnius", "summary": "What happened", "body": "She spoke there."},
        "in-summary": {"title": "News of the day", "summary": "Tikhanovskaya spoke", "body": "She was in Vilnius."},
        "none": {"title": "Weather", "summary": "Rain", "body": "Cold and wet in Vilnius."},
    }
    documents = ((doc_id, {**doc, "embedding": vector}) for doc_id, doc in fields.items())
    assert bulk_create(es, alias, documents).failed == {}
    es.indices.refresh(index=alias)
    return alias


def test_the_words_half_weighs_title_over_standfirst_over_body(es: Elasticsearch, weighted: str) -> None:
    hits = similar_articles(es, weighted, None, "Tikhanovskaya")
    assert [hit.id for hit in hits] == ["in-title", "in-summary", "in-body"]
    assert [hit.bm25_rank for hit in hits] == [1, 2, 3]
