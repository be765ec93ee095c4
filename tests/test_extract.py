import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import trafilatura
from lxml.html import tostring
from trafilatura.utils import load_html

from ingest.boilerplate import clean_body, is_boilerplate
from ingest.extract import _bare, extract_body, extract_page, stands_alone
from ingest.page_metadata import page_metadata
from mediamon.flows.page_report import extraction_report

PARAGRAPHS = [
    "Protesters gathered again in the centre of Minsk on Sunday, marching towards the presidential palace "
    "while riot police blocked the main avenue and detained dozens of people.",
    "Organisers said the march was the largest in weeks. Witnesses described columns of people carrying "
    "white-red-white flags and singing as they walked past closed shops and metro stations.",
]
PAGE = f"""<!doctype html><html lang="en"><head><title>Minsk march | Example News</title>
<meta property="og:title" content="Thousands march in Minsk">
<meta name="description" content="A standfirst.">
<link rel="canonical" href="http://127.0.0.1/news/minsk-march.html">
<meta property="article:published_time" content="2020-09-06T18:00:00+03:00">
<meta name="author" content="Jane Reporter"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
<article><h1>Thousands march in Minsk</h1>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>
<aside><h2>Related</h2><ul><li><a href="/x">Weather: sunny week ahead</a></li></ul></aside>
<footer>Copyright Example News. All rights reserved.</footer></body></html>"""


def test_body_title_date_and_canonical_from_a_page():
    result = extract_page(PAGE, url="http://127.0.0.1/news/minsk-march.html?utm_source=x")
    assert result.title == "Thousands march in Minsk"
    assert PARAGRAPHS[0] in result.body and PARAGRAPHS[1] in result.body
    assert "Weather" not in result.body and "Copyright" not in result.body
    assert not result.body.startswith("Thousands march")
    assert result.published == datetime(2020, 9, 6, 15, tzinfo=UTC)
    assert result.canonical_url == "http://127.0.0.1/news/minsk-march.html"
    assert result.authors == ("Jane Reporter",)
    assert result.status == "ok"


def test_a_teaser_page_is_short_and_garbage_is_empty():
    teaser = "<html><body><article><h1>T</h1><p>Only a teaser line for subscribers.</p></article></body></html>"
    assert extract_page(teaser).status in {"short", "empty"}
    assert extract_page(b"\x00\x01\x02 not html at all").status != "ok"
    assert extract_page("").status == "empty"


PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"
GOLDEN = sorted(PAGES_DIR.glob("*.html"))


def test_there_are_golden_pages():
    assert len(GOLDEN) >= 3


@pytest.mark.parametrize("page", GOLDEN, ids=lambda p: p.stem)
def test_golden_page(page: Path):
    expected = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    result = extract_page(page.read_bytes(), url=expected["url"])
    assert result.title == expected["title"]
    assert result.status == expected["status"]
    assert result.published == datetime.fromisoformat(expected["published"])
    for text in expected["body_must_contain"]:
        assert text in result.body
    for text in expected["body_must_not_contain"]:
        assert text not in result.body


@pytest.mark.parametrize(
    "line",
    [
        "Advertisement",
        "- Share on Facebook",
        "READ MORE: Pensioners march for the third Sunday",
        "Copyright © 2020 Example Media. All rights reserved.",
        "Follow us on Twitter and Facebook for more news.",
        "Subscribe to continue reading.",
        "Читайте также: Студенты вышли на акцию",
        "12 comments",
    ],
)
def test_boilerplate_lines(line: str):
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Read more about the sanctions in the ministry's statement, which runs to forty pages and lists every "
        "official by name, rank and the date of the decision that put them on the list; it also explains how the "
        "list will be reviewed.",
        "Copyright law was changed last year, the minister said.",
        "Share prices fell by 3% in Warsaw.",
        "Related talks in Vilnius ended without an agreement.",
    ],
)
def test_prose_is_not_boilerplate(line: str):
    assert not is_boilerplate(line)


def test_headline_repeated_near_the_top_is_dropped_but_not_later():
    text = "By Jane\nThousands march in Minsk\nFirst paragraph.\nA\nB\nC\nThousands march in Minsk"
    cleaned = clean_body(text, "Thousands March in Minsk!")
    assert cleaned == "By Jane\nFirst paragraph.\nA\nB\nC\nThousands march in Minsk"


def test_a_cut_short_precision_pass_gives_way_to_a_recall_pass():
    tree = load_html(PAGE)
    body = extract_body(tree, "http://127.0.0.1/news/minsk-march.html", "Thousands march in Minsk", "Teaser.")
    assert PARAGRAPHS[0] in body and PARAGRAPHS[1] in body
    kept = extract_body(tree, None, "Thousands march in Minsk", "A first pass that is long enough. " * 40)
    assert kept.startswith("A first pass")


LONG_PARAGRAPHS = "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 4)


def _fast(page: str):
    return _bare(load_html(page), "http://127.0.0.1/news/a.html", favor_precision=True, fast=True)


