import codecs

import pytest

from ingest.decode import declared_encodings, decode_text, looks_binary, looks_like_markup

RUSSIAN = (
    "<html><head><title>Новости</title></head><body><p>Президент Беларуси встретился с делегацией. "
    "В Минске прошли переговоры о сотрудничестве в области экономики, образования и культуры.</p></body></html>"
)


@pytest.mark.parametrize("label", [None, "utf-8", "iso-8859-1", "windows-1252", "us-ascii"])
def test_cp1251_survives_a_wrong_or_missing_label(label):
    text, encoding = decode_text(RUSSIAN.encode("cp1251"), label)
    assert encoding == "cp1251"
    assert text == RUSSIAN


def test_an_explicit_in_document_label_beats_the_header_default():
    html = RUSSIAN.replace("<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')
    text, encoding = decode_text(html.encode("koi8-r"), "ISO-8859-1")
    assert (encoding, text) == ("koi8-r", html)


def test_valid_utf8_wins_over_a_wrong_label():
    html = RUSSIAN.replace("<head>", '<head><meta charset="windows-1251">')
    assert decode_text(html.encode("utf-8"), "windows-1251") == (html, "utf-8")


def test_utf8_with_a_stray_byte_stays_utf8():
    text, encoding = decode_text(RUSSIAN.encode("utf-8") + b"\xff", "windows-1251")
    assert encoding == "utf-8"
    assert text.startswith(RUSSIAN)


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")])
def test_a_bom_decides(bom, codec):
    assert decode_text(bom + RUSSIAN.encode(codec), "iso-8859-1") == (RUSSIAN, codec)


def test_xml_declaration_is_read():
    feed = b'<?xml version="1.0" encoding="windows-1251"?><rss/>'
    assert declared_encodings(feed, "utf-8") == ["cp1251", "utf-8"]


def test_latin1_labels_mean_windows_1252():
    text, encoding = decode_text("<p>Le café coûte 2 € — très cher.</p>".encode("cp1252"), "ISO-8859-1")
    assert (text, encoding) == ("<p>Le café coûte 2 € — très cher.</p>", "cp1252")


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
        b"\xff\xd8\xff\xe0",
        b"<html>\0\0\0",
        b"PK\x03\x04",
    ],
)
def test_binary_is_sniffed(head):
    assert looks_binary(head)


@pytest.mark.parametrize("head", [b"<!doctype html>", "<p>текст</p>".encode("utf-16"), b"\n  <?xml version='1.0'?>"])
def test_text_is_not_binary(head):
    assert not looks_binary(head)


def test_markup_sniffing():
    assert looks_like_markup(b"\xef\xbb\xbf  <!DOCTYPE html>")
    assert looks_like_markup(b'{"version": "https://jsonfeed.org/version/1.1"}')
    assert not looks_like_markup(b"plain words")


FRENCH = "<p>Grève à la SNCF : trains supprimés jusqu'à vendredi, l'été sera chaud à Besançon.</p>"


@pytest.mark.parametrize(
    ("body", "declared", "header", "codec"),
    [
        (FRENCH.encode("latin-1"), "iso-8859-1", "windows-1251", "cp1252"),  # the header is wrong
        (RUSSIAN.encode("cp1251"), "iso-8859-1", "windows-1251", "cp1251"),  # the XML declaration is wrong
        (RUSSIAN.encode("koi8-r"), "koi8-r", "windows-1251", "koi8-r"),
    ],
)
def test_the_bytes_decide_between_labels_that_disagree(body: bytes, declared: str, header: str, codec: str):
    document = f'<?xml version="1.0" encoding="{declared}"?>'.encode() + body
    text, encoding = decode_text(document, header)
    assert encoding == codec
    assert text == document.decode(codec)
