"""The sample news set (`tests/fixtures/news/`): items we wrote, rendered as feeds and article pages and served over
a local HTTP server for the demo and the tests."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from mediamon.core.entry_files import read_yaml
from mediamon.core.records import Article, build_article
from mediamon.core.settings import PROJECT_ROOT

__all__ = [
    "FIXTURE_DIR",
    "SampleItem",
    "SampleSource",
    "Site",
    "build_site",
    "feed_list",
    "feed_url",
    "item_url",
    "load_items",
    "load_sources",
    "render_feed",
    "render_article_parts",
    "render_page",
    "serve_sample_news",
    "serve_site",
]

FIXTURE_DIR = PROJECT_ROOT / "tests" / "fixtures" / "news"

TOPICS = frozenset(
    {
        "belarus",
        "belarus.election",
        "belarus.protests",
        "belarus.repression",
        "belarus.opposition",
        "belarus.russia",
        "belarus.international",
    }
)
AFFILIATIONS = frozenset({"state", "independent", "foreign", "wire"})
FEED_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
HTML_TYPE = "text/html; charset=utf-8"

# URL path -> (body, content type).
Site = Mapping[str, tuple[bytes, str]]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LANG = re.compile(r"^[a-z]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SOURCE_KEYS = frozenset({"id", "name", "lang", "country", "affiliation", "feed_format"})
_ITEM_KEYS = frozenset({"id", "source", "lang", "published", "title", "summary", "body", "grade", "topics", "note"})
_ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True, slots=True)
class SampleSource:
    """A fictional outlet. `lang` is its main language; its items may be in others."""

    id: str
    name: str
    lang: str
    country: str
    affiliation: str
    feed_format: str


@dataclass(frozen=True, slots=True)
class SampleItem:
    """One news item with its relevance `grade` to the seed story (0-3) and its Belarus `topics`."""

    id: str
    source: str
    lang: str
    published: datetime
    title: str
    summary: str
    body: tuple[str, ...]
    grade: int
    topics: tuple[str, ...]
    note: str

    def article(self, url: str, fetched_at: datetime) -> Article:
        """The item as the pipeline's article (read in full) at `url`, fetched at `fetched_at`."""
        return build_article(
            url,
            id=self.id,
            source_id=self.source,
            outlet=self.source,
            title=self.title,
            body="\n".join(self.body),
            summary=self.summary,
            published_at=self.published,
            fetched_at=fetched_at,
            extraction_status="ok",
        )


# --- loading ---


def _entries(path: Path) -> list[dict[str, Any]]:
    data = read_yaml(path)
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise ValueError(f"{path}: expected a list of mappings")
    return data


def _fail(path: Path, entry: Mapping[str, Any], index: int, reason: str) -> ValueError:
    return ValueError(f"{path}: entry {index} ({entry.get('id', '?')!r}): {reason}")


def _text(path: Path, entry: Mapping[str, Any], index: int, key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, entry, index, f"{key} must be a non-empty string")
    return value.strip()


def _check(path: Path, entry: Mapping[str, Any], index: int, keys: frozenset[str]) -> None:
    missing, unknown = keys - entry.keys(), entry.keys() - keys
    if missing or unknown:
        raise _fail(path, entry, index, f"missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")
    if not isinstance(entry["id"], str) or not _SLUG.match(entry["id"]):
        raise _fail(path, entry, index, "id must be a lowercase slug")
    if not isinstance(entry["lang"], str) or not _LANG.match(entry["lang"]):
        raise _fail(path, entry, index, "lang must be an ISO 639-1 code")


def _unique(path: Path, ids: Sequence[str]) -> None:
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise ValueError(f"{path}: duplicate ids {duplicates}")


