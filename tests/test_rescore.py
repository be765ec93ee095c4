"""`mediamon seeds add` and `mediamon rescore` on the real local node: articles indexed with one seed story, a
second added and the articles rescored in place, give the scores that indexing them with both would have given;
a removed seed's scores go; rescoring twice writes nothing; `--since` limits it. Also the seed fingerprint that the
maintenance DAG rescores on."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from enrich.annotate import annotate, load_enricher
from enrich.seed_files import SeedRefused, add_seed_file
from enrich.seeds import UnknownSeed, stories_digest
from mediamon.cli import app
from mediamon.core.records import Article
from mediamon.core.settings import PROJECT_ROOT, Settings
from mediamon.dev.sample_news import load_items
from mediamon.flows.indexing import index_enriched
from mediamon.flows.maintenance import rescore_if_seeds_changed
from mediamon.flows.rescore import RescoreError, recorded_fingerprint, rescore_articles
from search.index_versions import ensure_articles_index
from search.query import SearchError
from search.seed_fields import SeedFields, SeedUpdate, merged

FIRST = "belarus-2020-09"
SECOND = "belarus-protests-2020-08"
SECOND_FILE = f"""---
id: {SECOND}
title: Belarusians march against the election result
language: en
date: 2020-08-16
summaries:
  en: >-
    Hundreds of thousands march in Minsk and other Belarusian towns against Lukashenko's claimed landslide in the
    August 2020 presidential election; riot police detain thousands and opposition leaders leave the country.
entities: [belarus, Minsk, lukashenko, tsikhanouskaya, omon, Ales Example]
topics: [belarus.protests, belarus, belarus.election, not.a.topic]
---
Sunday's march in Minsk was the largest in the country's history. Protesters with white-red-white flags walked
from the city centre to the memorial, demanding new elections and the release of the detained.
"""
SEED_KEYS = ("seed_similarity", "seed_reasons", "matched_seeds")
SINCE = "2020-09-10"  # some sample items are published (and fetched) before, some after


def articles() -> list[Article]:
    """The sample news items as pipeline articles (fetched an hour after publication), and one teaser."""
    built = [
        item.article(f"https://sample.example/{item.id}", item.published + timedelta(hours=1)) for item in load_items()
    ]
    teaser = replace(built[0], id="teaser", url="https://sample.example/teaser", access="teaser", body="")
    return [*built, teaser]


def seeds_folder(path: Path, *extra: str) -> Path:
    """A copy of the shipped seeds folder with its first story only, and `extra` seed files."""
    shutil.copytree(
        PROJECT_ROOT / "seeds", path, ignore=lambda _, names: [n for n in names if n.startswith("karabakh")]
    )
    for number, content in enumerate(extra):
        (path / "stories" / f"extra-{number}.txt").write_text(content, encoding="utf-8")
    return path


def index_articles(es: Elasticsearch, settings: Settings) -> str:
    """Index the articles as the pipeline does, scored with the seeds of `settings`."""
    enricher = load_enricher(settings)
    batch = articles()
    alias = ensure_articles_index(es, settings, enricher.embedder.dims, enricher.embedder.model_id)
    report = index_enriched(es, alias, list(zip(batch, annotate(batch, enricher), strict=True)))
    assert report.created == len(batch) and not report.failed
    return alias


def seed_fields(es: Elasticsearch, alias: str) -> dict[str, dict]:
    reply = es.search(index=alias, size=1000, source=list(SEED_KEYS), seq_no_primary_term=True)
    return {hit["_id"]: {**hit["_source"], "_seq_no": hit["_seq_no"]} for hit in reply["hits"]["hits"]}


def without_versions(fields: dict[str, dict]) -> dict[str, dict]:
    return {doc_id: {k: v for k, v in f.items() if k != "_seq_no"} for doc_id, f in fields.items()}


@pytest.fixture(scope="module")
def world(es: Elasticsearch, settings: Settings, tmp_path_factory) -> dict:
    """Articles indexed with the shipped seed only (`alias`), the same articles indexed with both seeds
    (`expected`), and the settings of the first deployment (its own seeds folder and data folder)."""
    root = tmp_path_factory.mktemp("rescore")
    one = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}rescore-one-",
            "seeds_dir": seeds_folder(root / "seeds-one"),
            "data_dir": root / "data",
        }
    )
    both = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}rescore-both-",
            "seeds_dir": seeds_folder(root / "both", SECOND_FILE),
        }
    )
    alias = index_articles(es, one)
    before = seed_fields(es, alias)
    assert all(set(f["seed_similarity"]) <= {FIRST} for f in before.values())
    expected = without_versions(seed_fields(es, index_articles(es, both)))
    assert any(SECOND in f["matched_seeds"] for f in expected.values())  # the second seed matches some articles
    assert expected["teaser"] == {"seed_similarity": {}, "seed_reasons": {}, "matched_seeds": []}
    seed_file = root / "protests.txt"
    seed_file.write_text(SECOND_FILE, encoding="utf-8")
    return {"settings": one, "alias": alias, "before": before, "expected": expected, "seed_file": seed_file}


@pytest.fixture
def mediamon(world, cli_settings):
    """The CLI, with the first deployment's settings."""
    settings = world["settings"]
    cli_settings(index_prefix=settings.index_prefix, seeds_dir=str(settings.seeds_dir), data_dir=str(settings.data_dir))

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args))

    return invoke


