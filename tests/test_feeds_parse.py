from pathlib import Path

import pytest

from ingest.feeds import parse_feed
from ingest.plaintext import plain_text

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>http://127.0.0.1/a/1.html</link><guid>g1</guid>
<pubDate>Thu, 10 Sep 2020 08:00:00 +0000</pubDate><description>First &lt;b&gt;item&lt;/b&gt;</description></item>
<item><title>No link</title><guid>g2</guid></item>
<item><title>Future</title><link>http://127.0.0.1/a/3.html</link><pubDate>Mon, 01 Jan 2livestock</pubDate></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2020-09-14T10:00:00Z</updated>
<entry><title>Лукашенко в Сочи</title><link href="http://127.0.0.1/b/1.html"/><id>urn:b1</id>
<updated>2020-09-14T10:00:00Z</updated><summary>Встреча с Путиным</summary></entry>
</feed>""".encode()


def test_rss_entries_with_links_dates_and_clean_summaries():
    parsed = parse_feed(RSS, feed_url="http://127.0.0.1/feed", source_id="a")
    assert [e.title for e in parsed.entries] == ["One", "Future"]
    first = parsed.entries[0]
    assert first.published is not None and first.published.isoformat() == "2020-09-10T08:00:00+00:00"
    assert first.guid == "g1" and first.source_id == "a"
    assert parsed.entries[1].published is None
    assert len(parsed.body_hash) == 64


def test_atom_in_cyrillic():
    parsed = parse_feed(ATOM, feed_url="http://127.0.0.1/atom", source_id="b")
    assert parsed.problem is None
    assert parsed.entries[0].title == "Лукашенко в Сочи"
    assert parsed.entries[0].summary == "Встреча с Путиным"


def test_broken_xml_still_yields_entries_and_is_reported():
    broken = RSS.replace(b"</channel></rss>", b"<item><title>x</title>")
    parsed = parse_feed(broken, feed_url="http://127.0.0.1/feed", source_id="a")
    assert parsed.bozo and parsed.problem.startswith("ill-formed feed")
    assert len(parsed.entries) >= 2


def test_html_served_as_a_feed_is_not_a_feed():
    parsed = parse_feed(b"<html><body><p>Hello</p></body></html>", feed_url="http://127.0.0.1/x", source_id="a")
    assert parsed.entries == ()
    assert parsed.problem


def test_a_body_naming_a_local_file_is_not_read(tmp_path: Path):
    local = tmp_path / "feed.xml"
    local.write_bytes(RSS)
    parsed = parse_feed(str(local).encode(), feed_url="http://127.0.0.1/x", source_id="a")
    assert parsed.entries == ()
    assert parsed.problem


def test_empty_feed_is_reported():
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
    parsed = parse_feed(empty, feed_url="http://127.0.0.1/e", source_id="a")
    assert parsed.entries == () and parsed.problem == "feed has no entries"


HOSTILE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title>
<item><title>Tom &amp;amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;win&lt;/b&gt;</title>
<link>http://127.0.0.1/h/1.html</link>
<description><![CDATA[<p>First <a href="javascript:alert(1)" onclick="steal()">para</a>.</p>
<script>document.write('x')</script><iframe src="http://evil.example/"></iframe>
<p>Second &amp;lt;img src=x onerror=alert(1)&amp;gt; para &mdash; end.</p>
<!-- <script>hidden</script> -->]]></description>
</item>
<item><title>Bad link</title><link>javascript:alert(1)</link></item>
</channel></rss>"""


def test_titles_and_summaries_are_stored_as_plain_text():
    parsed = parse_feed(HOSTILE, feed_url="http://127.0.0.1/feed", source_id="a")
    assert [e.url for e in parsed.entries] == ["http://127.0.0.1/h/1.html"]
    entry = parsed.entries[0]
    assert entry.title == "Tom & Jerry win"
    assert entry.summary == "First para.\nSecond para \u2014 end."
    for text in (entry.title, entry.summary):
        assert "<" not in text and "javascript" not in text and "alert" not in text


def test_rss_summary_markup_is_stripped():
    assert parse_feed(RSS, feed_url="http://127.0.0.1/feed", source_id="a").entries[0].summary == "First item"


@pytest.mark.parametrize(
    ("html", "single_line", "text"),
    [
        ("<p>One</p>\n<p>Two <b>bold</b></p>", False, "One\nTwo bold"),
        ("<p>One</p>\n<p>Two</p>", True, "One Two"),
        ("AT&amp;T &amp; 3 &lt; 4", True, "AT&T & 3 < 4"),
        ("&lt;style&gt;p {}&lt;/style&gt;Text", True, "Text"),
        (
            "\u041b\u0443\u043a\u0430\u0448\u0435\u043d\u043a\u043e &mdash; \u041f\u0443\u0442\u0438\u043d",
            True,
            "\u041b\u0443\u043a\u0430\u0448\u0435\u043d\u043a\u043e \u2014 \u041f\u0443\u0442\u0438\u043d",
        ),
    ],
)
def test_plain_text(html: str, single_line: bool, text: str):
    assert plain_text(html, single_line=single_line) == text
