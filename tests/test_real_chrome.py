"""The pipeline bench's real-chrome pages: a real page's article and identity give way to a bench article's."""

from __future__ import annotations

from bench.extraction import BenchPage
from bench.news_site import BenchFeed, ChromedSite
from bench.real_chrome import comes_back_whole, cut_template, real_chromes
from ingest.extract import extract_page
from mediamon.dev.sample_news import HTML_TYPE, item_url, load_items, load_sources

BASE = "http://127.0.0.1:1"
OWN = [
    "The real outlet's own first paragraph, which the template must not keep in any form at all.",
    "Its second paragraph goes as well, along with the text that trails it between the paragraphs.",
]
REAL_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head>
<title>Real headline | Real Outlet</title>
<base href="https://real.example/">
<link rel="canonical" href="https://real.example/2019/real-story">
<meta property="og:url" content="https://real.example/2019/real-story">
<meta property="og:title" content="Real headline">
<meta name="description" content="The real outlet's summary.">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Real headline"}}</script>
<script>window.tracking = {{"site": "chrome-script"}};</script>
<style>.story {{ font-family: serif; }}</style>
</head><body>
<nav><ul><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div class="story"><h1>Real headline</h1>
<p>{OWN[0]}</p> trailing words
<p>{OWN[1]}</p>
<div class="share">Share this story</div></div>
<aside class="related"><a href="/other">Another story of the outlet</a></aside>
<footer>Copyright Real Outlet</footer>
</body></html>"""


def _item_and_source():
    item = next(i for i in load_items() if len(i.body) >= 3)
    return item, next(s for s in load_sources() if s.id == item.source)


def test_the_template_keeps_the_chrome_and_drops_the_real_article_and_identity() -> None:
    chrome = cut_template(BenchPage("real", "https://real.example/2019/real-story", REAL_PAGE, "\n".join(OWN)))
    assert chrome is not None
    item, source = _item_and_source()
    html = chrome.render(item, source, BASE).decode("utf-8")
    for gone in ("real.example", "Real headline", "real outlet's summary", OWN[0][:40], OWN[1][:40], "trailing"):
        assert gone not in html
    for kept in ("chrome-script", "font-family", "Sport", "Share this story", "Another story", "Copyright"):
        assert kept in html
    extraction = extract_page(html.encode("utf-8"), item_url(BASE, item))
    assert extraction.title == item.title
    assert extraction.canonical_url is None  # the article's own address, not the real page's
    assert item.body[1][:60] in extraction.body and "Another story" not in extraction.body
    assert comes_back_whole(chrome, [(item, source)], BASE)


def test_a_page_without_its_ground_truth_gives_no_template() -> None:
    page = BenchPage("real", "https://real.example/x", REAL_PAGE, "A paragraph that this page does not hold at all.")
    assert cut_template(page) is None
    assert real_chromes([page], [_item_and_source()], BASE) == []


def test_the_chromed_site_serves_feeds_and_renders_each_page_in_its_chrome() -> None:
    chrome = cut_template(BenchPage("real", "https://real.example/", REAL_PAGE, "\n".join(OWN)))
    assert chrome is not None
    item, source = _item_and_source()
    site = ChromedSite([BenchFeed(source, (item,), host=0)], BASE, [chrome])
    assert sorted(site) == sorted([f"/feeds/{source.id}.xml", f"/{source.id}/{item.id}.html"])
    body, content_type = site[f"/{source.id}/{item.id}.html"]
    assert content_type == HTML_TYPE and b"chrome-script" in body and item.title.encode() in body
    assert site.get("/nowhere.html") is None