def test_seeds_add_checks_copies_and_shows_what_will_be_used(world, mediamon):
    settings = world["settings"]
    done = mediamon("seeds", "add", str(world["seed_file"]))
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    placed = settings.seeds_dir / "stories" / f"{SECOND}.txt"
    assert placed.read_bytes() == world["seed_file"].read_bytes()  # byte for byte
    assert not list((settings.seeds_dir / "stories").glob(".*"))  # no temporary file left
    assert f"added {placed}" in said and f"id {SECOND}" in said and "language en" in said
    assert "date 2020-08-16" in said and "summary en: Hundreds of thousands march" in said
    assert "in the gazetteer: belarus (Belarus), Minsk = minsk (Minsk), lukashenko" in said
    assert "searched for by these generated aliases" in said and "Ales Example: ru Эксампле;" in said
    assert "main: belarus.protests" in said and "unknown topics" in said and "not.a.topic" in said
    assert f"next: mediamon rescore --seed {SECOND}" in said

    again = mediamon("seeds", "add", str(world["seed_file"]))
    assert again.exit_code == 2 and f"a seed with id {SECOND!r} is there already" in " ".join(again.output.split())
    shown = json.loads(mediamon("seeds", "add", "--replace", "--json", str(world["seed_file"])).output)
    assert shown["replaced"] is True and shown["path"] == str(placed)
    entities = shown["entities"]
    assert entities["known"]["Minsk"] == {"id": "minsk", "label": "Minsk"}
    assert list(entities["known"]) == ["belarus", "Minsk", "lukashenko", "tsikhanouskaya", "omon"]
    assert entities["plain"] == ["Ales Example"] and list(entities["aliases"]) == ["Ales Example"]
    assert (
        entities["aliases"]["Ales Example"]["ru"] == ["Эксампле"]
        and "Exampl*" in entities["aliases"]["Ales Example"]["en"]
    )
    assert sorted(p.name for p in (settings.seeds_dir / "stories").iterdir()) == ["belarus-2020-09.txt", placed.name]


