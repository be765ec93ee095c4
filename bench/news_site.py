"""The news benchmark's articles as web sites: RSS feeds and HTML pages with site chrome, rendered in memory the way
the sample news is (`mediamon.dev.sample_news`) or in real sites' chrome (`bench.real_chrome`), and served by a
separate process on a few ports of 127.0.0.1."""

from __future__ import annotations

import multiprocessing
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection, wait
from pathlib import Path

from bench.extraction import load_pages
from bench.news_data import BenchArticle, load_articles
from bench.real_chrome import Chrome, real_chromes
from mediamon.dev.sample_news import (
    FEED_TYPES,
    HTML_TYPE,
    SampleItem,
    SampleSource,
    Site,
    feed_url,
    render_feed,
    render_page,
    serve_site,
)

PROBES = 3  # articles each real page's template must give back whole
FEED_ITEMS = 150  # items per feed
HOSTS = 4  # sites, each on its own port
UNDATED_FROM = datetime(2021, 1, 1, tzinfo=UTC)  # undated articles get consecutive minutes from here

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class BenchFeed:
    """One feed of the benchmark site: its outlet, items and the site (host number) serving it."""

    source: SampleSource
    items: tuple[SampleItem, ...]
    host: int


@dataclass(frozen=True, slots=True)
class ServedFeed:
    """A served feed as an entry of a feeds file (`seeds/feeds.yaml` shape), and how many items it has."""

    source: dict
    items: int


@dataclass(frozen=True, slots=True)
class ServedNews:
    """The served feeds, the server's process id and what its article pages are like."""

    feeds: list[ServedFeed]
    server_pid: int
    pages: str


def _item(n: int, article: BenchArticle, source_id: str) -> SampleItem:
    published = (
        datetime.fromisoformat(article.published).replace(tzinfo=UTC)
        if article.published
        else UNDATED_FROM + timedelta(minutes=n)
    )
    paragraphs = tuple(p.strip() for p in article.body.split("\n") if p.strip())
    return SampleItem(
        id=f"a{n:05d}-{_SLUG.sub('-', article.id.lower()).strip('-')[:60]}",
        source=source_id,
        lang=article.lang,
        published=published,
        title=article.title,
        summary=article.description,
        body=paragraphs,
        grade=article.grade,
        topics=article.topics,
        note="",
    )


def bench_feeds(
    articles: Sequence[BenchArticle], feed_items: int = FEED_ITEMS, hosts: int = HOSTS, seed: int = 0
) -> list[BenchFeed]:
    """The articles in a fixed random order, cut into feeds of `feed_items`; feed n is on host n % `hosts`."""
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    feeds = []
    for number, start in enumerate(range(0, len(order), feed_items)):
        source_id = f"bench-{number:03d}"
        items = tuple(_item(n, articles[n], source_id) for n in order[start : start + feed_items])
        lang = items[0].lang
        source = SampleSource(source_id, f"Bench News {number}", lang, "GB", "foreign", "rss")
        feeds.append(BenchFeed(source, items, number % hosts))
    return feeds


def build_host_site(feeds: Sequence[BenchFeed], base_url: str) -> Site:
    """Every feed and article page of one host, by URL path; each page links its feed neighbours as related."""
    site: dict[str, tuple[bytes, str]] = {}
    for feed in feeds:
        source, items = feed.source, feed.items
        site[f"/feeds/{source.id}.xml"] = (render_feed(source, items, base_url), FEED_TYPES["rss"])
        for n, item in enumerate(items):
            related = [items[i] for i in (n - 1, n + 1, n + 2) if 0 <= i < len(items) and i != n]
            site[f"/{source.id}/{item.id}.html"] = (render_page(item, source, related, base_url), HTML_TYPE)
    return site


