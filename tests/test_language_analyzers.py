"""Per-language analysers on the real local node: detected, or set, and searched through one code path."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from search.analyzers import CANDIDATES, has_analyzer, language_analyzers, language_text
from search.index_versions import articles_alias, ensure_articles_index
from search.query import search_articles

DIMS = 4


def index_article(es: Elasticsearch, settings: Settings, body: str, language: str = "en") -> str:
    alias = ensure_articles_index(es, settings, DIMS, "test-model")
    source = {"title": "Weekly figures", "summary": "", "body": body, "language": language, "model": "test-model"}
    source["text_lang"] = language_text(language, source)
    es.index(index=alias, id="a1", document=source, refresh=True)
    return alias


def text_lang_mapping(es: Elasticsearch, alias: str) -> dict:
    mapping = next(iter(es.indices.get_mapping(index=alias).values()))["mappings"]
    return mapping["properties"]["text_lang"].get("properties", {})


def test_detection_keeps_exactly_the_analysers_the_node_has(es, settings):
    detected = language_analyzers(es, settings)
    assert detected == {code: name for code, name in CANDIDATES.items() if has_analyzer(es, name)}
    assert has_analyzer(es, "standard") and not has_analyzer(es, "no-such-analyser")
    modules = {m["name"] for node in es.nodes.info(metric="plugins")["nodes"].values() for m in node["modules"]}
    if "analysis-common" not in modules:  # the core-only test distribution: the standard analyser only
        assert detected == {}


def test_without_language_analysers_the_text_is_searched_by_the_standard_analyser(es, settings):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}lang-off-", "language_analyzers": {}})
    alias = index_article(es, local, "The covid19 figures rose again this week.")
    assert text_lang_mapping(es, alias) == {}
    assert [hit.id for hit in search_articles(es, alias, "covid19")] == ["a1"]
    assert search_articles(es, alias, "covid") == []  # the standard analyser keeps "covid19" whole


def test_a_language_analyser_indexes_the_articles_of_its_language_and_search_uses_it(es, settings):
    # `stop` (letter tokenizer, English stop words) is in every distribution, so it stands in for `english` here:
    # it splits "covid19" into "covid", which the standard analyser does not.
    local = settings.model_copy(
        update={"index_prefix": f"{settings.index_prefix}lang-on-", "language_analyzers": {"en": "stop"}}
    )
    alias = index_article(es, local, "The covid19 figures rose again this week.")
    assert text_lang_mapping(es, alias)["en"]["properties"]["body"] == {"type": "text", "analyzer": "stop"}
    hits = search_articles(es, alias, "covid")
    assert [hit.id for hit in hits] == ["a1"]
    assert "text_lang" not in es.get(index=alias, id="a1")["_source"]  # indexed, not stored twice


def test_an_article_in_a_language_without_an_analyser_is_indexed_under_the_standard_one(es, settings):
    local = settings.model_copy(
        update={"index_prefix": f"{settings.index_prefix}lang-be-", "language_analyzers": {"en": "stop"}}
    )
    alias = index_article(es, local, "Лукашэнка сустрэўся з Пуціным у Сочы.", language="be")
    assert [hit.id for hit in search_articles(es, alias, "Лукашэнка")] == ["a1"]
    assert set(text_lang_mapping(es, alias)) == {"en"}  # `be` was dropped from the index, not refused


def test_a_set_analyser_the_cluster_lacks_is_a_clear_error(es, settings):
    local = settings.model_copy(
        update={"index_prefix": f"{settings.index_prefix}lang-bad-", "language_analyzers": {"xx": "klingon"}}
    )
    with pytest.raises(ValueError, match="MEDIAMON_LANGUAGE_ANALYZERS.*xx=klingon"):
        ensure_articles_index(es, local, DIMS, "test-model")
    assert not es.indices.exists_alias(name=articles_alias(local))


def test_the_setting_reads_from_the_environment(monkeypatch):
    monkeypatch.setenv("MEDIAMON_LANGUAGE_ANALYZERS", '{"ru": "russian", "pl": "polish"}')
    assert Settings().language_analyzers == {"ru": "russian", "pl": "polish"}