def test_a_long_body_of_paragraphs_needs_no_fallbacks_and_a_short_or_tabular_one_does():
    assert stands_alone(_fast(f"<html><body><article><h1>T</h1>{LONG_PARAGRAPHS}</article></body></html>"))
    assert not stands_alone(_fast(f"<html><body><article><p>{PARAGRAPHS[0]}</p></article></body></html>"))
    cells = "".join(f"<tr><td>{p}</td></tr>" for p in PARAGRAPHS * 4)
    assert not stands_alone(_fast(f"<html><body><table>{cells}</table></body></html>"))


def test_an_article_the_fast_pass_misses_comes_out_whole():
    page = (
        "<html><body><article><p>Short lead.</p></article>"
        f"<div class='teaser-text'>{LONG_PARAGRAPHS}</div></body></html>"
    )
    assert len(_fast(page).text) < 500  # precision mode's own extractor takes the lead only
    body = extract_page(page, url="http://127.0.0.1/news/a.html").body
    assert PARAGRAPHS[0] in body and PARAGRAPHS[1] in body and len(body) > 1000


BYLINE_PAGE = f"""<html><head><title>Sanctions agreed | daily-example.com</title></head><body>
<article><h1>Sanctions agreed</h1><p class="byline">By <span class="author">Ann Writer</span></p>
<p>Published on 2020-10-02</p>{LONG_PARAGRAPHS}</article></body></html>"""
STORED_FIELDS = ("title", "author", "date", "sitename", "description", "image", "url")


@pytest.mark.parametrize("page", [PAGE, BYLINE_PAGE, *(p.read_text(encoding="utf-8") for p in GOLDEN)])
def test_the_metadata_pass_reads_every_stored_field_as_trafilatura_does(page: str):
    url = "http://127.0.0.1/news/a.html"
    tree = load_html(page)
    before = tostring(tree)
    ours = page_metadata(tree, url)
    theirs = trafilatura.bare_extraction(page, url=url, with_metadata=True)
    assert tostring(tree) == before
    assert [getattr(ours, f) for f in STORED_FIELDS[:2]] == [getattr(theirs, f) for f in STORED_FIELDS[:2]]
    assert ours.date[:10] == theirs.date  # the day as trafilatura reads it, then the time where the page has it
    assert [getattr(ours, f) for f in STORED_FIELDS[3:]] == [getattr(theirs, f) for f in STORED_FIELDS[3:]]
    assert ours.title


def test_a_byline_in_the_body_and_a_title_suffix_give_author_and_site():
    meta = page_metadata(load_html(BYLINE_PAGE), None)
    assert (meta.author, meta.sitename, meta.date) == ("Ann Writer", "daily-example.com", "2020-10-02T00:00:00")


@pytest.mark.parametrize(
    ("declared", "hint"), [("en", "en"), ("uk-UA", "uk"), (" RU_ru ", "ru"), ("", None), ("x-default", None)]
)
def test_the_language_a_page_declares_is_its_hint(declared: str, hint: str | None):
    page = PAGE.replace('<html lang="en">', f'<html lang="{declared}">')
    assert extract_page(page, url="http://127.0.0.1/news/minsk-march.html").language_hint == hint


@pytest.mark.parametrize(
    ("meta", "published"),
    [
        (
            '<meta property="article:published_time" content="2020-09-06T18:00:00+03:00">',
            datetime(2020, 9, 6, 15, tzinfo=UTC),
        ),
        (
            '<meta property="article:published_time" content="2020-09-06T23:30:00-05:00">',
            datetime(2020, 9, 7, 4, 30, tzinfo=UTC),
        ),
        ('<meta property="article:published_time" content="2020-09-06">', date(2020, 9, 6)),
        ('<meta name="date" content="2020-09-06 18:00">', date(2020, 9, 6)),  # a time of no known zone: the day
        ("", None),
    ],
)
def test_a_page_dates_its_article_to_the_instant_only_with_an_offset(meta: str, published: date | None):
    page = PAGE.replace('<meta property="article:published_time" content="2020-09-06T18:00:00+03:00">', meta)
    assert extract_page(page, url="http://127.0.0.1/news/minsk-march.html").published == published


def test_extraction_report_is_json_ready_with_language():
    report = extraction_report(PAGE.encode(), "http://127.0.0.1/news/minsk-march.html")
    assert json.loads(json.dumps(report)) == report
    assert report["title"] == "Thousands march in Minsk"
    assert PARAGRAPHS[0] in report["body"]
    assert report["published"] == "2020-09-06T15:00:00+00:00"
    assert report["authors"] == ["Jane Reporter"]
    assert report["language"] == "en"
    assert report["extraction_status"] == "ok"
    russian = (PAGES_DIR / "russian-read-also.html").read_bytes()
    assert extraction_report(russian, None)["language"] == "ru"
    assert extraction_report(b"", None)["extraction_status"] == "empty"


def test_a_kept_page_is_gzip_without_a_time_so_the_same_page_is_kept_the_same():
    import base64
    import gzip

    from ingest.pages import _kept

    html = b"<html><body><p>Protest in Minsk.</p></body></html>"
    kept = base64.b64decode(_kept(html))
    assert kept[4:8] == b"\0\0\0\0"  # the header's modification time, else the second it was kept
    assert gzip.decompress(kept) == html