def _source(path: Path, entry: Mapping[str, Any], index: int) -> SampleSource:
    _check(path, entry, index, _SOURCE_KEYS)
    if entry["affiliation"] not in AFFILIATIONS:
        raise _fail(path, entry, index, f"affiliation must be one of {sorted(AFFILIATIONS)}")
    if entry["feed_format"] not in FEED_TYPES:
        raise _fail(path, entry, index, f"feed_format must be one of {sorted(FEED_TYPES)}")
    if not isinstance(entry["country"], str) or not _COUNTRY.match(entry["country"]):
        raise _fail(path, entry, index, "country must be an ISO 3166 alpha-2 code")
    return SampleSource(
        id=entry["id"],
        name=_text(path, entry, index, "name"),
        lang=entry["lang"],
        country=entry["country"],
        affiliation=entry["affiliation"],
        feed_format=entry["feed_format"],
    )


def _published(path: Path, entry: Mapping[str, Any], index: int) -> datetime:
    raw = entry["published"]
    try:
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise _fail(path, entry, index, f"published is not an ISO 8601 date-time: {raw!r}") from exc
    if moment.tzinfo is None:
        raise _fail(path, entry, index, "published needs a time zone")
    return moment


def _item(path: Path, entry: Mapping[str, Any], index: int, source_ids: frozenset[str]) -> SampleItem:
    _check(path, entry, index, _ITEM_KEYS)
    if entry["source"] not in source_ids:
        raise _fail(path, entry, index, f"unknown source {entry['source']!r}")
    if entry["grade"] not in (0, 1, 2, 3) or isinstance(entry["grade"], bool):
        raise _fail(path, entry, index, "grade must be 0, 1, 2 or 3")
    topics, body = entry["topics"], entry["body"]
    if not isinstance(topics, list) or not set(topics) <= TOPICS or len(set(topics)) != len(topics):
        raise _fail(path, entry, index, f"topics must be distinct values of {sorted(TOPICS)}")
    if topics and "belarus" not in topics:
        raise _fail(path, entry, index, "a belarus.* topic needs the topic belarus as well")
    if not isinstance(body, list) or not all(isinstance(p, str) and p.strip() for p in body):
        raise _fail(path, entry, index, "body must be a list of non-empty paragraphs")
    return SampleItem(
        id=entry["id"],
        source=entry["source"],
        lang=entry["lang"],
        published=_published(path, entry, index),
        title=_text(path, entry, index, "title"),
        summary=_text(path, entry, index, "summary"),
        body=tuple(p.strip() for p in body),
        grade=entry["grade"],
        topics=tuple(topics),
        note=_text(path, entry, index, "note"),
    )


def load_sources(path: Path = FIXTURE_DIR / "sources.yaml") -> tuple[SampleSource, ...]:
    """Read and validate the outlets; a bad entry raises `ValueError` naming the file and the entry."""
    sources = tuple(_source(path, entry, n) for n, entry in enumerate(_entries(path)))
    _unique(path, [s.id for s in sources])
    return sources


def load_items(
    path: Path = FIXTURE_DIR / "items.yaml", sources: Sequence[SampleSource] | None = None
) -> tuple[SampleItem, ...]:
    """Read and validate the items (against `sources`, by default the `sources.yaml` next to `path`)."""
    sources = load_sources(path.with_name("sources.yaml")) if sources is None else sources
    source_ids = frozenset(s.id for s in sources)
    items = tuple(_item(path, entry, n, source_ids) for n, entry in enumerate(_entries(path)))
    _unique(path, [i.id for i in items])
    return items


# --- URLs ---


def feed_url(base_url: str, source_id: str) -> str:
    """Where the feed of a source is served."""
    return f"{base_url.rstrip('/')}/feeds/{source_id}.xml"


def item_url(base_url: str, item: SampleItem) -> str:
    """Where the page of an item is served."""
    return f"{base_url.rstrip('/')}/{item.source}/{item.id}.html"


def _home_url(base_url: str, source_id: str) -> str:
    return f"{base_url.rstrip('/')}/{source_id}/"


def feed_list(base_url: str, sources: Sequence[SampleSource] | None = None) -> list[dict[str, Any]]:
    """The sample outlets as entries of a feeds file (`seeds/feeds.yaml` shape), pointing at `base_url`."""
    return [
        {
            "id": s.id,
            "name": s.name,
            "homepage": _home_url(base_url, s.id),
            "feeds": [feed_url(base_url, s.id)],
            "language": s.lang,
            "country": s.country,
            "affiliation": s.affiliation,
        }
        for s in (load_sources() if sources is None else sources)
    ]


