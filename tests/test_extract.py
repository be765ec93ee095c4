from datetime import date

from ingest.extract import extract_page

PARAGRAPHS = [
    "Protesters gathered again in the centre of Minsk on Sunday, marching towards the presidential palace "
    "while riot police blocked the main avenue and detained dozens of people.",
    "Organisers said the march was the largest in weeks. Witnesses described columns of people carrying "
    "white-red-white flags and singing as they walked past closed shops and metro stations.",
]
PAGE = f"""<!doctype html><html lang="en"><head><title>Minsk march | Example News</title>
<meta property="og:title" content="Thousands march in Minsk">
<meta name="description" content="A standfirst.">
<link rel="canonical" href="http://127.0.0.1/news/minsk-march.html">
<meta property="article:published_time" content="2020-09-06T18:00:00+03:00">
<meta name="author" content="Jane Reporter"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
<article><h1>Thousands march in Minsk</h1>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>
<aside><h2>Related</h2><ul><li><a href="/x">Weather: sunny week ahead</a></li></ul></aside>
<footer>Copyright Example News. All rights reserved.</footer></body></html>"""


def test_body_title_date_and_canonical_from_a_page():
    result = extract_page(PAGE, url="http://127.0.0.1/news/minsk-march.html?utm_source=x")
    assert result.title == "Thousands march in Minsk"
    assert PARAGRAPHS[0] in result.body and PARAGRAPHS[1] in result.body
    assert "Weather" not in result.body and "Copyright" not in result.body
    assert not result.body.startswith("Thousands march")
    assert result.published == date(2020, 9, 6)
    assert result.canonical_url == "http://127.0.0.1/news/minsk-march.html"
    assert result.authors == ("Jane Reporter",)
    assert result.status == "ok"


def test_a_teaser_page_is_short_and_garbage_is_empty():
    teaser = "<html><body><article><h1>T</h1><p>Only a teaser line for subscribers.</p></article></body></html>"
    assert extract_page(teaser).status in {"short", "empty"}
    assert extract_page(b"\x00\x01\x02 not html at all").status != "ok"
    assert extract_page("").status == "empty"
