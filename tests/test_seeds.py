from pathlib import Path

import pytest

from enrich.seeds import SeedError, load_seeds, parse_seed
from mediamon.core.settings import PROJECT_ROOT

HEADER = "---\nid: s1\ntitle: A story\nlanguage: nl\ndate: 2020-09-10\nsummaries:\n  en: An English summary.\n---\n"


def test_parse_seed_keeps_text_exactly():
    text = "Eerste regel.\n\nTweede alinea met  dubbele spatie.\n"
    seed = parse_seed(HEADER + text)
    assert seed.id == "s1"
    assert seed.text == text
    assert seed.summaries == {"en": "An English summary."}
    assert seed.texts() == ["An English summary.", "A story\n" + text]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no header at all", "starts with a `---` line"),
        ("---\nid: s1\n", "not closed"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: 2020-09-10\n---\n", "no story text"),
        ("---\nid: S 1\ntitle: t\nlanguage: nl\ndate: 2020-09-10\n---\ntext", "id: String should match"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: someday\n---\ntext", "date:"),
        ("---\nid: s1\ntitle: [t\n---\ntext", "not valid YAML"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: 2020-09-10\ncolour: red\n---\ntext", "colour"),
    ],
)
def test_bad_seed_headers_name_file_and_reason(content, message):
    with pytest.raises(SeedError, match=message) as info:
        parse_seed(content, Path("seeds/stories/x.txt"))
    assert "seeds/stories/x.txt" in str(info.value)


def test_shipped_seed_is_the_users_document_unchanged():
    seeds = {s.id: s for s in load_seeds(PROJECT_ROOT / "seeds")}
    seed = seeds["belarus-2020-09"]
    assert seed.language == "nl"
    assert "en" in seed.summaries
    assert seed.text.startswith(" date 2020-09 De politieke ontmoetingen")
    assert seed.text.endswith("niet bij Europese bezorgdheid blijven.")


def test_duplicate_seed_ids_are_refused(tmp_path):
    (tmp_path / "stories").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "stories" / name).write_text(HEADER + "text", encoding="utf-8")
    with pytest.raises(SeedError, match="duplicate seed ids"):
        load_seeds(tmp_path)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("no header at all", "x.txt:1: a seed file starts"),
        ("---\nid: s1\n", "x.txt:1: the YAML header opened here is not closed"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: 2020-09-10\n---\n", "x.txt:6: the seed has no story text"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: someday\n---\ntext", "x.txt:5: date: Input should be"),
        ("---\nid: s1\ntitle: [t\n---\ntext", "x.txt:3: not valid YAML: expected ','"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: 2020-09-10\ncolour: red\n---\ntext", "x.txt:6: colour: Extra"),
        ("---\nid: s1\ntitle: t\nlanguage: nl\ndate: 2020-09-10\nentities:\n  - a\n  - [b]\n---\ntext", "x.txt:8: "),
        ("---\nid: s1\nlanguage: nl\ndate: 2020-09-10\n---\ntext", "x.txt:5: title: Field required"),  # the fence
    ],
)
def test_bad_seed_files_name_the_line(content, where):
    with pytest.raises(SeedError) as info:
        parse_seed(content, Path("seeds/stories/x.txt"))
    assert str(info.value).startswith(f"seeds/stories/{where}")
    assert "\n" not in str(info.value)


def test_several_errors_each_name_their_line():
    content = "---\nid: S 1\ntitle: t\nlanguage: dutch\ndate: 2020-09-10\n---\ntext"
    with pytest.raises(SeedError) as info:
        parse_seed(content, Path("x.txt"))
    assert str(info.value).startswith("x.txt:2: id: String should match")
    assert "; x.txt:4: language: String should match" in str(info.value)
