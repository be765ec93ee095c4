"""Duplicates that fetching alone cannot see: tracking-parameter variants, and re-posts of a title under a new URL."""

from __future__ import annotations

import base64
import gzip

from ingest.dedup import title_key
from ingest.sources import Source
from mediamon.dev.sample_news import serve_site
from mediamon.flows.ingest_run import run_once
from search.index_versions import articles_alias

PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><nav>Home | World</nav>
<article><h1>{title}</h1><p>{text}</p><p>{text}</p></article><footer>Example Wire</footer></body></html>"""
TEXT = (
    "Belarusian workers at the potash plant in Salihorsk stayed away from their shifts for a third day, "
    "demanding a new election and the release of detained protesters, their strike committee said."
)


def _feed(links: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        "<pubDate>Mon, 14 Sep 2020 08:00:00 +0000</pubDate></item>"
        for title, link in links
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{items}</channel></rss>'.encode()


def _site(feed_links: list[tuple[str, str]]):
    def build(base: str) -> dict[str, tuple[bytes, str]]:
        site = {"/feed.xml": (_feed([(t, base + link) for t, link in feed_links]), "application/rss+xml")}
        for title, link in feed_links:
            path = link.split("?")[0]
            site[path] = (PAGE.format(title=title, text=TEXT).encode(), "text/html; charset=utf-8")
        return site

    return build


def test_tracking_variants_and_reposts_are_indexed_once(settings, es):
    run_settings = settings.model_copy(
        update={"index_prefix": f"{settings.index_prefix}reposts-", "host_min_interval": 0.0}
    )
    title = "Salihorsk potash workers strike for a third day"
    first_links = [(title, "/a/strike.html?utm_source=rss&utm_medium=feed"), (title, "/a/strike.html?fbclid=abc")]
    with serve_site(_site(first_links)) as base:
        source = Source(id="wire", name="Example Wire", feeds=[f"{base}/feed.xml"], language="en")
        first = run_once(run_settings, [source])
    assert first.indexed == 1

    alias = articles_alias(run_settings)
    doc = es.search(index=alias, query={"match_all": {}})["hits"]["hits"][0]["_source"]
    assert doc["url"].endswith("/a/strike.html")
    assert doc["title_key"] == title_key("wire", title)
    page = gzip.decompress(base64.b64decode(doc["raw_html"])).decode()
    assert page == PAGE.format(title=title, text=TEXT)

    reposted = [(title + "!", "/b/strike-again.html"), ("A different story entirely", "/b/other.html")]
    with serve_site(_site(reposted)) as base:
        source = Source(id="wire", name="Example Wire", feeds=[f"{base}/feed.xml"], language="en")
        second = run_once(run_settings, [source])
    assert second.indexed == 1
    titles = sorted(h["_source"]["title"] for h in es.search(index=alias, query={"match_all": {}})["hits"]["hits"])
    assert titles == ["A different story entirely", title]


def test_title_key_folds_case_punctuation_and_spacing():
    assert title_key("s", "Putin meets  Lukashenko!") == title_key("s", "putin meets lukashenko")
    assert title_key("s", "Putin meets Lukashenko") != title_key("other", "Putin meets Lukashenko")
    assert title_key("s", " … ") is None
