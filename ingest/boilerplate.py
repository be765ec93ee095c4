"""Lines that extraction leaves in an article body but that are not the article: a repeated headline near the top,
and whole lines of site furniture (advertisement labels, "read more" teasers, share and print prompts, copyright,
newsletter and cookie notices, paywall prompts, comment counters)."""

from __future__ import annotations

import re

# The headline is repeated in the first few lines only (above a standfirst, a byline or a photo caption).
TITLE_WINDOW = 5

# A whole line (after any list bullet) that is furniture, not prose. Teasers are capped in length so that a real
# paragraph starting with the same words is kept. English first, then the press languages mediamon watches most.
BOILERPLATE_LINE = re.compile(
    r"""^(?:
      advertisement|advertisements|advert|sponsored(?:\ content)?|anzeige|werbung|reklama|реклама|рэклама
    | (?:read|see)\ (?:more|also|next)\b.{0,200}
    | related(?:\ (?:articles?|stories|content|coverage|news|posts|links))?(?::.{0,200})?
    | more\ (?:on\ this\ story|stories|news)\b.{0,100}
    | don'?t\ miss\b.{0,100}
    | also\ on\ \S+\.\w+\b.{0,200}
    | share|share\ this(?:\ (?:article|story|post|page))?|share\ (?:on|via)\ \w+(?:\ \w+)?|tweet|e-?mail|print
    | print\ (?:this\ )?(?:article|page)|order\ reprints|text\ size|font\ size
    | comments?|\d+\ comments?|leave\ a\ (?:comment|reply)|tell\ us\ what\ you\ think\W*
    | like\ this\ (?:story|article)\?.{0,100}
    | (?:copyright\b[^.]{0,40}(?:©|\b(?:19|20)\d\d\b)|©|\(c\)\ ?(?:19|20)\d\d).{0,200}
    | .{0,150}all\ rights\ reserved\.?
    | follow\ .{0,80}\ on\ (?:twitter|facebook|instagram|youtube|linkedin|telegram)\b.{0,150}
    | (?:sign\ up|subscribe)\ (?:for|to)\ (?:our|the)\ .{0,40}newsletters?\b.{0,150}
    | thanks?\ (?:you\ )?for\ (?:signing\ up|subscribing)\W*.{0,100}
    | (?:we|this\ (?:site|website))\ uses?\ cookies\b.{0,300}
    | (?:accept|allow)\ (?:all\ )?cookies
    | (?:subscribe|log\ ?in|sign\ in)\ to\ (?:continue|read)\b.{0,150}
    | already\ a\ (?:subscriber|member)\?.{0,100}
    | this\ (?:article|story|content)\ is\ (?:only\ )?(?:for|available\ to|exclusive\ to)
      \ (?:paying\ )?(?:subscribers|members)(?:\ only)?\W*
    | subscribe\ (?:now|today)\b.{0,100}
    | (?:читайте|чытайце)\ (?:также|тоже|таксама)\b.{0,200}
    | поделиться|падзяліцца|поширити
    | (?:czytaj|zobacz)\ (?:także|też|również)\b.{0,200}
    | lesen\ sie\ (?:auch|mehr)\b.{0,200}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
BULLET = "-•*·–— \t"


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def is_boilerplate(line: str) -> bool:
    """Whether one line of extracted text is site furniture (see `BOILERPLATE_LINE`)."""
    return bool(BOILERPLATE_LINE.match(line.strip().lstrip(BULLET).strip()))


def clean_body(text: str, title: str) -> str:
    """The body without the headline repeated near its top and without boilerplate lines."""
    headline = _words(title)
    kept = []
    for number, line in enumerate(text.split("\n")):
        if headline and number < TITLE_WINDOW and _words(line) == headline:
            continue
        if is_boilerplate(line):
            continue
        kept.append(line)
    return "\n".join(kept).strip()
