"""`mediamon reindex` on the real local node: new version, atomic alias flip, re-embedding, nothing lost."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import numpy as np
import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from enrich.annotate import Enricher, annotate, load_enricher
from mediamon.cli import app
from mediamon.core.errors import Interrupted
from mediamon.core.records import Article, build_article
from mediamon.core.settings import Settings, get_settings
from mediamon.flows.reindex import ReindexError, reindex_articles
from search.documents import article_document
from search.index_versions import (
    MappingMismatch,
    delete_unaliased,
    ensure_articles_index,
    indices_behind,
    pending_catch_up,
    reindex_needed,
)
from search.write import bulk_create

SEED = "belarus-2020-09"
STORIES = {
    "loan": (
        "Putin promises Lukashenko a $1.5 billion loan in Sochi",
        "Vladimir Putin received Alexander Lukashenko in Sochi and promised Belarus a loan of 1.5 billion dollars, "
        "while protests against the disputed election went on in Minsk and the EU prepared sanctions.",
    ),
    "march": (
        "Tens of thousands march in Minsk again",
        "Protesters filled the streets of Minsk for the fifth Sunday since the election; police detained hundreds.",
    ),
    "football": (
        "Liverpool beat Chelsea at Stamford Bridge",
        "Sadio Mane scored twice as Liverpool won 2-0 in the Premier League on Sunday afternoon.",
    ),
}


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return load_enricher(Settings())


def article(key: str) -> Article:
    title, body = STORIES[key]
    return build_article(
        f"https://news.example/{key}",
        id=key,
        source_id="news",
        outlet="News",
        title=title,
        body=body,
        summary="",
        published_at=datetime(2020, 9, 14, 12, tzinfo=UTC),
        fetched_at=datetime(2020, 9, 14, 13, tzinfo=UTC),
        extraction_status="ok",
    )


def index_stories(es: Elasticsearch, settings: Settings, enricher: Enricher, model: str | None = None) -> str:
    """Index the stories as the pipeline does; `model` pretends their vectors came from another model."""
    articles = [article(key) for key in STORIES]
    enrichments = annotate(articles, enricher)
    if model:  # vectors of "another model": other values, other name, no relevance
        rng = np.random.default_rng(0)
        enrichments = [
            dataclasses.replace(
                e,
                model=model,
                embedding=tuple(float(x) for x in rng.normal(size=len(e.embedding))),
                seed_similarity={SEED: 0.0},
                matched_seeds=(),
            )
            for e in enrichments
        ]
    enrichments = [
        dataclasses.replace(e, dup_group=f"group-{a.id}") for a, e in zip(articles, enrichments, strict=True)
    ]
    alias = ensure_articles_index(es, settings, enricher.embedder.dims, model or enricher.embedder.model_id)
    report = bulk_create(
        es, alias, ((a.id, article_document(a, e)) for a, e in zip(articles, enrichments, strict=True))
    )
    assert report.created == len(STORIES)
    es.indices.refresh(index=alias)
    return alias


def sources(es: Elasticsearch, index: str) -> dict[str, dict]:
    reply = es.search(index=index, size=100, source_exclude_vectors=False)
    return {hit["_id"]: hit["_source"] for hit in reply["hits"]["hits"]}


def late_writer(es: Elasticsearch, alias: str):
    """A progress callback that writes an article to the old version after the copy's snapshot, before the flip."""
    late = dict(sources(es, alias)["march"], url="https://news.example/late")

    def write_to_the_old_index(done: int) -> None:
        if done == 3:
            es.index(index=f"{alias}-v1", id="late", document=late, refresh=True)

    return write_to_the_old_index


def test_reindex_copies_into_a_new_version_flips_the_alias_and_keeps_the_old(es, settings, enricher):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-same-"})
    alias = index_stories(es, local, enricher)
    before = sources(es, alias)
    assert reindex_needed(es, local, enricher.embedder.model_id) is None

    report = reindex_articles(es, local, enricher)

    assert (report.source, report.target) == (f"{alias}-v1", f"{alias}-v2")
    assert (report.copied, report.reembedded, report.caught_up, report.failed) == (3, 0, 0, {})
    assert indices_behind(es, alias) == [f"{alias}-v2"]
    assert es.indices.get_alias(name=alias)[f"{alias}-v2"]["aliases"][alias]["is_write_index"] is True
    assert sources(es, alias) == before  # vectors and scores copied as they were
    assert es.count(index=f"{alias}-v1")["count"] == 3  # the old index stays until asked
    # the alias takes new writes in the new index
    ensure_articles_index(es, local, enricher.embedder.dims, enricher.embedder.model_id)

    assert delete_unaliased(es, local) == [f"{alias}-v1"]
    assert not es.indices.exists(index=f"{alias}-v1")
    assert es.count(index=alias)["count"] == 3


