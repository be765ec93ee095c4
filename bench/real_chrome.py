"""Real sites' chrome around the news benchmark's articles, so that throughput is measured on pages as heavy as real
ones: the extraction benchmark's 121 real pages average 189 KB of HTML, `render_page`'s 8.5 KB.

Each real page becomes a template: its own article text, headlines and identifying head metadata (title, canonical
link, Open Graph, JSON-LD, base) give way to a bench article's (`render_article_parts`); its scripts, styles,
navigation, teasers and footer stay. A template is kept only when `extract_page` gets probe articles back from it whole
and nothing else (`page_score`), so what the bench measures is what real pages cost, not a failed extraction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import lxml.html
from lxml import etree

from bench.extraction import BenchPage, page_score
from ingest.extract import extract_page
from mediamon.dev.sample_news import SampleItem, SampleSource, item_url, render_article_parts, render_page

HEAD_MARK = "mediamon-bench-head"
ARTICLE_MARK = "mediamon-bench-article"
# The page's own identity, which would name another article than the one put in.
IDENTITY = etree.XPath(
    "//title | //base | //link[@rel='canonical' or @rel='amphtml' or @rel='shortlink']"
    " | //meta[@property or @name='description' or starts-with(@name, 'twitter:') or @itemprop]"
    " | //script[contains(@type, 'ld+json')] | //h1"
)
KEY_CHARS = 40  # a ground-truth paragraph is found by its first this-many characters (whitespace folded)
MIN_SCORE = 0.9  # a template's probe articles must come back with this precision and recall at least

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Chrome:
    """A real page cut around two marks: before the head metadata, before the article, after it."""

    source_id: str
    before_head: str
    before_article: str
    after_article: str

    def render(self, item: SampleItem, source: SampleSource, base_url: str) -> bytes:
        head, article = render_article_parts(item, source, base_url)
        return (self.before_head + head + self.before_article + article + self.after_article).encode("utf-8")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _paragraph_nodes(root: lxml.html.HtmlElement, truth: str) -> list[lxml.html.HtmlElement]:
    """The deepest elements holding each ground-truth paragraph, outermost ones only, in document order."""
    keys = {_fold(p)[:KEY_CHARS] for p in truth.split("\n") if len(_fold(p)) >= KEY_CHARS}
    found: dict[str, tuple[int, lxml.html.HtmlElement]] = {}
    for element in root.iter(etree.Element):
        text = _fold(element.text_content())
        depth = sum(1 for _ in element.iterancestors())
        for key in keys:
            if key in text and depth > found.get(key, (-1, None))[0]:
                found[key] = (depth, element)
    nodes = {element for _, element in found.values()}
    outer = [e for e in nodes if not any(a in nodes for a in e.iterancestors())]
    order = {e: n for n, e in enumerate(root.iter())}
    return sorted(outer, key=order.__getitem__)


def _drop(element: lxml.html.HtmlElement) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)  # with its tail: text between article paragraphs is the article's


def cut_template(page: BenchPage) -> Chrome | None:
    """The page as a template, or None when its article cannot be found (no ground-truth paragraph in it)."""
    root = lxml.html.document_fromstring(page.html)
    nodes = _paragraph_nodes(root, page.truth)
    head = root.find("head")
    if not nodes or head is None:
        return None
    first, *rest = nodes
    first.addprevious(etree.Comment(ARTICLE_MARK))
    for element in [*rest, first, *IDENTITY(root)]:
        _drop(element)
    head.insert(0, etree.Comment(HEAD_MARK))
    html = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    parts = re.split(f"<!--(?:{HEAD_MARK}|{ARTICLE_MARK})-->", html)
    return Chrome(page.id, *parts) if len(parts) == 3 else None  # a mark inside a dropped element: no template


def comes_back_whole(chrome: Chrome, probes: Sequence[tuple[SampleItem, SampleSource]], base_url: str) -> bool:
    """Whether every probe article put in the chrome is extracted with its title, and with `MIN_SCORE` precision and
    recall against its extraction from the bench's own light page."""
    for item, source in probes:
        url = item_url(base_url, item)
        light = extract_page(render_page(item, source, [], base_url), url)
        extraction = extract_page(chrome.render(item, source, base_url), url)
        precision, recall = page_score(light.body, extraction.body)
        if extraction.title != light.title or min(precision, recall) < MIN_SCORE:
            return False
    return True


def real_chromes(
    pages: Sequence[BenchPage], probes: Sequence[tuple[SampleItem, SampleSource]], base_url: str
) -> list[Chrome]:
    """The templates of `pages` that give the probe articles back whole."""
    cut = (cut_template(page) for page in pages)
    return [chrome for chrome in cut if chrome is not None and comes_back_whole(chrome, probes, base_url)]
