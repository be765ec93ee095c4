"""Feeds are decoded by the rules pages are (ingest/decode.py), so a wrong HTTP charset does not garble their titles."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ingest.feed_state import read_feed
from ingest.feeds import parse_feed
from ingest.fetch import Fetcher
from mediamon.core.feeds import FetchOutcome
from mediamon.core.settings import Settings
from tests.http_fixtures import LocalServer, Reply

FRENCH_GERMAN = [
    "Élection présidentielle : le débat télévisé tourne à l'échec",
    "Grève à la SNCF : trains supprimés jusqu'à vendredi",
    "Noël approche, les marchés de Strasbourg font le plein",
    "Météo : un été caniculaire prévu dans le Sud-Ouest",
    "À Besançon, l'hôpital manque de médecins et d'infirmières",
    "Straßenbahn in München fällt wegen Störung aus",
    "Bürgermeister kündigt Rücktritt nach Affäre an",
    "Überschwemmungen: Hilfe für die Gemeinden im Süden",
    "Größte Demonstration seit Jahren in Köln",
    "Fußball: Dortmund gewinnt gegen Nürnberg mit 3:0",
    "Ärzte warnen vor überfüllten Notaufnahmen",
    "Künstliche Intelligenz: Öffentliche Anhörung im Bundestag",
]
RUSSIAN = [
    "Президент Беларуси встретился с делегацией",
    "В Минске прошли переговоры о сотрудничестве",
    "Лукашенко и Путин обсудили экономику",
    "Студенты вышли на марш в центре столицы",
    "Задержаны участники акции протеста",
]


def rss(titles: list[str], encoding: str) -> bytes:
    """An RSS 2.0 feed of `titles` (each also its item's description), encoded and declared as `encoding`."""
    items = "".join(
        f"<item><title>{title}</title><link>http://127.0.0.1/news/{n}.html</link>"
        f"<description>{title}.</description></item>\n"
        for n, title in enumerate(titles)
    )
    document = f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel><title>News</title>\n'
    return (document + items + "</channel></rss>\n").encode(encoding)


CASES = {
    # a Latin-1 feed that says so in its XML declaration, served with a Cyrillic charset
    "latin-1 labelled windows-1251": (FRENCH_GERMAN, "iso-8859-1", "application/rss+xml; charset=windows-1251"),
    # a UTF-8 feed served with a server's latin-1 default
    "utf-8 labelled latin-1": (FRENCH_GERMAN + RUSSIAN, "utf-8", "application/rss+xml; charset=ISO-8859-1"),
    # a windows-1251 feed labelled right, in the header and the document
    "windows-1251 labelled right": (RUSSIAN, "windows-1251", "text/xml; charset=windows-1251"),
    "latin-1 labelled right": (FRENCH_GERMAN, "iso-8859-1", "application/rss+xml; charset=iso-8859-1"),
}
OVERRIDDEN = {"latin-1 labelled windows-1251", "utf-8 labelled latin-1"}


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    yield local
    local.close()


def overrides(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ingest.feeds" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("case", CASES)
def test_parse_feed_decodes_every_title(caplog: pytest.LogCaptureFixture, case: str):
    titles, encoding, content_type = CASES[case]
    with caplog.at_level(logging.WARNING, logger="ingest.feeds"):
        parsed = parse_feed(
            rss(titles, encoding),
            feed_url="http://127.0.0.1/feed.xml",
            source_id="s",
            headers={"content-type": content_type},
        )
    assert [entry.title for entry in parsed.entries] == titles
    assert [entry.summary for entry in parsed.entries] == [f"{title}." for title in titles]
    assert parsed.problem is None
    warnings = overrides(caplog)
    if case in OVERRIDDEN:
        assert len(warnings) == 1
        assert "http://127.0.0.1/feed.xml" in warnings[0] and content_type.split("=")[1].lower() in warnings[0]
    else:
        assert warnings == []


@pytest.mark.parametrize("case", CASES)
def test_a_fetched_feed_is_read_with_every_title_intact(
    server: LocalServer, caplog: pytest.LogCaptureFixture, case: str
):
    """The path of a run: the fetcher, then `read_feed` with the response headers it kept."""
    titles, encoding, content_type = CASES[case]
    server.route("/feed.xml", Reply(200, rss(titles, encoding), {"Content-Type": content_type}))
    settings = Settings(allow_hosts=["127.0.0.1"], host_min_interval=0.0, http_timeout=2.0)
    with Fetcher(settings) as fetcher, caplog.at_level(logging.WARNING, logger="ingest.feeds"):
        result = fetcher.fetch(server.url("/feed.xml"), kind="feed")
        poll, entries = read_feed(result, "s")
    assert result.headers["content-type"] == content_type
    assert poll.status is FetchOutcome.OK and poll.entries == len(titles)
    assert [entry.title for entry in entries] == titles
    assert len(overrides(caplog)) == (1 if case in OVERRIDDEN else 0)


def test_an_ascii_feed_under_any_ascii_compatible_label_is_no_override(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="ingest.feeds"):
        parsed = parse_feed(
            rss(["Plain news"], "us-ascii"),
            feed_url="http://127.0.0.1/feed.xml",
            source_id="s",
            headers={"Content-Type": "application/rss+xml; charset=windows-1251"},
        )
    assert [entry.title for entry in parsed.entries] == ["Plain news"]
    assert overrides(caplog) == []
