import hashlib

import pytest

from mediamon.core.urls import article_id, canonical_url, is_tracking_param


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a/b/?b=2&a=1#frag", "http://example.com/a/b/?a=1&b=2"),
        ("https://www.bbc.com/news/x?ref=tw&at_medium=1&id=5", "https://www.bbc.com/news/x?id=5"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/x?", "https://example.com/x"),
        ("https://example.com:8443/A?CID=3", "https://example.com:8443/A?CID=3"),
        ("https://user:secret@Example.com./x", "https://example.com/x"),
        ("https://example.com//a//b", "https://example.com/a/b"),
        ("https://example.com/%7euser/%d0%b1", "https://example.com/~user/%D0%B1"),
        ("https://example.com/a?z=1&a=2&a=1", "https://example.com/a?a=2&a=1&z=1"),
        ("https://example.com/news.php?12345", "https://example.com/news.php?12345="),
        ("https://example.com/a?x=1&amp;y=2", "https://example.com/a?x=1&y=2"),
        ("  https://example.com/a?p=7  ", "https://example.com/a?p=7"),
        ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("https://xn--bcher-kva.de/x", "https://bücher.de/x"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "param",
    [
        "utm_source=rss",
        "UTM_Campaign=x",
        "utm_medium=feed",
        "fbclid=IwAR0",
        "gclid=abc",
        "mc_cid=1",
        "mc_eid=2",
        "ref=twitter",
        "at_medium=social",
        "_ga=2.1",
        "yclid=9",
        "igshid=q",
        "msclkid=m",
        "ns_campaign=bbc",
        "pk_kwd=x",
    ],
)
def test_tracking_parameters_are_dropped(param):
    assert canonical_url(f"https://example.com/story?id=42&{param}") == "https://example.com/story?id=42"


@pytest.mark.parametrize("name", ["id", "p", "page", "cid", "source", "article", "reference", "lang"])
def test_content_parameters_are_kept(name):
    assert not is_tracking_param(name)
    assert canonical_url(f"https://example.com/a?{name}=1") == f"https://example.com/a?{name}=1"


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://Example.COM:80/a/b/?b=2&a=1&utm_source=x#frag",
        "https://example.com/%7euser/a;b?q=a+b&r=x%20y",
        "https://xn--bcher-kva.de/x?b=&a",
    ],
)
def test_canonical_url_is_idempotent(url):
    once = canonical_url(url)
    assert canonical_url(once) == once


@pytest.mark.parametrize("url", ["", "/relative/path", "mailto:a@example.com", "ftp://example.com/x", "https://"])
def test_canonical_url_refuses_what_is_not_an_absolute_http_url(url):
    with pytest.raises(ValueError):
        canonical_url(url)


def test_article_id_is_a_hash_of_the_canonical_url():
    url = "https://example.com/story?id=42&utm_source=rss#comments"
    expected = hashlib.sha256(b"https://example.com/story?id=42").hexdigest()[:32]
    assert article_id(url) == expected
    assert article_id("HTTPS://EXAMPLE.com:443/story?fbclid=x&id=42") == expected


def test_different_articles_get_different_ids():
    ids = {article_id(f"https://example.com/story?id={n}") for n in range(100)}
    ids |= {article_id("https://example.com/story"), article_id("http://example.com/story?id=1")}
    assert len(ids) == 102
