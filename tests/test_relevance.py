"""Seed relevance on our own multilingual sample news, and the pieces it is made of."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest

from enrich.annotate import annotate, article_signals, load_enricher, standfirst_and_body
from enrich.relevance import ArticleSignals, RelevanceModel, calibrated, entity_profile, relevance, time_signal
from mediamon.core.settings import Settings
from mediamon.dev.sample_news import load_items

SEED = "belarus-2020-09"


@pytest.fixture(scope="module")
def enricher():
    return load_enricher(Settings())


@pytest.fixture(scope="module")
def scored(enricher):
    items = load_items()
    articles = [item.article(f"http://127.0.0.1/{item.id}", datetime.now(UTC)) for item in items]
    return list(zip(items, annotate(articles, enricher), strict=True))


def test_in_every_language_the_seeds_thread_outranks_the_protests_which_outrank_the_unrelated(scored):
    by_language = defaultdict(lambda: defaultdict(list))
    for item, enrichment in scored:
        by_language[item.lang][item.grade].append((enrichment.seed_similarity[SEED], item.id))
    assert {"nl", "en", "ru", "be", "uk", "pl", "de"} <= set(by_language)
    for language, grades in by_language.items():
        if 3 in grades and 2 in grades:
            assert min(grades[3])[0] > max(grades[2])[0], (language, grades)
        if 2 in grades and 0 in grades:
            assert min(grades[2])[0] > max(grades[0])[0], (language, grades)


def test_look_alikes_and_unrelated_news_are_not_matched(scored):
    for item, enrichment in scored:
        if item.grade == 0:
            assert SEED not in enrichment.matched_seeds, item.id
            assert "belarus" not in enrichment.topics, item.id
        if item.grade == 3:
            assert SEED in enrichment.matched_seeds, item.id


def test_every_score_comes_with_its_reasons(scored):
    item, enrichment = next((i, e) for i, e in scored if i.grade == 3 and i.lang == "ru")
    reasons = enrichment.seed_reasons[SEED]
    assert reasons["score"] == pytest.approx(enrichment.seed_similarity[SEED], abs=1e-4)
    assert reasons["embedding_used"] is False  # the offline model is English-only: Russian is matched otherwise
    assert {"lukashenko", "putin"} <= set(reasons["entities"])
    assert "belarus.russia" in reasons["topics"]
    assert enrichment.language == "ru"


def test_time_signal():
    seed_day = date(2020, 9, 10)
    assert time_signal(seed_day, date(2020, 10, 20), "", 60) == 1.0
    assert time_signal(seed_day, date(2021, 9, 10), "", 60) == pytest.approx(1 - (365 - 60) / 365)
    assert time_signal(seed_day, date(2023, 1, 1), "", 60) == 0.0
    assert time_signal(seed_day, None, "No years here, only 12345 and 3000.", 60) == 0.5
    assert time_signal(seed_day, None, "Since 2020 and 2020 again", 60) == 1.0


def test_calibration_maps_the_match_point_onto_one_half_and_keeps_the_order():
    assert calibrated(0.19, 0.19) == pytest.approx(0.5)
    assert calibrated(0.0, 0.19) == 0.0 and calibrated(1.0, 0.19) == pytest.approx(1.0)
    assert [calibrated(x, 0.5) for x in (0.1, 0.5, 0.9)] == pytest.approx([0.1, 0.5, 0.9])  # MiniLM: unchanged
    raw = [0.05, 0.18, 0.2, 0.4, 0.95]
    stretched = [calibrated(x, 0.19) for x in raw]
    assert stretched == sorted(stretched) and stretched[1] < 0.5 < stretched[2]


def test_with_a_models_match_point_its_story_coverage_is_matched(enricher):
    profile = enricher.profiles[0]
    title, text = "Putin promises Lukashenko a loan", "Putin met Lukashenko in Sochi and backed the union state."
    signals = _signals(enricher, title, text, 0.86, True)  # below the floor, as most of e5's story coverage
    narrow = RelevanceModel(cosine_floor=0.87, cosine_ceiling=0.89)  # e5-like bounds: raw scores run low
    raw = relevance(profile, 0, signals, narrow).score
    matched = relevance(profile, 0, signals, replace(narrow, match_point=raw - 0.05)).score
    assert raw < 0.5 <= matched


def test_an_undated_article_is_placed_by_the_latest_year_or_landmark_it_names():
    seed_day = date(2020, 9, 10)
    # Looking back from the seed's year at older ones is still the seed's time.
    assert time_signal(seed_day, None, "As in 2006 and 2010, the events of August 2020 ...", 60) == 1.0
    # Naming a later year: written that year at the earliest, fading from its first day.
    assert time_signal(seed_day, None, "In August 2020 and again in 2022.", 60) == 0.0
    assert time_signal(seed_day, None, "The 2020 vote and the 2021 talks", 60) == pytest.approx(
        1 - ((date(2021, 1, 1) - seed_day).days - 60) / 365
    )
    # Only older years: nothing to place it by.
    assert time_signal(seed_day, None, "Since 2014.", 60) == 0.5
    # A landmark after the seed outweighs the seed's year; a dated article ignores landmarks.
    assert time_signal(seed_day, None, "Since 2020 ...", 60, [date(2022, 2, 24)]) == 0.0
    assert time_signal(seed_day, None, "Since 2020 ...", 60, [date(2020, 10, 1)]) == 1.0
    assert time_signal(seed_day, date(2020, 9, 20), "", 60, [date(2022, 2, 24)]) == 1.0
    # A date known to the year only is undated, naming that year.
    assert time_signal(seed_day, None, "", 60, published_year=2020) == 1.0
    assert time_signal(seed_day, None, "", 60, published_year=2021) == time_signal(seed_day, None, "In 2021.", 60)
    assert time_signal(seed_day, None, "In 2022.", 60, published_year=2020) == 0.0
    assert time_signal(seed_day, None, "", 60, published_year=2014) == 0.5


def test_an_undated_article_naming_a_later_war_ranks_below_the_same_article_without_it(enricher):
    profile = enricher.profiles[0]
    title = "Лукашенко: санкции не сломят Беларусь"
    text = "Лукашенко заявил в Минске, что санкции Запада против Беларуси и России не сломят Союзное государство."
    later = " Санкции были введены из-за войны в Украине."

    def undated(body: str) -> ArticleSignals:
        return article_signals(title, "", body, None, "ru", np.array([0.2]), enricher)

    plain, dated_by_war = undated(text), undated(text + later)
    assert dated_by_war.landmarks == {"russia-invasion-of-ukraine": date(2022, 2, 24)}
    before, after = relevance(profile, 0, plain), relevance(profile, 0, dated_by_war)
    assert after.score < before.score
    assert after.reasons()["landmarks"] == ["russia-invasion-of-ukraine"] and after.time == 0.0
    # A dated article is placed by its date: the landmark is not even looked for.
    assert article_signals(title, "", text + later, date(2020, 9, 20), "ru", np.array([0.2]), enricher).landmarks == {}


def test_entity_profile_is_unit_length_and_log_scaled():
    profile = entity_profile({"belarus": 9, "putin": 1, "absent": 0})
    assert set(profile) == {"belarus", "putin"}
    assert sum(v * v for v in profile.values()) == pytest.approx(1.0)
    assert profile["belarus"] / profile["putin"] == pytest.approx(np.log1p(9) / np.log1p(1))


def _signals(enricher, title: str, text: str, cosine: float, applies: bool) -> ArticleSignals:
    tags = enricher.tagger.tag(title, text)
    return ArticleSignals(
        cosines=np.array([cosine]),
        entity_counts=enricher.tagger.gazetteer.find_entities(f"{title}\n{text}"),
        topic_scores=tags.scores,
        topics=tuple(tags.topics),
        matched_terms=tags.matched,
        embedding_applies=applies,
        published=date(2020, 9, 14),
        text=text,
    )


def test_embedding_counts_only_where_the_model_covers_the_language(enricher):
    profile = enricher.profiles[0]
    title, text = "Putin promises Lukashenko a loan", "Putin met Lukashenko in Sochi and backed the union state."
    covered_high = relevance(profile, 0, _signals(enricher, title, text, 0.9, True)).score
    covered_low = relevance(profile, 0, _signals(enricher, title, text, 0.1, True)).score
    uncovered = relevance(profile, 0, _signals(enricher, title, text, 0.1, False))
    assert covered_high > covered_low
    assert uncovered.embedding_used is False and uncovered.score > covered_low


def test_a_look_alike_sinks_even_with_a_high_cosine(enricher):
    profile = enricher.profiles[0]
    text = "The OSCE Minsk Group co-chairs called for a ceasefire in Nagorno-Karabakh; Russia offered talks."
    look_alike = relevance(profile, 0, _signals(enricher, "Minsk Group urges ceasefire", text, 0.9, True))
    assert look_alike.score < 0.1


def test_standfirst_is_not_counted_twice():
    assert standfirst_and_body("Lead.", "Lead.\nMore text.") == "Lead.\nMore text."
    assert standfirst_and_body("Lead.", "Other text.") == "Lead.\nOther text."
    assert standfirst_and_body("", "Body.") == "Body."
