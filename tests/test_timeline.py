"""The timeline of landmarks that date undated articles: the shipped file, matching, and errors in the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from enrich.timeline import TimelineError, load_timeline, parse_timeline
from mediamon.core.settings import Settings
from mediamon.dev.sample_news import load_items


@pytest.fixture(scope="module")
def timeline():
    return load_timeline(Settings().seeds_dir / "timeline.yaml")


@pytest.mark.parametrize(
    ("text", "landmark"),
    [
        ("Sanctions were imposed over Russia's invasion of Ukraine.", "russia-invasion-of-ukraine"),
        ("санкции, введённые из-за войны в Украине", "russia-invasion-of-ukraine"),
        ("после начала специальной военной операции", "russia-invasion-of-ukraine"),
        ("La Biélorussie a soutenu la Russie dans son invasion de l’Ukraine.", "russia-invasion-of-ukraine"),
        ("od początku wojny w Ukrainie", "russia-invasion-of-ukraine"),
        ("підтримала повномасштабне вторгнення", "russia-invasion-of-ukraine"),
        ("con Omicron il Covid ormai è poco più di un’influenza", "covid-omicron"),
        ("штамм «Омикрон» распространяется", "covid-omicron"),
        ("migranci koczujący w Usnarzu Górnym", "belarus-border-crisis"),
        ("Lukashenko brokered the end of the Wagner mutiny.", "wagner-mutiny"),
    ],
)
def test_landmarks_are_found_in_any_language_and_form(timeline, text, landmark):
    assert landmark in timeline.named(text)


def test_a_landmark_carries_its_date(timeline):
    assert timeline.named("the war in Ukraine") == {"russia-invasion-of-ukraine": date(2022, 2, 24)}


def test_the_seeds_own_weeks_name_no_later_landmark(timeline):
    # Our sample news of August-October 2020 (the demo's items, every language) must not be dated later.
    for item in load_items():
        text = "\n".join([item.title, item.summary, *item.body])
        later = {k: d for k, d in timeline.named(text).items() if item.published and d > item.published.date()}
        assert not later, (item.id, later)


def test_names_said_before_the_landmark_are_not_landmarks(timeline):
    assert timeline.named("Ryanair cut flights; Azerbaijan declared partial mobilisation; Prigozhin's caterer") == {}
    assert timeline.named("the war in eastern Ukraine's Donbas") == {}  # 'war in eastern Ukraine': not the phrase


def test_a_missing_file_is_an_empty_timeline(tmp_path: Path):
    assert load_timeline(tmp_path / "timeline.yaml").named("the war in Ukraine") == {}


def _landmark(**overrides) -> dict:
    return {"id": "x", "label": "X", "date": date(2022, 2, 24), "aliases": {"en": ["some event"]}} | overrides


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"events": []}, "must be a mapping with a 'landmarks' list"),
        ({"landmarks": ["x"]}, "landmark #1: must be a mapping"),
        ({"landmarks": [_landmark(date="24 Feb 2022")]}, "date '24 Feb 2022' must be an ISO date"),
        ({"landmarks": [_landmark(when=1)]}, "unknown keys ['when']"),
        ({"landmarks": [_landmark(label="")]}, "label must be a non-empty string"),
        ({"landmarks": [_landmark(aliases={"en": []})]}, "aliases.en must be a non-empty list"),
        ({"landmarks": [_landmark(aliases={"en": ["*x"]})]}, "must start with a letter or digit"),
        ({"landmarks": [_landmark(), _landmark()]}, "duplicate id"),
        ({"landmarks": [_landmark(), _landmark(id="y")]}, "alias 'some event' also names 'x'"),
    ],
)
def test_a_bad_timeline_is_a_clear_error(data, message):
    with pytest.raises(TimelineError, match="timeline.yaml") as error:
        parse_timeline(data, "seeds/timeline.yaml")
    assert message in str(error.value)


def test_an_unreadable_timeline_names_the_file(tmp_path: Path):
    path = tmp_path / "timeline.yaml"
    path.write_text("landmarks: [\n", encoding="utf-8")
    with pytest.raises(TimelineError, match=r"timeline\.yaml:2: not valid YAML: expected the node content"):
        load_timeline(path)
