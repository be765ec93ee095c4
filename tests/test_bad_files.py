"""Bad files a person hands mediamon (seed stories, the YAML files of the seeds folder, a `--text-file`): each is
one line naming the file and line, with exit code 2, never a traceback, and nothing else lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enrich.seed_files import SeedRefused, add_seed_file
from enrich.seeds import SeedError, load_seeds, parse_seed, read_seed
from ingest.sources import load_sources
from mediamon.alerts.subscriptions import load_subscriptions
from mediamon.cli import app
from mediamon.core.entry_files import UnreadableFile, read_yaml
from mediamon.core.settings import PROJECT_ROOT

SEED = """---
id: minsk-march
title: Minsk marches
language: en
date: 2020-08-16
entities: [belarus, lukashenko]
topics: [belarus.protests]
---
Sunday's march in Minsk was the largest in the country's history.
"""


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A copy of the shipped seeds folder."""
    return Path(shutil.copytree(PROJECT_ROOT / "seeds", tmp_path / "seeds"))


@pytest.fixture
def mediamon(cli_settings, tmp_path: Path, seeds_dir: Path):
    """The CLI with the seeds folder `seeds_dir` (or `MEDIAMON_SEEDS_DIR` given): (exit code, the one line it said)."""

    def invoke(*args: str, seeds: Path = seeds_dir) -> tuple[int, str]:
        cli_settings(seeds_dir=str(seeds), data_dir=str(tmp_path / "data"))
        done = CliRunner().invoke(app, list(args))
        lines = [line for line in done.output.splitlines() if line.strip()]
        assert len(lines) == 1 and isinstance(done.exception, SystemExit | None), done.output
        return done.exit_code, lines[0]

    return invoke


