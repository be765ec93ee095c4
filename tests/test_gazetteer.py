"""The entity gazetteer: aliases across scripts and case forms, Minsk look-alikes and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from enrich.gazetteer import Gazetteer, GazetteerError, load_gazetteer, parse_entities
from enrich.phrases import PhraseMatcher, fold
from mediamon.core.settings import Settings

# One sentence per language naming Lukashenko, Tsikhanouskaya and Belarus, written for these tests.
CROSS_SCRIPT = {
    "en": "Sviatlana Tsikhanouskaya urged Alexander Lukashenko to step down as Belarus protests went on.",
    "nl": "Svetlana Tichanovskaja eist het aftreden van Loekasjenko, terwijl Wit-Rusland blijft protesteren.",
    "de": "Swetlana Tichanowskaja fordert den Rücktritt von Alexander Lukaschenko; Weißrussland protestiert.",
    "fr": "Svetlana Tikhanovskaïa demande le départ d'Alexandre Loukachenko, la Biélorussie manifeste.",
    "it": "Svetlana Tikhanovskaja chiede le dimissioni di Lukashenko mentre la Bielorussia protesta.",
    "pl": "Swiatłana Cichanouska wezwała Łukaszenkę do ustąpienia, a Białoruś wciąż protestuje.",
    "lt": "Sviatlana Cichanouskaja ragino Aliaksandrą Lukašenką atsistatydinti, Baltarusijoje tęsiasi protestai.",
    "ru": "Светлана Тихановская призвала Александра Лукашенко уйти в отставку, Беларусь протестует.",
    "be": "Святлана Ціханоўская заклікала Аляксандра Лукашэнку сысці, Беларусь пратэстуе.",
    "uk": "Світлана Тихановська закликала Лукашенка піти у відставку, а Білорусь протестує.",
}


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer(Settings().seeds_dir / "entities.yaml")


@pytest.mark.parametrize("lang", sorted(CROSS_SCRIPT))
def test_cross_script_aliases_find_the_key_entities(gazetteer, lang):
    found = gazetteer.find_entities(CROSS_SCRIPT[lang])
    assert {"lukashenko", "tsikhanouskaya", "belarus"} <= found.keys(), (lang, found)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Встреча с Лукашенко прошла в Минске.", "lukashenko"),
        ("Размова з Лукашэнкам адбылася ўчора.", "lukashenko"),
        ("Rozmawiano o Łukaszence i jego reżimie.", "lukashenko"),
        ("Lukasenka (without the diacritic) spoke.", "lukashenko"),
        ("Polska graniczy z Białorusią.", "belarus"),
        ("Россия и Белоруссией подписали договор.", "belarus"),
        ("Адносіны паміж Беларуссю і Расіяй.", "belarus"),
        ("Spannungen zwischen Weissrussland und der EU.", "belarus"),
        ("Minister Makei sprak met Lavrov in Moskou.", "makei"),
        ("Misjoestin bezocht Minsk.", "mishustin"),
        ("Мария Колесникова задержана.", "kolesnikova"),
        ("Der Koordinierungsrat der Opposition tagte.", "coordination-council"),
        ("Координационный совет оппозиции заявил...", "coordination-council"),
        ("Integration within the Union State was discussed.", "union-state"),
        ("Союзное государство России и Беларуси.", "union-state"),
        ("Protesters in Mińsku gathered.", "minsk"),
    ],
)
def test_case_forms_and_transliterations(gazetteer, text, entity):
    assert entity in gazetteer.find_entities(text)


def test_counts_mentions_and_keeps_surface_forms_as_written(gazetteer):
    text = "Лукашенко said... Lukashenka, LUKASHENKO and Łukaszenka all name the same man in Belarus."
    assert gazetteer.find_entities(text)["lukashenko"] == 4
    assert gazetteer.surface_forms(text)["lukashenko"] == ["Лукашенко", "Lukashenka", "LUKASHENKO", "Łukaszenka"]
    mention = gazetteer.mentions(text)[0]
    assert (mention.entity, text[mention.start : mention.end]) == ("lukashenko", "Лукашенко")


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("The OSCE Minsk Group co-chairs called for a ceasefire in Nagorno-Karabakh.", "osce-minsk-group"),
        ("Talks under the Minsk Group stalled.", "osce-minsk-group"),
        ("Kyiv says Moscow never honoured the Minsk agreements.", "minsk-agreements"),
        ("The Minsk protocol of 2014 was meant to end the fighting.", "minsk-agreements"),
        ("Die Minsker Abkommen wurden nie umgesetzt.", "minsk-agreements"),
        ("Москва обвинила Киев в срыве Минских соглашений.", "minsk-agreements"),
        ("Київ і далі виконує Мінські угоди.", "minsk-agreements"),
        ("Les accords de Minsk sont morts.", "minsk-agreements"),
        ("Koncert w Mińsku Mazowieckim odbył się w sobotę.", "minsk-mazowiecki"),
    ],
)
def test_minsk_look_alikes_are_not_the_city(gazetteer, text, entity):
    found = gazetteer.find_entities(text)
    assert entity in found
    assert "minsk" not in found


def test_a_person_named_minsky_is_nobody_we_track(gazetteer):
    assert gazetteer.find_entities("Hyman Minsky described a 'Minsky moment' in 1986.") == {}


def test_acronyms_match_only_in_capitals(gazetteer):
    assert gazetteer.find_entities("EU foreign ministers met the OSCE and NATO.") == {"eu": 1, "osce": 1, "nato": 1}
    assert gazetteer.find_entities("Eu nao sei; osce e nato em minusculas.") == {}


def test_whole_words_only(gazetteer):
    assert gazetteer.find_entities("Putinism and Putin's men") == {"putin": 2}
    assert "minsk" not in gazetteer.find_entities("Kominsky and Minskoff")


def test_fold_keeps_length_and_removes_marks():
    text = "Łukašenka’s Ціханоўская Weißrussland"
    assert len(fold(text)) == len(text)
    assert fold(text) == "Lukasenka's Ціханоуская Weißrussland"


def test_overlapping_matcher_reports_every_phrase_at_a_word():
    matcher = PhraseMatcher({"p": ["protest*"], "pm": ["protest march*"], "m": ["march*"]}, overlapping=True)
    hits = [(hit.keys, hit.surface) for hit in matcher.hits("The protest marches went on.")]
    assert hits == [(("p", "pm"), "protest marches"), (("m",), "marches")]


def test_capitalised_phrases_need_their_capital_and_hits_name_the_phrase():
    matcher = PhraseMatcher({"baku": ["Baku", "Баку"], "bak": ["bakterie"]}, capitalised={"baku"})
    hits = [(hit.keys, hit.surface, hit.phrases) for hit in matcher.hits("W Baku i BAKU; do baku; в баку; Баку")]
    assert hits == [(("baku",), "Baku", ("Baku",)), (("baku",), "BAKU", ("Baku",)), (("baku",), "Баку", ("Баку",))]
    assert [h.surface for h in matcher.hits("Bakterie, bakterie")] == ["Bakterie", "bakterie"]  # not capitalised


def test_aliases_found_names_the_alias_that_fired(gazetteer):
    found = gazetteer.aliases_found("Лукашенко и Лукашенка, Loekasjenko")
    assert found["lukashenko"] == {"Лукашенк*": ["Лукашенко", "Лукашенка"], "Loekasjenk*": ["Loekasjenko"]}


def test_shipped_gazetteer_is_complete(gazetteer):
    assert 30 <= len(gazetteer.entities) <= 60
    for needed in ("belarus", "lukashenko", "tsikhanouskaya", "minsk", "putin", "lavrov", "makei", "mishustin"):
        assert needed in gazetteer.entities


def _entry(**overrides):
    entry = {"id": "lukashenko", "type": "person", "label": "Lukashenko", "aliases": {"en": ["Lukashenk*"]}}
    entry.update(overrides)
    return entry


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([_entry(type="dictator")], "type 'dictator'"),
        ([_entry(id="Lukashenko!")], "lowercase slug"),
        ([_entry(aliases={"en": ["Lu*"]})], "'*' must end a word"),
        ([_entry(aliases={"en": "Lukashenko"})], "aliases.en must be a non-empty list"),
        ([_entry(aliases={"en": ["ok", ""]})], "aliases.en[1] must be a non-empty string"),
        ([_entry(), _entry(id="lukashenka", aliases={"be": ["lukashenk*"]})], "also names 'lukashenko'"),
        ([_entry(), _entry()], "duplicate id"),
        ([_entry(extra=1)], "unknown keys"),
    ],
)
def test_bad_entries_give_clear_errors(tmp_path: Path, entries, message):
    path = tmp_path / "entities.yaml"
    path.write_text(yaml.safe_dump({"entities": entries}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(GazetteerError) as error:
        load_gazetteer(path)
    text = str(error.value)
    assert str(path) in text and message in text
    assert "entity #" in text


def test_unreadable_yaml_names_the_file(tmp_path: Path):
    path = tmp_path / "entities.yaml"
    path.write_text("entities: [\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match=r"entities\.yaml:2: not valid YAML: expected the node content"):
        load_gazetteer(path)


def test_parse_entities_builds_a_working_gazetteer():
    entities = parse_entities({"entities": [_entry()]})
    assert Gazetteer(entities).find_entities("Lukashenka and Lukashenko") == {"lukashenko": 2}
