"""Duplicates by content, not by title: tracking variants fold into one article, a recurring headline with a new body
is a new article, a re-post of the same text under a new URL joins its original's group, and a canonical link to
another site groups the two without taking the original's id."""

from __future__ import annotations

import base64
import gzip

from elasticsearch import Elasticsearch

from ingest.sources import Source
from mediamon.core.settings import Settings
from mediamon.core.urls import article_id, canonical_url
from mediamon.dev.sample_news import serve_site
from mediamon.flows.ingest_run import run_once
from search.index_versions import articles_alias

PAGE = """<!doctype html><html lang="en"><head><title>{title}</title>{head}</head><body><nav>Home | World</nav>
<article><h1>{title}</h1><p>{text}</p><p>{text}</p></article><footer>Example Wire</footer></body></html>"""
STRIKE = (
    "Belarusian workers at the potash plant in Salihorsk stayed away from their shifts for a third day, "
    "demanding a new election and the release of detained protesters, their strike committee said. Managers "
    "threatened to dismiss anyone who did not return by Friday, while colleagues collected money for the "
    "families of those who had already lost their jobs, and miners on the night shift refused to go underground."
)
ROUNDUPS = [
    "Fishermen on the Neman reported the lowest water in forty years, and the regional council promised help "
    "for the villages downstream whose wells have run dry since the end of July, officials said on Monday.",
    "The national library in Minsk opened an exhibition of medieval manuscripts lent by a Lithuanian museum, "
    "the first such loan in a decade, and curators expect long queues over the coming holiday weekend.",
    "A new tram line between the railway station and the southern districts of Brest carried its first "
    "passengers, after three years of works that closed two bridges and diverted a dozen bus routes.",
]


def _feed(links: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        "<pubDate>Mon, 14 Sep 2020 08:00:00 +0000</pubDate></item>"
        for title, link in links
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{items}</channel></rss>'.encode()


def _site(pages: list[tuple[str, str, str]], canonical: dict[str, str] | None = None):
    """A site whose feed lists `pages` (title, path, text); `canonical` gives a path's <link rel=canonical>."""

    def build(base: str) -> dict[str, tuple[bytes, str]]:
        site = {"/feed.xml": (_feed([(title, base + path) for title, path, _ in pages]), "application/rss+xml")}
        for title, path, text in pages:
            link = (canonical or {}).get(path)
            head = f'<link rel="canonical" href="{link}">' if link else ""
            html = PAGE.format(title=title, text=text, head=head)
            site[path.split("?")[0]] = (html.encode(), "text/html; charset=utf-8")
        return site

    return build


def _run(settings: Settings, base: str, source_id: str = "wire"):
    return run_once(settings, [Source(id=source_id, name=source_id.title(), feeds=[f"{base}/feed.xml"], language="en")])


def _docs(es: Elasticsearch, settings: Settings) -> dict[str, dict]:
    hits = es.search(index=articles_alias(settings), query={"match_all": {}}, size=100)["hits"]["hits"]
    return {hit["_source"]["url"]: hit["_source"] | {"id": hit["_id"]} for hit in hits}


def _settings(settings: Settings, name: str) -> Settings:
    return settings.model_copy(update={"index_prefix": f"{settings.index_prefix}{name}-", "host_min_interval": 0.0})


def test_tracking_variants_fold_and_a_repost_of_the_text_joins_its_group(settings, es):
    run_settings = _settings(settings, "reposts")
    title = "Salihorsk potash workers strike for a third day"
    variants = [
        (title, "/a/strike.html?utm_source=rss&utm_medium=feed", STRIKE),
        (title, "/a/strike.html?fbclid=a", STRIKE),
    ]
    with serve_site(_site(variants)) as base:
        first = _run(run_settings, base)
    assert first.indexed == 1 and first.duplicates == 1 and first.reconciled
    docs = _docs(es, run_settings)
    ((url, doc),) = docs.items()
    assert url.endswith("/a/strike.html")
    page = gzip.decompress(base64.b64decode(doc["raw_html"])).decode()
    assert page == PAGE.format(title=title, text=STRIKE, head="")

    reposted = [(title + "!", "/b/strike-again.html", STRIKE)]
    with serve_site(_site(reposted)) as base:
        second = _run(run_settings, base)
    assert second.indexed == 1 and second.reconciled  # the same text under a new URL is kept ...
    docs = _docs(es, run_settings)
    assert len(docs) == 2 and len({d["dup_group"] for d in docs.values()}) == 1  # ... in its original's group


def test_a_recurring_headline_with_a_new_body_is_a_new_article(settings, es):
    run_settings = _settings(settings, "roundups")
    for day, text in enumerate(ROUNDUPS):  # one round-up a day, under one headline
        with serve_site(_site([("News of the day", f"/roundup/{day}.html", text)])) as base:
            report = _run(run_settings, base)
        assert report.indexed == 1, report.as_dict()
    docs = _docs(es, run_settings)
    assert sorted(d["body"].split(".")[0][:30] for d in docs.values()) == sorted(t[:30] for t in ROUNDUPS)
    assert len({d["dup_group"] for d in docs.values()}) == 3


def test_a_canonical_link_to_another_site_groups_the_copy_and_takes_no_id(settings, es):
    run_settings = _settings(settings, "canonical")
    original = [("Salihorsk strike, day three", "/news/strike.html", STRIKE)]
    with serve_site(_site(original)) as site_a:
        a_url = canonical_url(f"{site_a}/news/strike.html")
        copy = [("Strike at Salihorsk enters third day", "/world/copy.html", ROUNDUPS[0])]  # no text in common
        with serve_site(_site(copy, {"/world/copy.html": a_url})) as site_b:
            first = _run(run_settings, site_b, "mirror")  # the copy comes first, naming the original as canonical
            second = _run(run_settings, site_a)
    assert first.indexed == 1 and second.indexed == 1, (first.as_dict(), second.as_dict())
    docs = _docs(es, run_settings)
    b_url = canonical_url(f"{site_b}/world/copy.html")
    assert set(docs) == {a_url, b_url}
    assert docs[a_url]["id"] == article_id(a_url) and docs[b_url]["id"] == article_id(b_url)
    assert docs[b_url]["syndicated_from"] == a_url and docs[a_url]["syndicated_from"] is None
    assert docs[a_url]["dup_group"] == docs[b_url]["dup_group"]
