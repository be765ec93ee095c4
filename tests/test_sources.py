from ingest.sources import load_sources

GOOD_AND_BAD = """\
sources:
  - id: nos
    name: NOS
    homepage: https://nos.example.org/
    feeds: [https://feeds.example.org/nos.xml]
    language: nl
    country: NL
    affiliation: independent
  - id: Bad Id
    name: Broken
    feeds: []
  - id: other
    name: Other
    feeds: [not a url]
  - id: nos
    name: Again
    feeds: [https://feeds.example.org/again.xml]
  - id: wire
    name: Wire
    feeds: [https://wire.example.org/rss, https://wire.example.org/atom]
    affiliation: wire
    poll_minutes: 5
"""


def test_bad_entries_are_reported_with_line_and_the_rest_still_load(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    result = load_sources(path)
    assert [s.id for s in result.sources] == ["nos", "wire"]
    assert len(result.sources[1].feeds) == 2
    lines = [(e.line, e.reason) for e in result.errors]
    assert lines[0][0] == 9 and "id" in lines[0][1] and "feeds" in lines[0][1]
    assert lines[1][0] == 12 and "feeds.0" in lines[1][1]
    assert lines[2] == (15, "nos: duplicate source id 'nos'")
    assert str(result.errors[0]).startswith(f"{path}:9: ")


def test_unreadable_yaml_is_one_error_for_the_file(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("sources:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    result = load_sources(path)
    assert result.sources == ()
    assert "cannot read the source file" in result.errors[0].reason
    assert "\n" not in result.errors[0].reason and "<unicode string>" not in result.errors[0].reason  # one line


def test_a_file_that_is_not_utf8_is_one_error_naming_its_line(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"sources:\n  - {id: a, name: Caf\xe9, feeds: ['http://127.0.0.1/rss']}\n")  # Latin-1
    (error,) = load_sources(path).errors
    assert (error.line, error.reason) == (
        2,
        "cannot read the source file: not UTF-8 text (invalid continuation byte); save it as UTF-8",
    )


def test_missing_file_is_an_error_not_a_crash(tmp_path):
    result = load_sources(tmp_path / "absent.yaml")
    assert result.sources == () and "cannot read" in result.errors[0].reason


def test_wrong_shape_is_an_error(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("- just a list\n", encoding="utf-8")
    assert "`sources:` list" in load_sources(path).errors[0].reason
