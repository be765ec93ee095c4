"""Articles similar to a text: BM25 and kNN run as two searches, fused by reciprocal rank fusion in our code.

Elasticsearch's own `rrf` retriever needs an Enterprise licence (and the core-only test node lacks it), so the two
rankings are fetched separately, with the same filters (inside kNN as a pre-filter), and fused by `rrf`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from search.query import BASE_TEXT_FIELDS, LANGUAGE_TEXT_FIELDS, RESULT_FIELDS, SearchFilters, refused, run_search
from search.ranked import RankedArticle

RRF_K = 60
MAX_QUERY_WORDS = 1000  # a whole article as a BM25 query: its first words are enough, and bound the query size
# The BM25 query is the text's most telling terms: this many of highest tf-idf, so its cost stays bounded as the
# index grows (all of 1,000 words took 0.56 s at 100k articles, 25 terms about 40 ms, and found more articles of
# the same story: docs/benchmarks.md, Search latency).
MAX_QUERY_TERMS = 25
RESCORE_OVERSAMPLE = 2.0


@dataclass(frozen=True, slots=True)
class HybridHit(RankedArticle):
    """One fused result: its RRF score and its rank in each list (None: not in that list)."""

    bm25_rank: int | None
    knn_rank: int | None

    def why(self) -> str:
        """Its rank by words and by meaning."""
        ranks = [
            f"words #{self.bm25_rank}" if self.bm25_rank else "",
            f"meaning #{self.knn_rank}" if self.knn_rank else "",
        ]
        return ", ".join(r for r in ranks if r)


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each id scores sum(1 / (k + rank)) over the rankings it is in (rank from 1).

    Best first; equal scores keep the order in which ids were first seen (the first ranking's first). An id
    repeated within one ranking counts at its best rank only.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranking, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def similar_articles(
    client: Elasticsearch,
    index: str,
    vector: Sequence[float] | None,
    text: str | None,
    filters: SearchFilters = SearchFilters(),  # noqa: B008 - frozen, so a shared default is safe
    size: int = 10,
    window: int = 50,
    exclude_ids: Sequence[str] = (),
    k: int = RRF_K,
) -> list[HybridHit]:
    """The `size` articles closest to a text by BM25 on its words and kNN on its embedding, fused by RRF.

    `vector` is the text's embedding by the model the index was built with; `window` is how deep each ranking
    goes. Either input may be missing (None or empty): the other ranking alone is used. `exclude_ids` drops
    articles (e.g. the article the text came from).
    """
    clauses = filters.clauses()
    if exclude_ids:
        clauses.append({"bool": {"must_not": [{"ids": {"values": list(exclude_ids)}}]}})
    sources: dict[str, dict] = {}
    bm25 = _bm25_ranking(client, index, text, clauses, window, sources) if text and text.strip() else []
    knn = _knn_ranking(client, index, vector, clauses, window, sources) if vector is not None and len(vector) else []
    bm25_ranks = {doc_id: rank for rank, doc_id in enumerate(bm25, start=1)}
    knn_ranks = {doc_id: rank for rank, doc_id in enumerate(knn, start=1)}
    hits = []
    for rank, (doc_id, score) in enumerate(rrf([bm25, knn], k=k)[:size], start=1):
        src = sources[doc_id]
        hits.append(
            HybridHit(
                rank=rank,
                score=score,
                id=doc_id,
                title=src.get("title") or "",
                outlet=src.get("outlet"),
                published_at=src.get("published_at"),
                language=src.get("language"),
                url=src.get("url") or "",
                bm25_rank=bm25_ranks.get(doc_id),
                knn_rank=knn_ranks.get(doc_id),
            )
        )
    return hits


def _bm25_ranking(
    client: Elasticsearch, index: str, text: str, clauses: list[dict], window: int, sources: dict[str, dict]
) -> list[str]:
    """Ids by BM25 on the text's most telling terms (no query syntax), within the filters."""
    words = _telling_terms(client, index, " ".join(text.split()[:MAX_QUERY_WORDS]))
    if not words:
        return []
    query = {"bool": {"must": [words_query(words)], "filter": clauses}}
    # No total to count: Elasticsearch may then skip the documents that cannot reach the top `window`.
    reply = run_search(client, index=index, size=window, query=query, source=RESULT_FIELDS, track_total_hits=False)
    return _collect(reply, sources)


def words_query(words: str) -> dict:
    """The BM25 half's query for the telling terms: title, standfirst and body scored as one field (BM25F,
    `combined_fields`, with their weights), plus the language-analysed copies where the index has them.

    Both clauses are sums of term scores, so Elasticsearch can skip documents that cannot enter the top hits; the
    dis_max over fields used before could not, and took 0.25-0.6 s at a million articles (docs/benchmarks.md).
    """
    return {
        "bool": {
            "should": [
                {"combined_fields": {"query": words, "fields": list(BASE_TEXT_FIELDS)}},
                {"multi_match": {"query": words, "fields": list(LANGUAGE_TEXT_FIELDS), "type": "most_fields"}},
            ]
        }
    }


def _telling_terms(client: Elasticsearch, index: str, text: str) -> str:
    """The text's `MAX_QUERY_TERMS` terms of highest tf-idf (found in at least one article body), space-separated."""
    try:
        reply = client.termvectors(
            index=index,
            doc={"body": text},
            fields=["body"],
            positions=False,
            offsets=False,
            payloads=False,
            field_statistics=False,
            filter={"max_num_terms": MAX_QUERY_TERMS, "min_term_freq": 1, "min_doc_freq": 1},
        )
    except (BadRequestError, NotFoundError) as exc:
        raise refused(exc, index) from None
    return " ".join(reply["term_vectors"].get("body", {}).get("terms", {}))


def _knn_ranking(
    client: Elasticsearch,
    index: str,
    vector: Sequence[float],
    clauses: list[dict],
    window: int,
    sources: dict[str, dict],
) -> list[str]:
    """Ids by vector similarity on `embedding`, the filters applied inside the kNN search."""
    knn: dict = {
        "field": "embedding",
        "query_vector": [float(x) for x in vector],
        "k": window,
        "num_candidates": max(100, 2 * window),
        # int8 candidates re-scored by their float vectors: recall@50 0.989 instead of 0.983, as float HNSW
        # (bench/vector_recall.py, docs/benchmarks.md)
        "rescore_vector": {"oversample": RESCORE_OVERSAMPLE},
    }
    if clauses:
        knn["filter"] = clauses
    reply = run_search(client, index=index, size=window, knn=knn, source=RESULT_FIELDS)
    return _collect(reply, sources)


def _collect(reply: dict, sources: dict[str, dict]) -> list[str]:
    ids = []
    for hit in reply["hits"]["hits"]:
        sources.setdefault(hit["_id"], hit.get("_source", {}))
        ids.append(hit["_id"])
    return ids
