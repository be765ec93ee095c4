"""Belarus topic tags: the known traps, each sub-topic, rule semantics and validation of topics.yaml."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from bench.tagging import tagging_metrics
from enrich.gazetteer import Gazetteer, parse_entities
from enrich.topics import TopicsError, TopicTagger, TopicTags, load_tagger, load_topics, parse_topics
from mediamon.core.settings import Settings
from mediamon.dev.sample_news import TOPICS


@cache
def shipped_tagger() -> TopicTagger:
    return load_tagger(Settings().seeds_dir)


def tag(title: str, text: str) -> TopicTags:
    return shipped_tagger().tag(title, text)


# Short articles written for these tests: (title, text).
TRAPS = {
    "osce-minsk-group": (
        "Armenia and Azerbaijan agree to talks under the OSCE Minsk Group",
        "The co-chairs of the OSCE Minsk Group - Russia, France and the United States - urged an immediate "
        "ceasefire in Nagorno-Karabakh. The Minsk Group has mediated the conflict since 1992, and its "
        "co-chairs will meet the two foreign ministers in Geneva. A Minsk Group statement condemned the "
        "shelling of Stepanakert and called for the protection of civilians.",
    ),
    "minsk-agreements-en": (
        "Kyiv and Moscow trade blame over the Minsk agreements",
        "Ukraine said Russia had never implemented the Minsk agreements, while the Kremlin accused Kyiv of "
        "breaking the Minsk accords. The Minsk protocol, signed in Minsk in 2014, was meant to end the war in "
        "Donbas; the Minsk agreements also promised elections in the separatist regions. Sanctions on Russia "
        "remain tied to the Minsk agreements, European diplomats said.",
    ),
    "minsk-agreements-de": (
        "Poroschenko: Die Minsker Abkommen sollten Zeit gewinnen",
        "Der frühere ukrainische Präsident sagte, die Minsker Abkommen hätten der Ukraine Zeit verschafft. "
        "Russland wirft Kiew vor, die Minsker Vereinbarungen gebrochen zu haben; das Minsker Protokoll von "
        "2014 sah Wahlen im Donbass vor.",
    ),
    "minsk-agreements-ru": (
        "Кремль: Киев сорвал Минские соглашения",
        "В Кремле заявили, что Украина так и не выполнила Минские соглашения. Минский протокол 2014 года "
        "предусматривал выборы в Донбассе, а приверженность Минским договорённостям подтвердили в Москве. "
        "Санкции против России связаны с выполнением Минских соглашений.",
    ),
    "belarusian-athlete": (
        "Sabalenka beats Mertens to reach the US Open semi-final",
        "Aryna Sabalenka of Belarus beat Elise Mertens 6-3 6-4 on Arthur Ashe Stadium. The Belarusian, seeded "
        "second, will face the winner of the quarter-final between Swiatek and Gauff. Sabalenka, who grew up in "
        "Minsk, has now reached three Grand Slam semi-finals.",
    ),
    "belarus-team": (
        "Belarus striker scores twice in World Cup qualifier",
        "Belarus beat Estonia 2-0 in their World Cup qualifier. The striker scored both goals before half-time, "
        "and Belarus now sit third in the group with two matches to play.",
    ),
    "minsky": (
        "Is this the Minsky moment for markets?",
        "Economists are revisiting Hyman Minsky's financial instability hypothesis. A 'Minsky moment' comes "
        "when lenders panic after a long boom; Minsky argued that stability itself breeds instability.",
    ),
}

SUBTOPICS = {
    "belarus.election": (
        "Belarus election: Lukashenko claims landslide as opposition alleges fraud",
        "Belarus's Central Election Commission said Alexander Lukashenko won 80 per cent of the vote in the "
        "presidential election. Observers said the ballot was rigged and that fraud marred the count at polling "
        "stations across Belarus. Lukashenko will be sworn in for a sixth term.",
    ),
    "belarus.protests": (
        "Tens of thousands march in Minsk against Lukashenko",
        "Protesters filled the streets of Minsk again on Sunday. Demonstrators marched to the Independence "
        "Palace, and workers at state factories in Belarus went on strike. The protest was the largest in the "
        "history of Belarus, and rallies were also held in Grodno and Brest.",
    ),
    "belarus.repression": (
        "Belarus riot police detain hundreds",
        "Riot police in Minsk detained more than 200 people on Sunday; journalists were arrested and beaten. "
        "Human rights groups in Belarus reported torture in detention centres, and Lukashenko's government "
        "expelled two foreign reporters.",
    ),
    "belarus.opposition": (
        "Tsikhanouskaya and Kolesnikova rally the Belarus opposition",
        "The Coordination Council set up by Sviatlana Tsikhanouskaya said Maria Kolesnikova would keep "
        "working for it. The opposition in Belarus wants a peaceful transfer of power from Lukashenko, and "
        "Tsikhanouskaya called on Belarusians to stay united.",
    ),
    "belarus.russia": (
        "Putin backs Lukashenko with a loan",
        "Vladimir Putin promised Alexander Lukashenko a $1.5 billion loan in Sochi and said Russia would send a "
        "police reserve to Belarus if needed. The Kremlin is pushing for deeper integration within the Union "
        "State of Russia and Belarus, and Lukashenko thanked Moscow for its support.",
    ),
    "belarus.international": (
        "EU and US impose sanctions on Belarus officials",
        "The European Union and the United States imposed sanctions on Belarusian officials. Lithuania, Latvia "
        "and Estonia banned Lukashenko from entering their territory, and Poland recalled its ambassador from "
        "Minsk. Belarus accused the West of interference in its affairs.",
    ),
}


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_known_traps_are_not_belarus(name):
    title, text = TRAPS[name]
    tags = tag(title, text)
    assert "belarus" not in tags.topics, (name, tags.scores)
    assert not any(topic.startswith("belarus.") for topic in tags.topics)


@pytest.mark.parametrize("topic", sorted(SUBTOPICS))
def test_each_subtopic_on_a_text_of_its_own(topic):
    title, text = SUBTOPICS[topic]
    tags = tag(title, text)
    assert "belarus" in tags.topics and topic in tags.topics, tags.scores
    assert tags.matched[topic], "the terms that scored are reported"


@pytest.mark.parametrize(
    ("topic", "absent"),
    [
        ("belarus.russia", "belarus.protests"),
        ("belarus.protests", "belarus.international"),
        ("belarus.election", "belarus.russia"),
        ("belarus.international", "belarus.protests"),
    ],
)
def test_subtopics_stay_apart(topic, absent):
    assert absent not in tag(*SUBTOPICS[topic]).topics


def test_subtopics_need_belarus():
    tags = tag(
        "Thousands protest against pension reform",
        "Protesters marched through the capital and demonstrators held a rally outside parliament; unions "
        "called strikes. A similar protest was held in Minsk last year.",
    )
    assert tags.topics == []
    assert tags.scores["belarus.protests"] >= 3  # the protest terms alone would have been enough


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        (
            "Loekasjenko krijgt steun van Poetin",
            "De Russische president Poetin beloofde Loekasjenko steun en een lening. Lavrov sprak in Moskou met de "
            "Wit-Russische minister Makei over de staatsunie. De Baltische staten stelden sancties in tegen "
            "Wit-Rusland; de EU overweegt ook sancties, en Litouwen en Polen riepen hun ambassadeurs terug uit "
            "Minsk.",
            {"belarus", "belarus.russia", "belarus.international"},
        ),
        (
            "Лукашенко встретился с Путиным в Сочи",
            "Президент Беларуси Александр Лукашенко обсудил с Владимиром Путиным интеграцию в рамках Союзного "
            "государства. Россия предоставит Беларуси кредит, сообщил Кремль. Лукашенко поблагодарил Москву.",
            {"belarus", "belarus.russia"},
        ),
        (
            "Łukaszenka: protesty w Mińsku są sterowane z zagranicy",
            "Aleksandr Łukaszenka oskarżył Polskę i Litwę o wspieranie protestów na Białorusi. Tysiące ludzi "
            "wyszły na ulice Mińska; demonstranci domagali się nowych wyborów. Białoruś zamknęła granicę.",
            {"belarus", "belarus.protests"},
        ),
    ],
)
def test_other_languages(title, text, expected):
    assert expected <= set(tag(title, text).topics)


def test_title_matches_weigh_more_than_body_matches():
    body = "Officials met on Tuesday to discuss the budget and the weather."
    in_title = tag("Belarus budget talks", body).scores["belarus"]
    in_body = tag("Budget talks", "Belarus budget talks. " + body).scores["belarus"]
    assert in_title == pytest.approx(3 * in_body)


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_the_tagging_pass_counts_the_entities_a_gazetteer_scan_finds(name):
    title, text = TRAPS[name]
    tags = tag(title, text)
    assert tags.entities == shipped_tagger().gazetteer.find_entities(f"{title}\n{text}")


def test_tag_dict_is_plain_json():
    title, text = SUBTOPICS["belarus.protests"]
    data = json.loads(json.dumps(tag(title, text).to_dict()))
    assert data["topics"][0] == "belarus"
    assert set(data["scores"]) == TOPICS
    assert "entity:minsk" in data["matched"]["belarus"]


def test_shipped_rules_cover_the_taxonomy():
    tagger = shipped_tagger()
    assert {topic.id for topic in tagger.topics} == TOPICS and tagger.topics[0].id == "belarus"
    assert all(topic.requires == ("belarus",) for topic in tagger.topics[1:])


# --- Rule semantics, on a small taxonomy of our own ----------------------------------------------------------


@pytest.fixture(scope="module")
def small_gazetteer():
    return Gazetteer(
        parse_entities(
            {
                "entities": [
                    {"id": "belarus", "type": "country", "label": "Belarus", "aliases": {"en": ["Belarus"]}},
                    {"id": "minsk", "type": "place", "label": "Minsk", "aliases": {"en": ["Minsk"]}},
                ]
            }
        )
    )


def _topics(belarus_rules, sub_rules=None, **belarus_extra):
    sub = {"label": "Sub", "threshold": 1, "requires": ["belarus"], "rules": sub_rules or [{"any": ["protest*"]}]}
    topics = [{"id": "belarus", "label": "Belarus", "threshold": 2, "rules": belarus_rules, **belarus_extra}]
    topics += [{"id": topic, **sub} for topic in sorted(TOPICS - {"belarus"})]
    return {"title_weight": 2, "topics": topics}


def test_any_counts_occurrences_up_to_max(small_gazetteer):
    tagger = parse_topics(
        _topics([{"weight": 1, "max": 3, "any": ["entity:belarus", "entity:minsk"]}]), small_gazetteer
    )
    assert tagger.tag("", "Belarus").scores["belarus"] == 1
    assert tagger.tag("", "Belarus and Minsk, Minsk, Minsk").scores["belarus"] == 3
    assert tagger.tag("Minsk", "Belarus").scores["belarus"] == 3  # title counts twice here


def test_all_needs_every_group(small_gazetteer):
    tagger = parse_topics(_topics([{"weight": 2, "all": [["entity:belarus"], ["strike*"]]}]), small_gazetteer)
    assert tagger.tag("", "Belarus Belarus").scores["belarus"] == 0
    assert tagger.tag("", "Belarus Belarus strikes").scores["belarus"] == 2


def test_near_counts_only_close_pairs(small_gazetteer):
    rules = [{"weight": 1, "near": [["protest*"], ["entity:minsk"]], "within": 3}]
    tagger = parse_topics(_topics(rules), small_gazetteer)
    assert tagger.tag("", "protests in central Minsk").scores["belarus"] == 1
    far = "protests " + "word " * 10 + "Minsk"
    assert tagger.tag("", far).scores["belarus"] == 0


def test_not_switches_a_rule_off(small_gazetteer):
    rules = [{"weight": 3, "any": ["entity:belarus"]}, {"weight": -2, "any": ["tennis"], "not": ["protest*"]}]
    tagger = parse_topics(_topics(rules), small_gazetteer)
    assert tagger.tag("", "Belarus tennis").scores["belarus"] == 1
    assert tagger.tag("", "Belarus tennis protest").scores["belarus"] == 3


def test_length_norm_discounts_long_texts(small_gazetteer):
    tagger = parse_topics(_topics([{"any": ["entity:belarus"]}], length_norm=10), small_gazetteer)
    assert tagger.tag("", "Belarus " * 4).scores["belarus"] == 4
    assert tagger.tag("", "Belarus " * 4 + "filler " * 36).scores["belarus"] == pytest.approx(2.0)


def test_subtopic_requires_its_parent(small_gazetteer):
    tagger = parse_topics(_topics([{"weight": 1, "any": ["entity:belarus"]}]), small_gazetteer)
    assert tagger.tag("", "protest").topics == []
    assert tagger.tag("", "Belarus Belarus protest").topics == [topic.id for topic in tagger.topics]
    assert len(tagger.topics) == len(TOPICS)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["topics"][0]["rules"][0].update(any=["entity:narnia"]), "'entity:narnia' is not in the gazetteer"),
        (lambda d: d["topics"][0].pop("threshold"), "topic 'belarus', threshold"),
        (lambda d: d["topics"][0]["rules"][0].update(near=[["a"], ["b"]]), "exactly one of"),
        (lambda d: d["topics"][0]["rules"].append({"near": [["abc"], ["def"]]}), "'within'"),
        (lambda d: d["topics"][0]["rules"][0].update(weight=0), "weight must not be 0"),
        (lambda d: d["topics"][1].update(id="Belarus Sport"), "id 'Belarus Sport' must be dotted lower-case words"),
        (lambda d: d["topics"].append(dict(d["topics"][1])), "duplicate id"),
        (lambda d: d["topics"][0]["rules"][0].update(any=["Minsk", "minsk"]), "repeats 'Minsk'"),
        (lambda d: d["topics"][0]["rules"][0].update(any=["Mi*"]), "'*' must end a word"),
        (lambda d: d["topics"][2].update(requires=["belarus.sport"]), "requires ['belarus.sport'] must list topics"),
    ],
)
def test_bad_topics_give_clear_errors(tmp_path: Path, small_gazetteer, mutate, message):
    data = _topics([{"weight": 1, "any": ["entity:belarus"]}])
    mutate(data)
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TopicsError) as error:
        load_topics(path, small_gazetteer)
    assert str(path) in str(error.value) and message in str(error.value)


def test_tagging_metrics_scores_against_labels():
    protests_title, protests_text = SUBTOPICS["belarus.protests"]
    group_title, group_text = TRAPS["osce-minsk-group"]
    articles = [
        {"id": "a", "title": protests_title, "description": "", "body": protests_text},
        {"id": "b", "title": group_title, "description": group_text, "body": ""},
        {"id": "c", "title": "Markets close higher", "description": "", "body": "A trader mentioned Belarus once."},
    ]
    labels = [{"id": "a", "topics": ["belarus", "belarus.protests", "belarus.russia"]}, {"id": "c", "topics": []}]
    metrics = tagging_metrics(articles, labels)
    assert metrics["articles"] == 3
    assert metrics["topics"]["belarus"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "support": 1,
    }
    assert metrics["topics"]["belarus.russia"]["fn"] == 1
    assert [row["id"] for row in metrics["false_negatives"]["belarus.russia"]] == ["a"]
    assert metrics["trap_false_positives"] == []


def test_a_headline_and_lead_item_needs_less_than_an_article():
    tagger = shipped_tagger()
    short = tagger.tag("Belarus strips foreign journalists of accreditation", "Press cards were withdrawn.")
    assert "belarus" in short.topics
    long_text = "Press cards were withdrawn. " + "The weather stayed mild and markets were calm. " * 20
    long = tagger.tag("Belarus strips foreign journalists of accreditation", long_text)
    assert long.scores["belarus"] == short.scores["belarus"]
    assert "belarus" not in long.topics