class ChromedSite(Mapping[str, tuple[bytes, str]]):
    """One host's feeds, and its article pages in real sites' chrome (article n in chrome n), rendered when asked
    for: held in memory they would take gigabytes."""

    def __init__(self, feeds: Sequence[BenchFeed], base_url: str, chromes: Sequence[Chrome]) -> None:
        self._base_url = base_url
        self._feeds = {
            f"/feeds/{feed.source.id}.xml": (render_feed(feed.source, feed.items, base_url), FEED_TYPES["rss"])
            for feed in feeds
        }
        pages = ((feed.source, item) for feed in feeds for item in feed.items)
        self._pages = {
            f"/{source.id}/{item.id}.html": (item, source, chromes[n % len(chromes)])
            for n, (source, item) in enumerate(pages)
        }

    def __getitem__(self, path: str) -> tuple[bytes, str]:
        if path in self._feeds:
            return self._feeds[path]
        item, source, chrome = self._pages[path]
        return chrome.render(item, source, self._base_url), HTML_TYPE

    def __iter__(self) -> Iterator[str]:
        yield from self._feeds
        yield from self._pages

    def __len__(self) -> int:
        return len(self._feeds) + len(self._pages)


def _feed_entry(feed: BenchFeed, base_url: str) -> ServedFeed:
    source = {
        "id": feed.source.id,
        "name": feed.source.name,
        "homepage": f"{base_url}/{feed.source.id}/",
        "feeds": [feed_url(base_url, feed.source.id)],
        "language": feed.source.lang,
        "country": feed.source.country,
        "affiliation": feed.source.affiliation,
    }
    return ServedFeed(source, len(feed.items))


def _chromes(extraction_dir: Path, feeds: Sequence[BenchFeed]) -> tuple[list[Chrome], str]:
    """The real pages' templates that give the first articles back whole, and a line saying what they are."""
    pages = load_pages(extraction_dir)
    probes = [(item, feeds[0].source) for item in feeds[0].items[:PROBES]]
    chromes = real_chromes(pages, probes, "http://127.0.0.1:1")
    if not chromes:
        raise RuntimeError(f"none of the {len(pages)} real pages in {extraction_dir} could take an article")
    size = sum(len(c.render(item, source, "http://127.0.0.1:1")) for c in chromes for item, source in probes)
    return chromes, (
        f"real sites' chrome: {len(chromes)} of {len(pages)} real pages, "
        f"{size / len(chromes) / len(probes) / 1000:.0f} KB a page on average"
    )


def _serve(news_dir: Path, feed_items: int, hosts: int, extraction_dir: Path | None, conn: Connection) -> None:
    """The server process: build the sites, send the feeds back, serve until the parent says stop."""
    feeds = bench_feeds(load_articles(news_dir), feed_items, hosts)
    if extraction_dir is None:
        pages = "the bench's own light pages (render_page)"

        def host_site(base: str, host: int) -> Site:
            return build_host_site([f for f in feeds if f.host == host], base)
    else:
        chromes, pages = _chromes(extraction_dir, feeds)

        def host_site(base: str, host: int) -> Site:
            return ChromedSite([f for f in feeds if f.host == host], base, chromes)

    with ExitStack() as stack:
        bases = [stack.enter_context(serve_site(lambda base, h=h: host_site(base, h))) for h in range(hosts)]
        conn.send(([_feed_entry(f, bases[f.host]) for f in feeds], pages))
        conn.recv()


@contextmanager
def serve_bench_news(
    news_dir: Path, feed_items: int = FEED_ITEMS, hosts: int = HOSTS, extraction_dir: Path | None = None
) -> Iterator[ServedNews]:
    """Serve the benchmark's articles from a separate process, in real sites' chrome when `extraction_dir` (the
    extraction benchmark's real pages) is given."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    args = (news_dir, feed_items, hosts, extraction_dir, theirs)
    server = context.Process(target=_serve, args=args, name="bench-news-site")
    server.start()
    try:
        if not wait([ours, server.sentinel], 300):
            raise RuntimeError("the benchmark news server did not start within 300 s")
        if not ours.poll():
            raise RuntimeError(f"the benchmark news server ended (exit code {server.exitcode}) before serving")
        feeds, pages = ours.recv()
        assert server.pid is not None
        yield ServedNews(feeds, server.pid, pages)
        ours.send("stop")
        server.join(30)
    finally:
        if server.is_alive():
            server.terminate()
            server.join()