# --- feeds ---


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _rss(source: SampleSource, items: Sequence[SampleItem], base_url: str) -> ET.Element:
    rss = ET.Element("rss", version="2.0")
    channel = _add(rss, "channel")
    _add(channel, "title", source.name)
    _add(channel, "link", _home_url(base_url, source.id))
    _add(channel, "description", source.name)
    _add(channel, "language", source.lang)
    if items:
        _add(channel, "lastBuildDate", format_datetime(items[0].published))
    for item in items:
        entry = _add(channel, "item")
        _add(entry, "title", item.title)
        _add(entry, "link", item_url(base_url, item))
        _add(entry, "guid", item_url(base_url, item), isPermaLink="true")
        _add(entry, "pubDate", format_datetime(item.published))
        _add(entry, "description", item.summary)
    return rss


def _atom(source: SampleSource, items: Sequence[SampleItem], base_url: str) -> ET.Element:
    feed = ET.Element("feed", {"xmlns": _ATOM_NS, _XML_LANG: source.lang})
    _add(feed, "title", source.name)
    _add(feed, "id", feed_url(base_url, source.id))
    if items:
        _add(feed, "updated", items[0].published.isoformat())
    _add(feed, "link", rel="self", type=FEED_TYPES["atom"].split(";")[0], href=feed_url(base_url, source.id))
    _add(feed, "link", rel="alternate", type="text/html", href=_home_url(base_url, source.id))
    _add(_add(feed, "author"), "name", source.name)
    for item in items:
        entry = _add(feed, "entry", **{_XML_LANG: item.lang})
        _add(entry, "title", item.title, type="text")
        _add(entry, "id", item_url(base_url, item))
        _add(entry, "link", rel="alternate", type="text/html", href=item_url(base_url, item))
        _add(entry, "published", item.published.isoformat())
        _add(entry, "updated", item.published.isoformat())
        _add(entry, "summary", item.summary, type="text")
    return feed


def render_feed(source: SampleSource, items: Sequence[SampleItem], base_url: str) -> bytes:
    """The RSS 2.0 or Atom 1.0 document (per `source.feed_format`) of a source's items, newest first."""
    newest_first = sorted(items, key=lambda i: i.published, reverse=True)
    build = _atom if source.feed_format == "atom" else _rss
    return ET.tostring(build(source, newest_first, base_url), encoding="utf-8", xml_declaration=True)


# --- pages ---


@dataclass(frozen=True, slots=True)
class _Chrome:
    """The boilerplate words of a site in one language."""

    home: str
    sections: tuple[str, ...]
    related: str
    footer: tuple[str, ...]
    rights: str


_CHROME = {
    "en": _Chrome(
        "Home", ("World", "Politics", "Business", "Sport"), "Related articles",
        ("About us", "Privacy", "Contact"), "All rights reserved.",
    ),
    "nl": _Chrome(
        "Home", ("Buitenland", "Politiek", "Economie", "Sport"), "Lees ook",
        ("Over ons", "Privacy", "Contact"), "Alle rechten voorbehouden.",
    ),
    "ru": _Chrome(
        "Главная", ("В мире", "Политика", "Экономика", "Спорт"), "Читайте также",
        ("О нас", "Конфиденциальность", "Контакты"), "Все права защищены.",
    ),
    "be": _Chrome(
        "Галоўная", ("Свет", "Палітыка", "Эканоміка", "Спорт"), "Чытайце таксама",
        ("Пра нас", "Прыватнасць", "Кантакты"), "Усе правы абаронены.",
    ),
    "uk": _Chrome(
        "Головна", ("Світ", "Політика", "Економіка", "Спорт"), "Читайте також",
        ("Про нас", "Конфіденційність", "Контакти"), "Усі права захищено.",
    ),
    "pl": _Chrome(
        "Strona główna", ("Świat", "Polityka", "Gospodarka", "Sport"), "Czytaj także",
        ("O nas", "Prywatność", "Kontakt"), "Wszelkie prawa zastrzeżone.",
    ),
    "de": _Chrome(
        "Startseite", ("Welt", "Politik", "Wirtschaft", "Sport"), "Mehr zum Thema",
        ("Über uns", "Datenschutz", "Kontakt"), "Alle Rechte vorbehalten.",
    ),
    "lt": _Chrome(
        "Pradžia", ("Pasaulis", "Politika", "Ekonomika", "Sportas"), "Taip pat skaitykite",
        ("Apie mus", "Privatumas", "Kontaktai"), "Visos teisės saugomos.",
    ),
}  # fmt: skip

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_SITE_HEADER = """\
<header class="site-header">
  <a class="logo" href="{{ home }}">{{ source.name }}</a>
  <nav class="main-nav">
    <ul>
      <li><a href="{{ home }}">{{ chrome.home }}</a></li>
      {% for section in chrome.sections %}
      <li><a href="{{ home }}#section-{{ loop.index }}">{{ section }}</a></li>
      {% endfor %}
    </ul>
  </nav>
</header>
"""

