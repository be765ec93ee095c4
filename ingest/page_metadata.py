"""A page's metadata (title, date, authors, canonical link, site name, description, image), read once per page.

Trafilatura's `extract_metadata` in the order it runs its steps, less the three whose results mediamon never
stores: categories, tags and licence (about 3 ms a page on real sites' chrome, where all of it takes about 9;
docs/benchmarks.md, "A leaner metadata pass"). The steps are trafilatura's own functions, so every field stored
reads as with `bare_extraction(..., with_metadata=True)`, which `tests/test_extract.py` checks; only the date goes
further, to the time of day and its offset where the page gives them.
"""

from __future__ import annotations

import logging

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document, set_date_params

LOG = logging.getLogger(__name__)
# Trafilatura's default (its EXTENSIVE_DATE_SEARCH setting: htmldate also looks beyond the page's markup), and the
# time of day with its offset where the page gives them (trafilatura's own format is the day alone).
DATE_PARAMS = {**set_date_params(extensive=True), "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def _site_name(tree: HtmlElement, metadata: Document) -> str | None:
    name = metadata.sitename or extract_sitename(tree)
    if name:
        name = name.lstrip("@")
        if name and "." not in name and not name[0].isupper():
            name = name.title()
        return name
    match = META_URL.match(metadata.url) if metadata.url else None
    return match[1] if match else None


def page_metadata(tree: HtmlElement, url: str | None) -> Document:
    """The metadata of a parsed page (`trafilatura.utils.load_html`); `tree` is left as it was."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as error:  # noqa: BLE001 - trafilatura's own guard: its JSON-LD reader has known bugs
        LOG.info("unreadable JSON-LD metadata on %s: %s", url, error)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or extract_author(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    metadata.date = find_date(tree, **{**DATE_PARAMS, "url": metadata.url})
    metadata.sitename = _site_name(tree, metadata)
    metadata.clean_and_trim()
    return metadata
