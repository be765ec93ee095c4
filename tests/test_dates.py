"""Publication dates: parsing every precision, the date in a URL, the future skew, and the date an article gets
from its feed entry, its page or its URL (pages served by a local server, fetched by the pipeline's fetcher)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.annotate import time_of
from ingest.dates import UNDATED, Published, believable, page_published, parse_date, url_date
from ingest.feeds import parse_feed
from ingest.fetch import Fetcher
from ingest.pages import article_from_page
from ingest.sources import Source
from mediamon.core.records import build_article
from mediamon.dev.sample_news import serve_site
from search.documents import article_document

NOW = datetime(2020, 9, 20, 12, tzinfo=UTC)
SKEW = timedelta(hours=24)


@pytest.mark.parametrize(
    ("value", "start", "precision"),
    [
        ("2020", datetime(2020, 1, 1, tzinfo=UTC), "year"),
        ("2020-09", datetime(2020, 9, 1, tzinfo=UTC), "month"),
        ("2020-09-14", datetime(2020, 9, 14, tzinfo=UTC), "day"),
        (" 20200914 ", datetime(2020, 9, 14, tzinfo=UTC), "day"),
        ("2020-09-14T12:00:00+02:00", datetime(2020, 9, 14, 10, tzinfo=UTC), "instant"),
        ("2020-09-14T12:00:00Z", datetime(2020, 9, 14, 12, tzinfo=UTC), "instant"),
        ("2020-09-14T12:00:00", datetime(2020, 9, 14, 12, tzinfo=UTC), "instant"),  # naive: UTC
        ("2020-09-14 23:30", datetime(2020, 9, 14, 23, 30, tzinfo=UTC), "instant"),
        (1600084800, datetime(2020, 9, 14, 12, tzinfo=UTC), "instant"),  # Unix seconds
        (date(2020, 9, 14), datetime(2020, 9, 14, tzinfo=UTC), "day"),
        (datetime(2020, 9, 14, 12), datetime(2020, 9, 14, 12, tzinfo=UTC), "instant"),
    ],
)
def test_a_date_of_any_precision_is_the_utc_start_of_its_period(value, start, precision):
    assert parse_date(value) == (start, precision)
    assert parse_date(value)[0].tzinfo is UTC


@pytest.mark.parametrize("value", ["", "last week", "2020-13", "2020-09-31", "14.09.2020", "2020-9", None, True, []])
def test_what_is_no_date_raises(value):
    with pytest.raises((ValueError, TypeError)):
        parse_date(value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://news.example/2020/09/14/minsk-march.html",
            Published(datetime(2020, 9, 14, tzinfo=UTC), "day", "url"),
        ),
        ("https://news.example/world/2020/09/14", Published(datetime(2020, 9, 14, tzinfo=UTC), "day", "url")),
        ("https://news.example/2020/09/minsk-march", Published(datetime(2020, 9, 1, tzinfo=UTC), "month", "url")),
        ("https://news.example/2020/02/31/bad-day", UNDATED),
        ("https://news.example/id/12020/09/14/", UNDATED),
        ("https://news.example/minsk?from=/2020/09/14/", UNDATED),  # the path only
        ("https://news.example/minsk-march-2020-09-14", UNDATED),
    ],
)
def test_the_date_in_a_url_path(url, expected):
    assert url_date(url) == expected


def test_a_date_in_the_future_beyond_the_skew_is_passed_over_and_logged_once(caplog):
    feed = Published(NOW + timedelta(days=400), "instant", "feed")
    page = Published(datetime(2020, 9, 14, tzinfo=UTC), "day", "page")
    with caplog.at_level(logging.WARNING, logger="ingest.dates"):
        assert believable([feed, page], now=NOW, skew=SKEW, what="https://news.example/a") == page
        assert believable([feed], now=NOW, skew=SKEW, what="https://news.example/b") == UNDATED
    assert [r.getMessage() for r in caplog.records] == [
        "https://news.example/a: ignored dates in the future (feed 2021-10-25T12:00:00+00:00); dated by page",
        "https://news.example/b: ignored dates in the future (feed 2021-10-25T12:00:00+00:00); dated by none",
    ]
    within = Published(NOW + timedelta(hours=23), "instant", "feed")  # a clock or time zone slightly off
    assert believable([within, page], now=NOW, skew=SKEW, what="x") == within


def test_the_feed_date_comes_first_then_the_page_then_the_url():
    url = "https://news.example/2020/09/14/minsk.html"
    feed_time = datetime(2020, 9, 14, 18, tzinfo=UTC)
    assert page_published(feed_time, date(2020, 9, 13), url, now=NOW, skew=SKEW) == Published(
        feed_time, "instant", "feed"
    )
    assert page_published(None, date(2020, 9, 13), url, now=NOW, skew=SKEW) == Published(
        datetime(2020, 9, 13, tzinfo=UTC), "day", "page"
    )
    url_day = Published(datetime(2020, 9, 14, tzinfo=UTC), "day", "url")
    assert page_published(None, None, url, now=NOW, skew=SKEW) == url_day
    # htmldate reads a complete URL date before the page's metadata: the same day is the URL's
    assert page_published(None, date(2020, 9, 14), url, now=NOW, skew=SKEW) == url_day
    assert page_published(None, None, "https://news.example/minsk.html", now=NOW, skew=SKEW) == UNDATED


def test_a_page_instant_is_kept_to_the_second_on_the_day_of_its_url_too():
    url = "https://news.example/2020/09/14/minsk.html"
    moment = datetime(2020, 9, 14, 18, 5, tzinfo=UTC)
    assert page_published(None, moment, url, now=NOW, skew=SKEW) == Published(moment, "instant", "page")
    future = datetime(2035, 1, 1, tzinfo=UTC)
    assert page_published(None, future, url, now=NOW, skew=SKEW) == Published(
        datetime(2020, 9, 14, tzinfo=UTC), "day", "url"
    )


def test_relevance_reads_a_month_as_its_middle_and_a_year_as_a_year_named():
    assert time_of(datetime(2020, 9, 14, 18, tzinfo=UTC), "instant") == (date(2020, 9, 14), None)
    assert time_of(datetime(2020, 9, 14, tzinfo=UTC), "day") == (date(2020, 9, 14), None)
    assert time_of(datetime(2020, 9, 1, tzinfo=UTC), "month") == (date(2020, 9, 15), None)
    assert time_of(datetime(2020, 1, 1, tzinfo=UTC), "year") == (None, 2020)
    assert time_of(datetime(2020, 9, 14, tzinfo=UTC), None) == (date(2020, 9, 14), None)  # stored before precision
    assert time_of(None, None) == (None, None)


def _article(published: Published):
    return build_article(
        "https://news.example/a",
        source_id="news",
        outlet="News",
        title="T",
        body="B",
        summary="",
        published_at=published.at,
        published_precision=published.precision,
        published_source=published.source,
        fetched_at=NOW,
        extraction_status="ok",
    )


def test_the_document_carries_precision_source_and_a_time_for_kibana_even_when_undated():
    from mediamon.core.records import Enrichment

    enrichment = Enrichment(language="en", language_confidence=1.0, embedding=(0.0,), model="m")
    month = article_document(_article(Published(datetime(2020, 9, 1, tzinfo=UTC), "month", "import")), enrichment)
    assert (month["published_at"], month["published_precision"], month["published_source"]) == (
        "2020-09-01T00:00:00+00:00",
        "month",
        "import",
    )
    assert month["dated_at"] == month["published_at"]
    undated = article_document(_article(UNDATED), enrichment)
    assert (undated["published_at"], undated["published_precision"], undated["published_source"]) == (
        None,
        None,
        "none",
    )
    assert undated["dated_at"] == NOW.isoformat() == undated["fetched_at"]


PARAGRAPHS = (
    "Protesters gathered again in the centre of Minsk on Sunday, marching towards the presidential palace while "
    "riot police blocked the main avenue and detained dozens of people. Organisers said the march was the largest "
    "in weeks; witnesses described columns of people carrying white-red-white flags past closed shops."
)


def _page(meta: str = "") -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><title>Minsk march</title>{meta}</head><body><article>'
        f"<h1>Thousands march in Minsk</h1><p>{PARAGRAPHS}</p><p>{PARAGRAPHS}</p></article></body></html>"
    ).encode()


SITE = {
    "/2020/09/14/minsk-march.html": (_page(), "text/html; charset=utf-8"),
    "/world/minsk-march.html": (
        _page('<meta property="article:published_time" content="2020-09-13T18:00:00+03:00">'),
        "text/html; charset=utf-8",
    ),
}


def _feed(base: str, undated_link: str, future_link: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>
<item><title>Minsk march</title><link>{base}{undated_link}</link></item>
<item><title>Minsk march</title><link>{base}{future_link}</link><pubDate>Mon, 01 Jan 2035 08:00:00 GMT</pubDate></item>
</channel></rss>""".encode()