def test_articles_of_another_model_block_indexing_until_reindexed_with_new_vectors(es, settings, enricher):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-model-"})
    alias = index_stories(es, local, enricher, model="old/model@1")
    model = enricher.embedder.model_id

    with pytest.raises(MappingMismatch, match=r"old/model@1.*mediamon reindex"):
        ensure_articles_index(es, local, enricher.embedder.dims, model)
    assert "old/model@1" in (reindex_needed(es, local, model) or "")

    report = reindex_articles(es, local, enricher)

    assert (report.copied, report.reembedded, report.failed) == (3, 3, {})
    assert reindex_needed(es, local, model) is None
    ensure_articles_index(es, local, enricher.embedder.dims, model)  # indexing may go on
    after = sources(es, alias)
    expected = annotate([article(key) for key in STORIES], enricher)
    for key, enrichment in zip(STORIES, expected, strict=True):
        assert after[key]["model"] == model
        assert after[key]["embed_backend"] == enricher.embedder.backend  # how it was computed, beside the model
        assert np.allclose(after[key]["embedding"], enrichment.embedding, atol=1e-5)
        assert after[key]["seed_similarity"][SEED] == pytest.approx(enrichment.seed_similarity[SEED], abs=1e-3)
        assert after[key]["dup_group"] == f"group-{key}"  # the near-duplicate group is kept
    assert after["loan"]["matched_seeds"] == [SEED]
    assert after["loan"]["seed_similarity"][SEED] > after["march"]["seed_similarity"][SEED]
    assert after["football"]["matched_seeds"] == []


def test_articles_written_during_the_copy_are_caught_up_after_the_flip(es, settings, enricher):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-late-"})
    alias = index_stories(es, local, enricher)
    write_to_the_old_index = late_writer(es, alias)
    report = reindex_articles(es, local, enricher, progress=write_to_the_old_index)

    assert (report.copied, report.caught_up) == (4, 1)
    assert es.count(index=alias)["count"] == 4
    assert es.get(index=alias, id="late")["_index"] == f"{alias}-v2"


def test_a_reindex_stopped_in_its_last_pass_leaves_it_to_the_next_and_prune_keeps_its_source(
    es, settings, enricher, monkeypatch
):
    from mediamon.flows import reindex as flow

    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-last-pass-"})
    alias = index_stories(es, local, enricher)
    write_to_the_old_index = late_writer(es, alias)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C in the last pass, which lists what the new version lacks

    with monkeypatch.context() as patched:
        patched.setattr(flow, "existing_ids", stopped)
        with pytest.raises(Interrupted, match=rf"moved to {alias}-v2, while copying what {alias}-v1 got"):
            reindex_articles(es, local, enricher, progress=write_to_the_old_index)
    assert indices_behind(es, alias) == [f"{alias}-v2"] and pending_catch_up(es, f"{alias}-v2") == [f"{alias}-v1"]
    assert not es.exists(index=alias, id="late")
    assert delete_unaliased(es, local) == []  # v1 still holds what the last pass has to copy

    report = reindex_articles(es, local, enricher)  # the last pass of the one before, then its own copy

    assert (report.source, report.target, report.caught_up) == (f"{alias}-v2", f"{alias}-v3", 1)
    assert es.get(index=alias, id="late")["_index"] == f"{alias}-v3" and es.count(index=alias)["count"] == 4
    assert pending_catch_up(es, f"{alias}-v3") == [] and pending_catch_up(es, f"{alias}-v2") == []
    assert delete_unaliased(es, local) == [f"{alias}-v1", f"{alias}-v2"]


def test_the_daily_maintenance_finishes_a_reindex_stopped_in_its_last_pass(es, settings, enricher, monkeypatch):
    from mediamon.flows import reindex as flow
    from mediamon.flows.maintenance import reindex_if_model_changed

    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-daily-"})
    alias = index_stories(es, local, enricher)
    write_to_the_old_index = late_writer(es, alias)

    def failing(*args, **kwargs):
        raise ConnectionError("the node went away in the last pass")

    with monkeypatch.context() as patched:
        patched.setattr(flow, "existing_ids", failing)
        with pytest.raises(ConnectionError):
            reindex_articles(es, local, enricher, progress=write_to_the_old_index)
    assert reindex_if_model_changed(local)["caught_up"] == 1  # the same model: only the stopped pass is done
    assert indices_behind(es, alias) == [f"{alias}-v2"] and pending_catch_up(es, f"{alias}-v2") == []
    assert es.get(index=alias, id="late")["_index"] == f"{alias}-v2"
    assert reindex_if_model_changed(local) is None  # nothing left to do


