"""The sample news set: its data is valid and well mixed, its feeds parse, its pages serve and extract cleanly."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest
import trafilatura

from ingest.sources import Source
from mediamon.dev.sample_news import (
    SampleItem,
    build_site,
    feed_list,
    feed_url,
    item_url,
    load_items,
    load_sources,
    render_feed,
    render_page,
    serve_sample_news,
    serve_site,
)

SOURCES = load_sources()
ITEMS = load_items()
BY_SOURCE = {s.id: s for s in SOURCES}
BASE = "http://127.0.0.1:8999"
SITE = build_site(BASE)
MAIN_LANGS = {"nl", "en", "ru", "be", "uk", "pl", "de"}
BOILERPLATE = ("Related articles", "Lees ook", "Читайте также", "Чытайце таксама", "Читайте також", "Czytaj także")


def test_sources_are_a_small_mix_of_outlets_and_feed_formats():
    assert 7 <= len(SOURCES) <= 9
    assert {s.feed_format for s in SOURCES} == {"rss", "atom"}
    assert {s.affiliation for s in SOURCES} == {"state", "independent", "foreign", "wire"}


def test_items_cover_every_language_with_each_grade():
    assert 40 <= len(ITEMS) <= 48
    assert len({i.id for i in ITEMS}) == len(ITEMS)
    assert {i.source for i in ITEMS} == set(BY_SOURCE)
    grades_by_lang: dict[str, set[int]] = {}
    for item in ITEMS:
        grades_by_lang.setdefault(item.lang, set()).add(item.grade)
    assert set(grades_by_lang) == MAIN_LANGS | {"lt"}
    for lang in MAIN_LANGS:
        assert {3, 2, 0} <= grades_by_lang[lang], lang
    assert sum(i.lang == "lt" for i in ITEMS) == 2
    grades = Counter(i.grade for i in ITEMS)
    assert grades[3] >= 12 and grades[2] >= 10 and grades[1] >= 3 and grades[0] >= 12


def test_items_are_short_news_with_consistent_labels():
    headline_only = [i for i in ITEMS if not i.body]
    assert len(ITEMS) // 4 <= len(headline_only) <= len(ITEMS) // 2
    for item in ITEMS:
        assert item.published.tzinfo is not None
        assert datetime(2019, 1, 1, tzinfo=UTC) <= item.published <= datetime(2020, 10, 1, tzinfo=UTC), item.id
        assert not item.body or 2 <= len(item.body) <= 5, item.id
        assert all(40 <= len(p.split()) <= 120 for p in item.body), item.id
        assert item.grade < 2 or "belarus" in item.topics, item.id
        assert item.grade > 0 or item.topics == (), item.id


def test_look_alikes_are_there_and_graded_zero():
    zero_notes = " ".join(i.note for i in ITEMS if i.grade == 0)
    assert zero_notes.count("OSCE Minsk Group") >= 2
    assert zero_notes.count("Minsk agreements") >= 2
    assert any("Minsky" in i.title for i in ITEMS if i.grade == 0)


def _write(tmp_path: Path, items_yaml: str) -> Path:
    (tmp_path / "sources.yaml").write_text(
        "- {id: s, name: S, lang: en, country: GB, affiliation: wire, feed_format: rss}\n", encoding="utf-8"
    )
    path = tmp_path / "items.yaml"
    path.write_text(items_yaml, encoding="utf-8")
    return path


def _entry(**changes: str) -> str:
    fields = {
        "id": "a",
        "source": "s",
        "lang": "en",
        "published": "'2020-09-01T10:00:00+02:00'",
        "title": "T",
        "summary": "S",
        "body": "[]",
        "grade": "3",
        "topics": "[belarus]",
        "note": "n",
    } | changes
    return "- {" + ", ".join(f"{key}: {value}" for key, value in fields.items() if value) + "}\n"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (_entry() * 2, "duplicate ids"),
        (_entry(source="nope"), "unknown source"),
        (_entry(published="'2020-09-01T10:00:00'"), "time zone"),
        (_entry(published="'last week'"), "ISO 8601"),
        (_entry(id="'A b'"), "slug"),
        (_entry(grade="5"), "grade"),
        (_entry(note=""), "missing keys"),
        (_entry(topics="[belarus.russia]"), "topic belarus"),
        (_entry(topics="[minsk]"), "topics must be"),
        (_entry(body="[' ']"), "body"),
    ],
)
def test_loader_rejects_bad_entries_naming_file_and_entry(tmp_path, entries, message):
    path = _write(tmp_path, entries)
    with pytest.raises(ValueError, match=message) as error:
        load_items(path)
    assert str(path) in str(error.value)


def test_loader_reads_a_good_file(tmp_path):
    path = _write(tmp_path, _entry())
    (item,) = load_items(path)
    assert item.published.isoformat() == "2020-09-01T10:00:00+02:00"
    assert item.topics == ("belarus",) and item.body == ()


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.id)
def test_feeds_parse_with_one_entry_per_item(source):
    body, content_type = SITE[f"/feeds/{source.id}.xml"]
    assert content_type.startswith(f"application/{source.feed_format}+xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if source.feed_format == "atom" else "rss20")
    own = sorted((i for i in ITEMS if i.source == source.id), key=lambda i: i.published, reverse=True)
    assert [e.link for e in parsed.entries] == [item_url(BASE, i) for i in own]
    assert [e.title for e in parsed.entries] == [i.title for i in own]
    for entry, item in zip(parsed.entries, own, strict=True):
        assert entry.id == item_url(BASE, item)
        assert entry.summary == item.summary
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == item.published.astimezone(UTC)


def test_markup_in_text_is_escaped_in_feeds_and_pages():
    source = SOURCES[0]
    item = SampleItem(
        id="x",
        source=source.id,
        lang="en",
        published=datetime(2020, 9, 1, 12, tzinfo=UTC),
        title='Tom & Jerry <script>alert("x")</script>',
        summary="A <b>bold</b> claim & more",
        body=("First <i>para</i> & co.", "Second </article> para."),
        grade=0,
        topics=(),
        note="n",
    )
    parsed = feedparser.parse(render_feed(source, [item], BASE))
    assert not parsed.bozo
    assert parsed.entries[0].title == item.title
    page = render_page(item, source, [], BASE).decode()
    assert "<script>" not in page and "</article> para" not in page
    assert "Tom &amp; Jerry &lt;script&gt;" in page


def test_pages_and_feeds_are_served_over_local_http():
    with serve_sample_news() as base_url, httpx.Client(timeout=10) as client:
        assert base_url.startswith("http://127.0.0.1:")
        source = BY_SOURCE["volny-holas"]
        feed = client.get(feed_url(base_url, source.id))
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("application/atom+xml")
        entries = feedparser.parse(feed.content).entries
        assert len(entries) == sum(i.source == source.id for i in ITEMS)
        page = client.get(entries[0].link)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<html lang="be">' in page.text
        assert f'<link rel="canonical" href="{entries[0].link}">' in page.text
        assert client.get(f"{base_url}/{source.id}/").status_code == 200
        assert client.head(entries[0].link).status_code == 200
        assert client.get(f"{base_url}/nowhere.html").status_code == 404
        assert client.get(f"{base_url}/feeds/{source.id}.xml?x=1").status_code == 200


def test_serve_site_serves_a_static_mapping_and_stops():
    with serve_site({"/a.txt": (b"hello", "text/plain")}) as base_url:
        assert httpx.get(f"{base_url}/a.txt").text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/a.txt", timeout=2)


@pytest.mark.parametrize("item", [i for i in ITEMS if i.body], ids=lambda i: i.id)
def test_trafilatura_finds_the_body_and_not_the_chrome(item):
    html = SITE[f"/{item.source}/{item.id}.html"][0]
    text = trafilatura.extract(html)
    assert text is not None
    assert item.body[0] in text and item.body[-1] in text
    related = [i.title for i in ITEMS if i.source == item.source and i.id != item.id]
    assert not any(title in text for title in related)
    assert not any(label in text for label in BOILERPLATE)


def test_page_metadata_is_found_by_trafilatura():
    item = next(i for i in ITEMS if i.id == "ru-sochi-kredit")
    doc = trafilatura.bare_extraction(SITE[f"/{item.source}/{item.id}.html"][0], with_metadata=True)
    assert doc.title == item.title
    assert doc.date == item.published.date().isoformat()
    assert doc.description == item.summary
    assert doc.url == item_url(BASE, item)
    assert doc.sitename == BY_SOURCE[item.source].name


def test_feed_list_fits_the_feeds_file_schema():
    entries = feed_list(BASE)
    assert [Source(**e).id for e in entries] == [s.id for s in SOURCES]
    assert entries[0]["feeds"] == [feed_url(BASE, SOURCES[0].id)]
