"""Response bodies to text: binary sniffing, and charset detection that survives wrong or missing labels."""

from __future__ import annotations

import codecs
import re

try:
    from charset_normalizer import from_bytes
except ImportError:  # optional: it comes with trafilatura and htmldate
    from_bytes = None

SNIFF_BYTES = 1024

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",  # JPEG
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx, epub
    b"RIFF",  # webp, wav, avi
    b"\x1f\x8b",  # gzip inside the body
    b"OggS",
    b"ID3",  # mp3
    b"fLaC",
    b"wOFF",
    b"wOF2",
    b"\x7fELF",
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)["']""")
# Labels read as the encodings browsers really use for them (WHATWG Encoding Standard).
_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
# Labels servers send by default, so too weak to overrule a detector.
_WEAK = frozenset({"cp1252"})
# Without a BOM these are almost always a wrong label (and decode anything into garbage).
_UNTRUSTED = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


def _bom(content: bytes) -> tuple[bytes, str] | None:
    return next(((bom, name) for bom, name in _BOMS if content.startswith(bom)), None)


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a body are an image, PDF, archive or other binary, not text."""
    if _bom(head) is not None:
        return False
    return head.lstrip().startswith(_BINARY_MAGIC) or b"\0" in head[:SNIFF_BYTES]


def looks_like_markup(head: bytes) -> bool:
    """Whether a body of unknown type starts like HTML, XML or JSON (after a BOM and white space)."""
    bom = _bom(head)
    if bom is not None:
        head = head[len(bom[0]) :].decode(bom[1], "ignore").encode("utf-8")
    return head.lstrip()[:1] in (b"<", b"{")


def codec_of(label: str | bytes | None) -> str | None:
    """The codec a charset label means, read as browsers do (latin-1 is windows-1252); None if unknown."""
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def declared_encodings(content: bytes, header_charset: str | None) -> list[str]:
    """Codec names declared for a body: its XML declaration or meta charset first, then the HTTP header."""
    head = content[:4096]
    xml = _XML_ENCODING.match(head)
    meta = _META_CHARSET.search(head)
    labels = [xml[1] if xml else None, meta[1] if meta else None, header_charset]
    codecs_ = [codec for codec in map(codec_of, labels) if codec and codec not in _UNTRUSTED]
    return list(dict.fromkeys(codecs_))


def _mostly_utf8(content: bytes) -> bool:
    """Valid multi-byte UTF-8 with only a few broken sequences: a UTF-8 page with some stray bytes."""
    text = content.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    multibyte = len(text) - len(text.encode("ascii", "ignore")) - broken
    return multibyte > 0 and broken * 10 <= multibyte


def _detect(content: bytes, declared: list[str]) -> str | None:
    """charset_normalizer's guess; a declared codec that fits as well as the guess is kept (the first such)."""
    if from_bytes is None:
        return None
    matches = from_bytes(content)
    best = matches.best()
    if best is None:
        return None
    for codec in declared:
        for match in matches:
            if match.chaos <= best.chaos + 0.01 and codec in map(codec_of, match.could_be_from_charset):
                return codec
    return codec_of(best.encoding)


def decode_text(content: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Decode a body; returns (text, codec name).

    Order: a BOM; valid (or all but valid) UTF-8, whatever the labels say; the one label declared (in-document
    and header agreeing) if it decodes cleanly, unless it is a default like latin-1; otherwise the bytes decide
    between labels that disagree: charset_normalizer's guess, or a declared codec (in-document first) that fits
    as well; without a guess, the first label or UTF-8, with replacement characters.
    """
    bom = _bom(content)
    if bom is not None:
        return content[len(bom[0]) :].decode(bom[1], "replace"), bom[1]
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(content):
        return content.decode("utf-8", "replace"), "utf-8"
    declared = [codec for codec in declared_encodings(content, header_charset) if codec != "utf-8"]
    if len(declared) == 1 and declared[0] not in _WEAK:
        try:
            return content.decode(declared[0]), declared[0]
        except UnicodeDecodeError:
            pass
    codec = _detect(content, declared) or (declared[0] if declared else "utf-8")
    return content.decode(codec, "replace"), codec