def test_a_bad_seed_file_is_refused_naming_its_line(world, mediamon, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(SECOND_FILE.replace("date: 2020-08-16", "date: mid-August"), encoding="utf-8")
    done = mediamon("seeds", "add", str(bad))
    assert done.exit_code == 2
    assert f"{bad}:5: date: Input should be a valid date" in " ".join(done.output.split())
    unclosed = tmp_path / "unclosed.txt"
    unclosed.write_text("---\nid: x\n", encoding="utf-8")
    with pytest.raises(SeedRefused, match=r"unclosed.txt:1: the YAML header opened here is not closed"):
        add_seed_file(unclosed, world["settings"].seeds_dir)
    assert not (world["settings"].seeds_dir / "stories" / "x.txt").exists()


def test_rescore_since_a_date_rescores_only_the_articles_of_those_days(es, world, mediamon):
    done = mediamon("rescore", "--seed", SECOND, "--since", SINCE, "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    now = seed_fields(es, world["alias"])
    recent = {doc_id for doc_id, f in now.items() if SECOND in f["seed_similarity"]}
    cutoff = datetime.fromisoformat(SINCE).replace(tzinfo=UTC)
    in_scope = {a.id for a in articles() if a.published_at >= cutoff or a.fetched_at >= cutoff}
    assert recent == in_scope - {"teaser"} and 0 < len(recent) < len(now)  # a teaser is scored for no seed
    assert report["seeds"] == [SECOND] and report["scanned"] == len(in_scope) and report["updated"] == len(recent)


def test_seeds_add_and_rescore_give_what_indexing_with_both_seeds_gives(es, world, mediamon):
    done = mediamon("rescore", "--seed", SECOND)
    assert done.exit_code == 0, done.output
    assert without_versions(seed_fields(es, world["alias"])) == world["expected"]
    # the seed's scores are the same whether one seed or all are rescored
    full = mediamon("rescore", "--json")
    assert json.loads(full.stdout)["updated"] == 0
    assert recorded_fingerprint(world["settings"]) == stories_digest(world["settings"].seeds_dir)


def test_rescoring_twice_changes_nothing(es, world, mediamon):
    first = seed_fields(es, world["alias"])
    done = mediamon("rescore", "--json")
    report = json.loads(done.stdout)
    assert (report["updated"], report["unchanged"], report["failed"]) == (0, len(first), {})
    assert seed_fields(es, world["alias"]) == first  # not even a new version of any article


def test_a_removed_seeds_scores_disappear(es, world, mediamon):
    (world["settings"].seeds_dir / "stories" / f"{SECOND}.txt").unlink()
    done = mediamon("rescore", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["cleared"] == [SECOND] and report["seeds"] == [FIRST]
    after = seed_fields(es, world["alias"])
    assert without_versions(after) == without_versions(world["before"])  # as indexed with the first seed alone
    raw = es.search(index=world["alias"], size=1000, source=["seed_similarity", "seed_reasons"])["hits"]["hits"]
    assert all(SECOND not in json.dumps(hit["_source"]) for hit in raw)  # no key left, not even a null
    assert es.count(index=world["alias"], query={"exists": {"field": f"seed_similarity.{SECOND}"}})["count"] == 0
    assert es.count(index=world["alias"], query={"term": {"matched_seeds": SECOND}})["count"] == 0


def test_rescore_without_seed_stories_refuses_and_keeps_the_scores(es, world, mediamon, cli_settings, tmp_path):
    before = seed_fields(es, world["alias"])
    no_stories = Path(shutil.copytree(world["settings"].seeds_dir, tmp_path / "seeds", ignore=lambda *_: ["stories"]))
    cli_settings(seeds_dir=str(no_stories))
    done = mediamon("rescore")
    assert done.exit_code == 2
    assert done.output.strip() == (
        f"configuration error: no seed stories in {no_stories / 'stories'}: nothing rescored, scores kept"
        " (is MEDIAMON_SEEDS_DIR right?)"
    )
    cli_settings(seeds_dir=str(tmp_path / "nowhere"))
    done = mediamon("rescore", "--json")
    assert done.exit_code == 2 and "nowhere/entities.yaml: No such file or directory" in done.stdout
    assert seed_fields(es, world["alias"]) == before  # not one article written


def test_rescore_refuses_what_it_cannot_do(es, world, settings):
    enricher = load_enricher(world["settings"])
    with pytest.raises(UnknownSeed, match="unknown seed 'nope'; the seeds are: belarus-2020-09"):
        rescore_articles(es, world["settings"], enricher, seed="nope")
    with pytest.raises(SearchError, match="failed to parse date field"):
        rescore_articles(es, world["settings"], enricher, since="last tuesday")
    empty = world["settings"].model_copy(update={"index_prefix": f"{settings.index_prefix}rescore-none-"})
    with pytest.raises(RescoreError, match="nothing has been indexed"):
        rescore_articles(es, empty, enricher)
    other = replace(enricher, embedder=replace(enricher.embedder, model_id="other/model@1"))
    with pytest.raises(RescoreError, match=r"other/model@1.*run `mediamon reindex`"):
        rescore_articles(es, world["settings"], other)


def test_the_maintenance_check_records_the_fingerprint_first_then_rescores_on_change(es, world, tmp_path):
    local = world["settings"].model_copy(update={"data_dir": tmp_path / "data"})
    assert rescore_if_seeds_changed(local) is None  # first run: recorded, nothing rescored
    assert recorded_fingerprint(local) == stories_digest(local.seeds_dir)
    assert rescore_if_seeds_changed(local) is None  # nothing changed
    (local.seeds_dir / "stories" / "protests.txt").write_text(SECOND_FILE, encoding="utf-8")
    try:
        report = rescore_if_seeds_changed(local)
        assert report is not None and report["seeds"] == [FIRST, SECOND] and report["updated"] > 0
        assert rescore_if_seeds_changed(local) is None
    finally:
        (local.seeds_dir / "stories" / "protests.txt").unlink()


def test_an_update_that_loses_a_key_is_made_in_two_steps():
    old = SeedFields({"a": 0.5, "b": 0.7}, {"a": {"x": 1}, "b": {"x": 2}}, ["a", "b"])
    assert merged(old.document(), {"seed_similarity": {"a": 0.6}, "matched_seeds": ["a"]}) == {
        "seed_similarity": {"a": 0.6, "b": 0.7},
        "seed_reasons": old.reasons,
        "matched_seeds": ["a"],
    }  # fmt: skip: objects merge key by key, lists are replaced
    gains = SeedUpdate("i", "d", 1, 1, old, SeedFields({"a": 0.6, "b": 0.7, "c": 0.1}, {**old.reasons, "c": {}}, []))
    loses = SeedUpdate("i", "d", 1, 1, old, SeedFields({"a": 0.5}, {"a": {"x": 1}}, ["a"]))
    nested = SeedUpdate("i", "d", 1, 1, old, SeedFields(old.similarity, {"a": {}, "b": {"x": 2}}, ["a", "b"]))
    assert (gains.clears, loses.clears, nested.clears) == (False, True, True)