def test_articles_of_served_pages_dated_by_url_and_by_page_when_the_feed_has_no_believable_date(settings, caplog):
    source = Source(id="news", name="News", feeds=["http://127.0.0.1/rss"])
    fetch_settings = settings.model_copy(update={"host_min_interval": 0.0})
    with serve_site(SITE) as base, Fetcher(fetch_settings) as fetcher:
        undated, future = parse_feed(
            _feed(base, "/2020/09/14/minsk-march.html", "/world/minsk-march.html"),
            feed_url=f"{base}/rss",
            source_id="news",
        ).entries
        assert undated.published is None and future.published == datetime(2035, 1, 1, 8, tzinfo=UTC)
        pages = {p.requested_url: p for p in fetcher.fetch_many([undated.url, future.url], kind="page")}
    with caplog.at_level(logging.WARNING, logger="ingest.dates"):
        by_url, by_page = (
            article_from_page(entry, pages[entry.url], source, False, future_skew=SKEW) for entry in (undated, future)
        )
    assert (by_url.published_at, by_url.published_precision, by_url.published_source) == (
        datetime(2020, 9, 14, tzinfo=UTC),
        "day",
        "url",
    )
    assert (by_page.published_at, by_page.published_precision, by_page.published_source) == (
        datetime(2020, 9, 13, 15, tzinfo=UTC),
        "instant",
        "page",
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"{base}/world/minsk-march.html: ignored dates in the future (feed 2035-01-01T08:00:00+00:00); dated by page"
    ]
