"""HTML fragments (feed titles and summaries) to plain text: no tags, no comments, no script or style content,
entities decoded, whitespace tidied. What comes out is safe to store and to show once the renderer escapes it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is code or data, never text to show.
DROPPED = frozenset({"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math", "head"})
# Elements that end a line of text.
BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    | {"section", "article", "header", "footer", "figure", "figcaption", "dd", "dt", "hr"}
)
# Markup that can still be read as a tag after one pass (text that was escaped twice), as is or still escaped.
TAG_LIKE = re.compile(r"<\s*[/!?]?\s*[a-zA-Z]")
ESCAPED_TAG = re.compile(r"&(?:lt|#0*60|#x0*3c);\s*[/!?]?\s*[a-zA-Z]", re.IGNORECASE)
PASSES = 4


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropped_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self.dropped_depth += 1
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.dropped_depth = max(0, self.dropped_depth - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.dropped_depth:
            self.parts.append(data)


def _one_pass(value: str) -> str:
    collector = _TextCollector()
    collector.feed(value)
    collector.close()
    return "".join(collector.parts)


def plain_text(value: str, *, single_line: bool = False) -> str:
    """Text of an HTML fragment. Text that still looks like markup after decoding (escaped twice) is stripped
    again; `single_line` joins all lines (for titles), else paragraphs stay on their own lines."""
    text = value or ""
    for _ in range(PASSES):
        text = _one_pass(text)
        if not TAG_LIKE.search(text) and not ESCAPED_TAG.search(text):
            break
    else:  # still markup after several decodings: drop whole tags, then what starts a tag
        text = re.sub(r"<[^<>]*>", " ", text)
        text = ESCAPED_TAG.sub(" ", TAG_LIKE.sub(lambda match: match.group(0)[1:], text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    kept = [line for line in lines if line]
    return " ".join(kept) if single_line else "\n".join(kept)