_SITE_FOOTER = """\
<footer class="site-footer">
  <ul>
    {% for label in chrome.footer %}
    <li><a href="{{ home }}#footer-{{ loop.index }}">{{ label }}</a></li>
    {% endfor %}
    <li><a href="{{ feed }}">{{ source.feed_format | upper }}</a></li>
  </ul>
  <p>&copy; {{ source.name }}. {{ chrome.rights }}</p>
</footer>
"""

# What names the article: its own head metadata, and the `<article>` element (the bench puts these in real sites'
# chrome too, `bench.real_chrome`).
_HEAD_META = """\
<title>{{ item.title }} | {{ source.name }}</title>
<meta name="description" content="{{ item.summary }}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{{ source.name }}">
<meta property="og:title" content="{{ item.title }}">
<meta property="og:description" content="{{ item.summary }}">
<meta property="og:url" content="{{ url }}">
<meta property="article:published_time" content="{{ item.published.isoformat() }}">
<link rel="canonical" href="{{ url }}">
<link rel="alternate" type="{{ feed_type }}" title="{{ source.name }}" href="{{ feed }}">
"""

_ARTICLE = """\
  <article>
    <h1>{{ item.title }}</h1>
    <p class="dateline"><time datetime="{{ item.published.isoformat() }}">\
{{ item.published.strftime("%d.%m.%Y %H:%M") }}</time></p>
    <p class="lead">{{ item.summary }}</p>
    {% for paragraph in item.body %}
    <p>{{ paragraph }}</p>
    {% endfor %}
  </article>
"""

_PAGE = _ENV.from_string(
    """\
<!DOCTYPE html>
<html lang="{{ item.lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
"""
    + _HEAD_META
    + """\
</head>
<body>
"""
    + _SITE_HEADER
    + "<main>\n"
    + _ARTICLE
    + """\
  <aside class="related">
    <h2>{{ chrome.related }}</h2>
    <ul>
      {% for title, link in related %}
      <li><a href="{{ link }}">{{ title }}</a></li>
      {% endfor %}
    </ul>
  </aside>
</main>
"""
    + _SITE_FOOTER
    + "</body>\n</html>\n"
)
_HEAD_META_TEMPLATE = _ENV.from_string(_HEAD_META)
_ARTICLE_TEMPLATE = _ENV.from_string(_ARTICLE)

_INDEX = _ENV.from_string(
    """\
<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
</head>
<body>
<h1>{{ title }}</h1>
<ul>
  {% for label, link in links %}
  <li><a href="{{ link }}">{{ label }}</a></li>
  {% endfor %}
</ul>
</body>
</html>
"""
)


def _page_context(source: SampleSource, base_url: str) -> dict[str, Any]:
    return {
        "source": source,
        "home": _home_url(base_url, source.id),
        "feed": feed_url(base_url, source.id),
        "feed_type": FEED_TYPES[source.feed_format].split(";")[0],
    }