def spoil(path: Path, old: str, new: str) -> int:
    """Replace the first `old` of the file with `new`; the line it is on."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


# --- 1. a date that YAML reads but that does not exist ---


def test_an_impossible_date_in_a_seed_story_is_one_line_naming_its_line(mediamon, seeds_dir):
    story = seeds_dir / "stories" / "minsk.txt"
    story.write_text(SEED.replace("2020-08-16", "2020-13-45"), encoding="utf-8")
    for command in (("seeds", "list"), ("seeds", "show", "belarus-2020-09"), ("tag", "--text-file", str(story))):
        assert mediamon(*command) == (
            2,
            f"configuration error: {story}:5: date 2020-13-45 is not a date (month must be in 1..12)",
        )


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("2020-08-16", "2020-13-45", ":5: date 2020-13-45 is not a date (month must be in 1..12)"),
        ("[belarus.protests]", "[us.election]", ": main_topic 'us.election' is not a topic of the rules (topics.yaml)"),
    ],
)
def test_a_run_with_a_seed_story_it_cannot_use_stops_before_polling(mediamon, seeds_dir, tmp_path, old, new, said):
    story = seeds_dir / "stories" / "minsk.txt"
    story.write_text(SEED.replace(old, new), encoding="utf-8")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("sources:\n  - {id: gone, name: Gone, feeds: ['http://127.0.0.1:9/rss']}\n", encoding="utf-8")
    code, line = mediamon("run", "--feeds", str(feeds))
    assert code == 2 and line.startswith(f"configuration error: {story}{said}")
    assert not (tmp_path / "data").exists()  # nothing polled, nothing spooled


def test_seeds_add_refuses_a_story_whose_main_topic_is_no_topic_of_the_rules(seeds_dir, tmp_path):
    source = tmp_path / "debate.txt"
    source.write_text(SEED.replace("[belarus.protests]", "[us.election]"), encoding="utf-8")
    before = sorted(p.name for p in (seeds_dir / "stories").iterdir())
    with pytest.raises(SeedRefused, match=r"main_topic 'us.election' is not a topic of the rules \(topics.yaml\)"):
        add_seed_file(source, seeds_dir, alias_cache=tmp_path / "aliases")
    assert sorted(p.name for p in (seeds_dir / "stories").iterdir()) == before  # nothing copied


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("timeline.yaml", "date: 2021-11-26", "date: 2021-11-31"),
        ("entities.yaml", "entities:", "when: 2021-11-31\nentities:"),
        ("topics.yaml", "topics:", "when: 2021-11-31\ntopics:"),
    ],
)
def test_an_impossible_date_in_a_seeds_folder_file_names_file_and_line(mediamon, seeds_dir, name, old, new):
    line = spoil(seeds_dir / name, old, new)
    assert mediamon("tag", "--text-file", str(PROJECT_ROOT / "README.md")) == (
        2,
        f"configuration error: {seeds_dir / name}:{line}: date 2021-11-31 is not a date"
        " (day is out of range for month)",
    )


def test_an_impossible_date_in_a_feeds_or_subscriptions_entry_leaves_that_entry_out(seeds_dir):
    feeds = seeds_dir / "feeds.yaml"
    total = len(load_sources(feeds).sources)
    line = spoil(feeds, "name: Зеркало", "name: 2020-02-30")
    loaded = load_sources(feeds)
    assert [str(error) for error in loaded.errors] == [
        f"{feeds}:{line}: date 2020-02-30 is not a date (day is out of range for month)"
    ]
    assert len(loaded.sources) == total - 1  # the others are still polled
    subscriptions = seeds_dir / "subscriptions.yaml"
    total = len(load_subscriptions(subscriptions, seeds_dir).subscriptions)
    line = spoil(subscriptions, "max_items: 15", "max_items: 2020-02-30")
    loaded = load_subscriptions(subscriptions, seeds_dir)
    assert [str(error) for error in loaded.errors] == [
        f"{subscriptions}:{line}: date 2020-02-30 is not a date (day is out of range for month)"
    ]
    assert len(loaded.subscriptions) == total - 1


def test_a_yaml_file_is_read_with_its_errors_on_one_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbfwhen: 2020-09-10\n")  # a byte-order mark
    assert str(read_yaml(path)["when"]) == "2020-09-10"
    for content, message in [
        (b"a: 1\nb: caf\xe9\n", "x.yaml:2: not UTF-8 text (invalid continuation byte); save it as UTF-8"),
        (b"a: [b\n", "x.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow"),
        (b"a:\n  - 2021-04-31\n", "x.yaml:2: date 2021-04-31 is not a date (day is out of range for month)"),
    ]:
        path.write_bytes(content)
        with pytest.raises(UnreadableFile) as error:
            read_yaml(path)
        assert str(error.value).startswith(f"{tmp_path}/{message}") and error.value.exit_code == 2


# --- 2. a seed story or a --text-file that is not UTF-8 text ---


def test_a_seed_story_that_is_not_utf8_is_one_line(mediamon, seeds_dir):
    story = seeds_dir / "stories" / "minsk.txt"
    story.write_bytes(SEED.replace("Minsk marches", "Minsk marches \u00e0 pied").encode("latin-1"))
    assert mediamon("seeds", "list") == (
        2,
        f"configuration error: {story}:3: not UTF-8 text (invalid continuation byte); save it as UTF-8",
    )


@pytest.mark.parametrize("command", ["tag", "similar"])
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("Caf\u00e9 in Minsk\nLukashenko".encode("latin-1"), ":1: not UTF-8 text (invalid continuation byte)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", ":1: not UTF-8 text (invalid start byte)"),
        (b" \n\n\t\n", ": the file holds no text; give a text whose first line is its title"),
    ],
)
def test_a_text_file_that_is_no_text_is_one_line(mediamon, tmp_path, command, content, reason):
    text = tmp_path / "text.txt"
    text.write_bytes(content)
    code, said = mediamon(command, "--text-file", str(text))  # no Elasticsearch needed to say so
    assert code == 2 and said.startswith(f"error: {text}{reason}")


# --- 3. a seeds folder without seed stories ---


def test_seeds_list_says_where_the_stories_go_or_that_the_folder_is_missing(mediamon, seeds_dir, tmp_path):
    shutil.rmtree(seeds_dir / "stories")
    assert mediamon("seeds", "list") == (
        0,
        f"no seed stories in {seeds_dir / 'stories'}: `mediamon seeds add FILE` adds one there",
    )
    assert mediamon("seeds", "list", seeds=tmp_path / "nowhere") == (
        2,
        f"configuration error: there is no seeds folder {tmp_path / 'nowhere'}: point MEDIAMON_SEEDS_DIR at the folder"
        " of stories/ and topics.yaml",
    )


# --- 4. a byte-order mark ---


def test_a_seed_file_with_a_byte_order_mark_is_added_and_read(seeds_dir, tmp_path):
    source = tmp_path / "minsk.txt"
    source.write_bytes(b"\xef\xbb\xbf" + SEED.encode("utf-8"))
    added = add_seed_file(source, seeds_dir, alias_cache=tmp_path / "aliases")
    assert added.seed.id == "minsk-march" and added.path.read_bytes() == source.read_bytes()  # copied unchanged
    assert read_seed(added.path).title == "Minsk marches"
    assert "minsk-march" in {seed.id for seed in load_seeds(seeds_dir)}


# --- 6. an unknown seed ---


def test_seeds_show_of_an_unknown_seed_is_a_usage_error(mediamon):
    assert mediamon("seeds", "show", "nosuch") == (
        2,
        "error: unknown seed 'nosuch'; the seeds are: belarus-2020-09, karabakh-2020-09 (`mediamon seeds list`)",
    )


# --- 7. a language that is no ISO 639-1 code ---


def test_a_seed_language_must_be_an_iso_639_1_code():
    with pytest.raises(SeedError) as error:
        parse_seed(SEED.replace("language: en", "language: zz"), Path("stories/x.txt"))
    assert str(error.value) == (
        "stories/x.txt:4: language: Value error, 'zz' is not an ISO 639-1 language code (such as nl, en, ru)"
    )
    assert parse_seed(SEED.replace("language: en", "language: ga")).language == "ga"  # any real one, Irish too
