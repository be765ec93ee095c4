"""Analyst search and hybrid similarity against the real local node, on ten small articles written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from mediamon.core.settings import Settings
from search.hybrid import rrf, similar_articles
from search.index_versions import ensure_articles_index
from search.query import SearchError, SearchFilters, make_filters, search_articles
from search.write import bulk_create

DIMS = 384
SEED = "belarus-2020-09"

# id: (language, outlet, published_at, title, body, topics, seeds, cosine to the query vector)
ARTICLES = {
    "d1": ("en", "bbc", "2020-09-10T08:00:00Z", "Lukashenko meets Putin in Sochi",
           "The Belarusian leader flew to Sochi and was promised a loan of 1.5 billion dollars.",
           ["belarus", "belarus.russia"], [SEED], 0.70),
    "d2": ("ru", "meduza", "2020-09-11T09:00:00Z", "Лукашенко встретился с Путиным",
           "Президенты обсудили кредит в полтора миллиарда долларов.", ["belarus"], [SEED], 0.60),
    "d3": ("nl", "nos", "2020-09-10T10:00:00Z", "Rusland verhoogt de inzet in Wit-Rusland",
           "Lavrov beschuldigt Oekraïne, Poetin steunt Loekasjenko.", ["belarus", "belarus.russia"], [SEED], 0.50),
    "d4": ("en", "reuters", "2020-08-10T21:00:00Z", "Protests erupt in Minsk after disputed election",
           "Thousands marched through Minsk; police detained hundreds.", ["belarus", "belarus.protests"], [], 0.85),
    "d5": ("en", "bbc", "2020-09-15T12:00:00Z", "Premier League fixtures announced",
           "The new season opens with a London derby.", [], [], 0.40),
    "d6": ("de", "dw", "2020-09-12T07:00:00Z", "Lukaschenko und Putin einigen sich auf Kredit",
           "Putin sagt Minsk Kredite über 1,5 Milliarden Dollar zu.", ["belarus"], [], 0.30),
    "d7": ("en", "reuters", "2020-10-01T15:00:00Z", "Opposition leader Tikhanovskaya meets Merkel",
           "The exiled opposition leader asked the EU for sanctions against Lukashenko.",
           ["belarus", "belarus.international"], [], 0.95),
    "d8": ("en", "guardian", "2020-09-20T06:00:00Z", "Climate summit delayed",
           "Negotiators will meet again next year.", [], [], 0.10),
    "d9": ("pl", "tvn24", "2020-09-13T18:00:00Z", "Białoruś: protesty w Mińsku",
           "Demonstranci przeszli ulicami stolicy.", ["belarus", "belarus.protests"], [], 0.05),
    "d10": ("en", "guardian", "2020-09-30T12:00:00Z", "Sanctions on Belarus officials agreed in Brussels",
            "EU ministers agreed sanctions on forty Belarus officials over the crackdown.",
            ["belarus", "belarus.international"], [SEED], 0.20),
}  # fmt: skip


def _vector(axis: int, cosine: float) -> list[float]:
    """A unit vector with the given cosine to the query vector (axis 0), the rest on its own axis."""
    v = np.zeros(DIMS, dtype=np.float32)
    v[0] = cosine
    v[axis] = np.sqrt(1.0 - cosine**2)
    return (v / np.linalg.norm(v)).tolist()


QUERY_VECTOR = np.eye(DIMS, dtype=np.float32)[0].tolist()


def _document(doc_id: str, row: tuple) -> dict:
    language, outlet, published, title, body, topics, seeds, cosine = row
    return {
        "url": f"https://{outlet}.example/{doc_id}",
        "outlet": outlet,
        "language": language,
        "title": title,
        "summary": "",
        "body": body,
        "published_at": published,
        "topics": topics,
        "matched_seeds": seeds,
        "seed_similarity": {SEED: cosine} if seeds else {},
        "embedding": _vector(int(doc_id[1:]), cosine),
    }


@pytest.fixture(scope="module")
def search_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"index_prefix": settings.index_prefix + "search-"})


@pytest.fixture(scope="module")
def index(es: Elasticsearch, search_settings: Settings) -> str:
    alias = ensure_articles_index(es, search_settings, DIMS, "test-model")
    report = bulk_create(es, alias, ((doc_id, _document(doc_id, row)) for doc_id, row in ARTICLES.items()))
    assert report.failed == {}
    es.indices.refresh(index=alias)
    return alias


def ids(hits) -> list[str]:
    return [hit.id for hit in hits]


def test_phrase_query_needs_the_words_in_order(es: Elasticsearch, index: str) -> None:
    assert ids(search_articles(es, index, '"Putin in Sochi"')) == ["d1"]
    assert search_articles(es, index, '"Sochi in Putin"') == []


def test_words_are_all_required_by_default(es: Elasticsearch, index: str) -> None:
    assert ids(search_articles(es, index, "Belarus sanctions")) == ["d10"]
    assert set(ids(search_articles(es, index, "Belarus OR sanctions"))) == {"d7", "d10"}


def test_boolean_operators(es: Elasticsearch, index: str) -> None:
    assert set(ids(search_articles(es, index, "Putin AND NOT Sochi"))) == {"d6"}
    assert set(ids(search_articles(es, index, "(Tikhanovskaya OR Sochi) AND NOT Merkel"))) == {"d1"}


def test_field_syntax_in_the_query(es: Elasticsearch, index: str) -> None:
    assert ids(search_articles(es, index, "language:ru")) == ["d2"]
    assert ids(search_articles(es, index, "Putin AND language:de")) == ["d6"]
    assert ids(search_articles(es, index, "title:Minsk")) == ["d4"]


def test_title_matches_rank_above_body_matches(es: Elasticsearch, index: str) -> None:
    # d10 has "sanctions" in its title, d7 only in its body
    assert ids(search_articles(es, index, "sanctions")) == ["d10", "d7"]


def test_date_filters_are_inclusive(es: Elasticsearch, index: str) -> None:
    hits = search_articles(es, index, "", SearchFilters(since="2020-09-20", until="2020-09-30"))
    assert ids(hits) == ["d10", "d8"]  # a plain date as `until` includes that whole day; newest first
    assert ids(search_articles(es, index, "", SearchFilters(until="2020-08-31"))) == ["d4"]
    assert ids(search_articles(es, index, "", SearchFilters(since="2020-10-01"))) == ["d7"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(lang=("ru", "de")), {"d2", "d6"}),
        (SearchFilters(outlet=("reuters",)), {"d4", "d7"}),
        (SearchFilters(topic=("belarus.protests",)), {"d4", "d9"}),
        (SearchFilters(seed=(SEED,)), {"d1", "d2", "d3", "d10"}),
        (SearchFilters(seed=(SEED,), lang=("en",), since="2020-09-15"), {"d10"}),
    ],
)
def test_each_filter(es: Elasticsearch, index: str, filters: SearchFilters, expected: set[str]) -> None:
    assert set(ids(search_articles(es, index, "*", filters, size=50))) == expected


def test_filters_combine_with_the_query(es: Elasticsearch, index: str) -> None:
    assert ids(search_articles(es, index, "Lukashenko", SearchFilters(outlet=("reuters",)))) == ["d7"]


def test_highlighted_snippets(es: Elasticsearch, index: str) -> None:
    (hit,) = search_articles(es, index, "Sochi")
    assert hit.highlights["title"] == ["Lukashenko meets Putin in <em>Sochi</em>"]
    assert any("<em>Sochi</em>" in fragment for fragment in hit.highlights["body"])
    assert hit.url == "https://bbc.example/d1" and hit.language == "en" and hit.topics == ["belarus", "belarus.russia"]


def test_bad_query_syntax_is_a_search_error(es: Elasticsearch, index: str) -> None:
    with pytest.raises(SearchError, match=r"Failed to parse query \[title:\(Putin\].*Cannot parse"):
        search_articles(es, index, "title:(Putin")


def test_bad_date_is_a_search_error(es: Elasticsearch, index: str) -> None:
    with pytest.raises(SearchError, match=r"failed to parse date field \[last tuesday\]"):
        search_articles(es, index, "", SearchFilters(since="last tuesday"))


def test_rrf_scores_and_order() -> None:
    fused = rrf([["a", "b", "c"], ["c", "a"]], k=60)
    assert [doc_id for doc_id, _ in fused] == ["a", "c", "b"]
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)


def test_rrf_ties_keep_first_seen_order_and_duplicates_count_once() -> None:
    both = pytest.approx(1 / 61 + 1 / 62)
    assert rrf([["x", "y"], ["y", "x"]]) == [("x", both), ("y", both)]
    assert rrf([["x", "x", "y"]], k=1) == [("x", 0.5), ("y", pytest.approx(1 / 4))]
    assert rrf([[], []]) == []


def test_rrf_k_flattens_the_head() -> None:
    # with a small k the top of one list dominates; with a large k agreement across lists wins
    rankings = [["a", "x", "y", "b"], ["c", "z", "w", "b"]]
    assert rrf(rankings, k=1)[0][0] == "a"
    assert rrf(rankings, k=60)[0][0] == "b"


def test_hybrid_fuses_bm25_and_knn(es: Elasticsearch, index: str) -> None:
    # BM25 on "sanctions": d10 (title), d7 (body). kNN: d7, d4, d1, d2, d3, d5, d6, d10, d8, d9.
    hits = similar_articles(es, index, QUERY_VECTOR, "sanctions", size=4)
    assert ids(hits) == ["d7", "d10", "d4", "d1"]
    assert [(h.bm25_rank, h.knn_rank) for h in hits] == [(2, 1), (1, 8), (None, 2), (None, 3)]
    assert hits[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert hits[1].title == "Sanctions on Belarus officials agreed in Brussels"


def test_hybrid_with_one_input(es: Elasticsearch, index: str) -> None:
    assert ids(similar_articles(es, index, None, "sanctions")) == ["d10", "d7"]
    assert ids(similar_articles(es, index, QUERY_VECTOR, "", size=3)) == ["d7", "d4", "d1"]


def test_hybrid_filters_apply_inside_knn(es: Elasticsearch, index: str) -> None:
    # With a window of 1, a post-filter would keep nothing (the nearest article, d7, is Reuters'); inside kNN
    # the nearest Guardian article is found.
    hits = similar_articles(es, index, QUERY_VECTOR, None, SearchFilters(outlet=("guardian",)), window=1)
    assert ids(hits) == ["d10"]
    hits = similar_articles(es, index, QUERY_VECTOR, "sanctions", SearchFilters(lang=("en",)), exclude_ids=["d7"])
    assert ids(hits)[:2] == ["d10", "d4"]
    assert "d7" not in ids(hits) and {"d2", "d3", "d6", "d9"}.isdisjoint(ids(hits))


def test_cli_search_json(index: str, search_settings: Settings, cli_settings) -> None:
    from mediamon import cli

    cli_settings(index_prefix=search_settings.index_prefix)
    result = CliRunner().invoke(cli.app, ["search", "Putin", "--lang", "de", "--lang", "ru", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == ["d6"]
    assert rows[0]["highlights"]["title"] == ["Lukaschenko und <em>Putin</em> einigen sich auf Kredit"]


def test_cli_search_table_and_bad_query(index: str, search_settings: Settings, cli_settings) -> None:
    from mediamon import cli

    cli_settings(index_prefix=search_settings.index_prefix)
    runner = CliRunner()
    result = runner.invoke(cli.app, ["search", '"Putin in Sochi"', "--since", "2020-09-01", "--seed", SEED])
    assert result.exit_code == 0, result.output
    assert "Lukashenko meets Putin in Sochi" in result.output and "bbc" in result.output
    result = runner.invoke(cli.app, ["search", "title:(Putin"])
    assert result.exit_code == 2  # a query Elasticsearch refuses is a usage error
    assert "Failed to parse query" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli.app, ["similar", "--seed", "karabakh-2020-09"])  # no article here is scored for it
    assert result.exit_code == 0
    assert "no article is scored for seed karabakh-2020-09 yet: `mediamon rescore --seed karabakh-2020-09`" in " ".join(
        result.output.split()
    )
    result = runner.invoke(cli.app, ["search", "Putin", "--seed", "nope"])
    assert result.exit_code == 2 and "unknown seed 'nope'; the seeds are: belarus-2020-09" in result.output
    result = runner.invoke(cli.app, ["search", "Putin", "--lang", "DE", "--json"])  # codes are stored lower case
    assert result.exit_code == 0 and [row["id"] for row in json.loads(result.stdout)] == ["d6"]


def test_missing_index_is_a_search_error(es: Elasticsearch, settings: Settings) -> None:
    with pytest.raises(SearchError, match="no such index"):
        search_articles(es, settings.index_prefix + "missing-media-articles", "Putin")


def test_a_date_bound_that_is_no_date_is_named_before_any_search():
    kept = make_filters(since="2020-09", until="2020-09-14T10:00:00Z")
    assert (kept.since, kept.until) == ("2020-09", "2020-09-14T10:00:00Z")
    assert make_filters(since="now-7d", until="2020").since == "now-7d"
    for option, value in (("--since", "2020-13-01"), ("--until", "yesterday")):
        with pytest.raises(SearchError, match=f"{option} '{value}' is not a date: give one as 2020-09-14"):
            make_filters(**{option[2:]: value})


def test_explain_prints_each_reason_and_says_why_an_article_has_no_score(es, search_settings, cli_settings) -> None:
    from mediamon import cli

    explained = search_settings.model_copy(update={"index_prefix": search_settings.index_prefix + "explain-"})
    alias = ensure_articles_index(es, explained, DIMS, "test-model")
    reasons = {"score": 0.81, "cosine": 0.64, "entities": ["lukashenko", "putin"], "time": 1.0}
    scored = {"title": "Lukashenko meets Putin", "url": "https://bbc.example/s", "access": "full"}
    scored |= {"seed_similarity": {SEED: 0.81}, "seed_reasons": {SEED: reasons}}
    teaser = {"title": "Minsk: more to follow", "url": "https://bbc.example/t", "access": "teaser"}
    assert bulk_create(es, alias, [("scored", scored), ("teaser", teaser)]).created == 2
    cli_settings(index_prefix=explained.index_prefix)
    runner = CliRunner()
    result = runner.invoke(cli.app, ["similar", "--seed", SEED, "--explain", "scored"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2:] == ["score: 0.810", "  cosine: 0.64", '  entities: ["lukashenko", "putin"]', "  time: 1.0"]
    result = runner.invoke(cli.app, ["similar", "--seed", SEED, "--explain", "teaser"])
    assert result.exit_code == 0 and (
        f"score: none for {SEED}: its page gave no article text (teaser); it ranks for no seed until its full text"
        " arrives"
    ) in " ".join(result.output.split())
    result = runner.invoke(cli.app, ["similar", "--seed", SEED, "--explain", "scored", "--json"])
    assert json.loads(result.stdout)["reasons"] == reasons