def render_page(item: SampleItem, source: SampleSource, related: Sequence[SampleItem], base_url: str) -> bytes:
    """The HTML article page of an item: metadata in the head, site chrome around, the text inside `<article>`."""
    html = _PAGE.render(
        item=item,
        url=item_url(base_url, item),
        chrome=_CHROME.get(item.lang, _CHROME["en"]),
        related=[(other.title, item_url(base_url, other)) for other in related],
        **_page_context(source, base_url),
    )
    return html.encode("utf-8")


def render_article_parts(item: SampleItem, source: SampleSource, base_url: str) -> tuple[str, str]:
    """What `render_page` puts in the head to name the article (title, description, Open Graph, canonical link, feed)
    and its `<article>` element, for other chrome around them."""
    context = {"item": item, "url": item_url(base_url, item), **_page_context(source, base_url)}
    return _HEAD_META_TEMPLATE.render(context), _ARTICLE_TEMPLATE.render(context)


def _related(item: SampleItem, siblings: Sequence[SampleItem], limit: int = 3) -> list[SampleItem]:
    """The outlet's other items nearest in time."""
    others = [s for s in siblings if s.id != item.id]
    return sorted(others, key=lambda s: abs((s.published - item.published).total_seconds()))[:limit]


def build_site(
    base_url: str, items: Sequence[SampleItem] | None = None, sources: Sequence[SampleSource] | None = None
) -> dict[str, tuple[bytes, str]]:
    """Every document of the sample site (feeds, article pages, index pages) by URL path, with absolute links."""
    sources = load_sources() if sources is None else sources
    items = load_items(sources=sources) if items is None else items
    unknown = {i.source for i in items} - {s.id for s in sources}
    if unknown:
        raise ValueError(f"items of unknown sources {sorted(unknown)}")
    root_links = [(f"{s.name} ({s.feed_format.upper()})", feed_url(base_url, s.id)) for s in sources]
    site = {"/": (_INDEX.render(lang="en", title="Sample news", links=root_links).encode(), HTML_TYPE)}
    for source in sources:
        own = sorted((i for i in items if i.source == source.id), key=lambda i: i.published, reverse=True)
        site[f"/feeds/{source.id}.xml"] = (render_feed(source, own, base_url), FEED_TYPES[source.feed_format])
        links = [(i.title, item_url(base_url, i)) for i in own]
        index = _INDEX.render(lang=source.lang, title=source.name, links=links)
        site[f"/{source.id}/"] = (index.encode(), HTML_TYPE)
        for item in own:
            page = render_page(item, source, _related(item, own), base_url)
            site[f"/{source.id}/{item.id}.html"] = (page, HTML_TYPE)
    return site


# --- serving ---


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    site: Site = {}


class _SiteHandler(BaseHTTPRequestHandler):
    server: _SiteServer

    def do_GET(self) -> None:
        self._reply(with_body=True)

    def do_HEAD(self) -> None:
        self._reply(with_body=False)

    def _reply(self, with_body: bool) -> None:
        found = self.server.site.get(urlsplit(self.path).path)
        status, (body, content_type) = (200, found) if found else (404, (b"not found\n", "text/plain; charset=utf-8"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line on stderr per request."""


@contextmanager
def serve_site(site: Site | Callable[[str], Site], host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `site` over HTTP from a background thread (port 0: any free port) and yield its base URL.

    `site` may be a function of the base URL (pages carry absolute links); it is called once the port is bound.
    Unknown paths get 404.
    """
    server = _SiteServer((host, port), _SiteHandler)
    try:
        base_url = f"http://{host}:{server.server_address[1]}"
        server.site = site(base_url) if callable(site) else site
        thread = threading.Thread(target=server.serve_forever, name=f"site {base_url}", daemon=True)
        thread.start()
        try:
            yield base_url
        finally:
            server.shutdown()
            thread.join()
    finally:
        server.server_close()


def serve_sample_news(host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
    """Serve the sample news set (`build_site` over the fixture files); the context yields the base URL."""
    return serve_site(build_site, host, port)