def test_documents_indexed_before_dated_at_get_it_when_copied(es, settings, enricher):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-dated-"})
    alias = index_stories(es, local, enricher)
    legacy = {k: v for k, v in sources(es, alias)["march"].items() if k not in {"dated_at", "published_at"}}
    es.index(index=f"{alias}-v1", id="march", document=legacy, refresh=True)  # undated, from before `dated_at`

    reindex_articles(es, local, enricher)

    after = sources(es, alias)
    assert after["march"]["dated_at"] == after["march"]["fetched_at"] == "2020-09-14T13:00:00+00:00"
    assert after["loan"]["dated_at"] == after["loan"]["published_at"] == "2020-09-14T12:00:00+00:00"


def test_a_document_the_new_mapping_refuses_stops_the_flip_and_loses_nothing(es, settings, enricher):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-bad-"})
    alias = index_stories(es, local, enricher)
    es.indices.put_mapping(index=f"{alias}-v1", properties={"legacy": {"type": "keyword"}})
    odd = dict(sources(es, alias)["march"], legacy="x")
    es.index(index=f"{alias}-v1", id="odd", document=odd, refresh=True)

    with pytest.raises(ReindexError, match=r"1 articles could not be copied.*odd.*legacy"):
        reindex_articles(es, local, enricher)

    assert indices_behind(es, alias) == [f"{alias}-v1"]
    assert not es.indices.exists(index=f"{alias}-v2")
    assert es.count(index=alias)["count"] == 4


def test_a_reindex_stopped_with_ctrl_c_before_the_switch_deletes_its_partial_copy(es, settings, enricher, monkeypatch):
    from mediamon.flows import reindex as flow

    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-stopped-"})
    alias = index_stories(es, local, enricher)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # as Ctrl-C would, in the middle of the copy

    monkeypatch.setattr(flow, "bulk_create", stopped)
    with pytest.raises(Interrupted, match=rf"still points to {alias}-v1, and the partial copy {alias}-v2 was deleted"):
        reindex_articles(es, local, enricher)

    assert indices_behind(es, alias) == [f"{alias}-v1"]
    assert not es.indices.exists(index=f"{alias}-v2")
    assert es.count(index=alias)["count"] == len(STORIES)


def test_a_switch_that_went_through_before_the_interrupt_keeps_the_new_index(es, settings, enricher, monkeypatch):
    from mediamon.flows import reindex as flow

    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-switched-"})
    alias = index_stories(es, local, enricher)
    switch = flow.move_alias

    def switched_then_stopped(*args, **kwargs):
        switch(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C as the answer to the switch comes back

    monkeypatch.setattr(flow, "move_alias", switched_then_stopped)
    with pytest.raises(KeyboardInterrupt):
        reindex_articles(es, local, enricher)

    assert indices_behind(es, alias) == [f"{alias}-v2"]  # the live index, not deleted
    assert es.count(index=alias)["count"] == len(STORIES)


def test_reindex_without_an_index_says_so(es, settings, enricher):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-none-"})
    with pytest.raises(ReindexError, match="nothing has been indexed"):
        reindex_articles(es, local, enricher)


def test_the_reindex_command_reports_and_prunes(es, settings, enricher, monkeypatch):
    local = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}reindex-cli-"})
    alias = index_stories(es, local, enricher)
    monkeypatch.setenv("MEDIAMON_INDEX_PREFIX", local.index_prefix)
    get_settings.cache_clear()
    try:
        copied = CliRunner().invoke(app, ["reindex", "--json"])
        pruned = CliRunner().invoke(app, ["reindex", "--prune", "--json"])
        again = CliRunner().invoke(app, ["reindex"])
    finally:
        get_settings.cache_clear()
    assert copied.exit_code == 0, copied.output
    report = json.loads(copied.stdout)
    assert (report["target"], report["copied"], report["reembedded"]) == (f"{alias}-v2", 3, 0)
    assert json.loads(pruned.stdout) == {"deleted": [f"{alias}-v1"]}
    said = " ".join(again.output.split())  # the console wraps long lines
    assert again.exit_code == 0 and f"{alias} now points to {alias}-v3: 3 articles copied" in said
    assert f"{alias}-v2 is kept" in said


def test_deleting_a_prefix_deletes_more_indices_than_one_request_line_can_name(es, settings):
    from search.index_versions import delete_prefixed

    prefix = f"{settings.index_prefix}many-"
    names = [f"{prefix}{n:02d}-{'x' * (200 - len(prefix))}" for n in range(25)]  # 25 x 200 bytes > 4,096
    for name in names:
        es.indices.create(index=name, settings={"number_of_shards": 1, "number_of_replicas": 0})
    assert sorted(delete_prefixed(es, prefix)) == names
    assert es.indices.get(index=f"{prefix}*", allow_no_indices=True) == {}
