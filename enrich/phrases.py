"""Find many multilingual phrases in a text with one compiled regex (a trie), folding case and diacritics.

Phrase syntax, shared by the entity gazetteer and the topic rules:
- matching ignores case and diacritics (`Lukašenka` = `Lukasenka`, `Łukaszenka` = `Lukaszenka`, `ў` = `у`,
  `й` = `и`, `ё` = `е`), and a phrase matches whole words only;
- `*` at the end of a word allows any word ending (`Лукашенк*` finds Лукашенко, Лукашенка, Лукашенку);
- a space matches any run of whitespace, a hyphen a hyphen, whitespace or nothing (`Wit-Rusland`);
- a phrase without lowercase letters is an acronym and matches in capitals only (`EU`, `ОБСЕ`);
- phrases compiled as capitalised (the generated aliases of a seed's entities, `enrich/seed_aliases.py`) that start
  with a capital match only where the text has that capital too: `Baku` finds Baku and BAKU, not the Polish
  `do baku` (into the tank); `Turkey` is not the bird.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

STAR = "\x00*"
SPACE = "\x00 "
HYPHEN = "\x00-"
END = "\x00$"

# Non-decomposable letters and punctuation variants folded by hand; every fold maps one character to one, so
# offsets in the folded text are offsets in the original.
_EXTRA_FOLDS = {
    "ł": "l",
    "Ł": "L",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    "`": "'",
    "´": "'",
    "‐": "-",
    "‑": "-",
    "\u00a0": " ",
}
_TOKEN_RE = {STAR: r"\w*", SPACE: r"\s+", HYPHEN: r"(?:-|\s+)?", END: r"(?!\w)"}
_MIN_STEM = 3
# Bound on remembered surface -> keys resolutions (surfaces repeat across articles; stems make them open-ended).
_CACHE_SIZE = 200_000


class PhraseError(ValueError):
    """A phrase that cannot be compiled."""


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in chain(range(0xC0, 0x250), range(0x1E00, 0x1F00), range(0x400, 0x500)):
        char = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            table[cp] = base
    table.update({ord(k): v for k, v in _EXTRA_FOLDS.items()})
    return table


FOLD_TABLE = _fold_table()


def fold(text: str) -> str:
    """`text` without diacritics and with plain apostrophes and hyphens, same length, case kept."""
    return text.translate(FOLD_TABLE)


def tokenize(phrase: str, *, capitalised: bool = False) -> list[str]:
    """The trie tokens of `phrase`; raises PhraseError on an empty phrase or a misplaced or too short stem.
    `capitalised`: a phrase that starts with a capital matches only a capital there."""
    text = " ".join(fold(phrase).split())
    if not any(c.isalnum() for c in text):
        raise PhraseError(f"phrase {phrase!r} has no letters or digits")
    if not text[0].isalnum():
        raise PhraseError(f"phrase {phrase!r} must start with a letter or digit")
    exact_case = any(c.isalpha() for c in text) and not any(c.islower() for c in text)
    tokens: list[str] = []
    word_len = 0
    for i, char in enumerate(text):
        if char == "*":
            if word_len < _MIN_STEM or (i + 1 < len(text) and text[i + 1] not in " -"):
                raise PhraseError(f"phrase {phrase!r}: '*' must end a word of at least {_MIN_STEM} letters")
            tokens.append(STAR)
        elif char == " ":
            tokens.append(SPACE)
        elif char == "-":
            tokens.append(HYPHEN)
        else:
            exact = exact_case or (capitalised and i == 0 and char.isupper())
            tokens.append(f"={char}" if exact and char.isalpha() else char.lower())
        word_len = word_len + 1 if char.isalnum() else 0
    if tokens[-1] in (SPACE, HYPHEN):
        raise PhraseError(f"phrase {phrase!r} must end with a letter, digit or '*'")
    tokens.append(END)
    return tokens


def _token_regex(token: str) -> str:
    if token in _TOKEN_RE:
        return _TOKEN_RE[token]
    if token.startswith("=") and len(token) == 2:
        return f"(?-i:{re.escape(token[1])})"
    return re.escape(token)


def _token_order(token: str) -> tuple[int, str]:
    # Longer matches first: characters and separators, then a stem's open ending, then the word end.
    return ({STAR: 1, END: 2}.get(token, 0), token)


def _trie_regex(phrases: Sequence[list[str]]) -> str:
    trie: dict = {}
    for tokens in phrases:
        node = trie
        for token in tokens:
            node = node.setdefault(token, {})

    def render(node: dict) -> str:
        alternatives = [_token_regex(tok) + render(node[tok]) for tok in sorted(node, key=_token_order)]
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    return render(trie)


@dataclass(frozen=True, slots=True)
class Hit:
    """One match: the keys of the phrases it stands for, its span in the text, the text it covers and, for each
    key, the phrase that matched."""

    keys: tuple[str, ...]
    start: int
    end: int
    surface: str
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Phrase:
    key: str
    text: str
    regex: re.Pattern[str]
    specificity: tuple[int, int]


class PhraseMatcher:
    """Compiled phrases, each under a key. Build once, then call `hits(text)` as often as needed.

    `capitalised`: the keys whose phrases are compiled capitalised (see `tokenize`).
    `overlapping=False` (entities): every stretch of text belongs to at most one phrase, the longest one that
    starts first, so `OSCE Minsk Group` hides the `Minsk` inside it. `overlapping=True` (topic terms): each
    word start yields its own hit, and a hit names every phrase that matches its first words.
    """

    def __init__(
        self,
        phrases: Mapping[str, Sequence[str]],
        *,
        overlapping: bool = False,
        capitalised: Collection[str] = frozenset(),
    ) -> None:
        self.overlapping = overlapping
        compiled: list[_Phrase] = []
        all_tokens: list[list[str]] = []
        for key, key_phrases in phrases.items():
            for phrase in key_phrases:
                tokens = tokenize(phrase, capitalised=key in capitalised)
                all_tokens.append(tokens)
                regex = re.compile("".join(_token_regex(t) for t in tokens), re.IGNORECASE)
                literal = sum(1 for t in tokens if not t.startswith("\x00"))
                compiled.append(_Phrase(key, phrase, regex, (literal, int(STAR not in tokens))))
        if not all_tokens:
            raise PhraseError("no phrases to compile")
        # Most specific first: resolution of a surface takes the first phrase (entities) or all (terms).
        compiled.sort(key=lambda p: p.specificity, reverse=True)
        self._phrases = tuple(compiled)
        body = _trie_regex(all_tokens)
        pattern = rf"(?<!\w)(?=({body}))" if overlapping else rf"(?<!\w){body}"
        self._regex = re.compile(pattern, re.IGNORECASE)
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}

    def _resolve(self, surface: str) -> tuple[tuple[str, str], ...]:
        # (key, phrase) of the phrases that match `surface` whole: the most specific only, unless overlapping.
        found = self._cache.get(surface)
        if found is not None:
            return found
        matched: list[tuple[str, str]] = []
        for phrase in self._phrases:
            if all(phrase.key != k for k, _ in matched) and phrase.regex.fullmatch(surface):
                matched.append((phrase.key, phrase.text))
                if not self.overlapping:
                    break
        found = tuple(matched)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[surface] = found
        return found

    def _prefix_keys(self, surface: str) -> tuple[tuple[str, str], ...]:
        # Every phrase that matches the surface's first words: `protest*` inside `protest march*`.
        ends = [m.start() for m in re.finditer(r"[\s-]+", surface)] + [len(surface)]
        found: list[tuple[str, str]] = []
        for end in ends:
            found.extend(kp for kp in self._resolve(surface[:end]) if all(kp[0] != k for k, _ in found))
        return tuple(found)

    def hits(self, text: str) -> Iterator[Hit]:
        """The phrase matches in `text`, in order of position."""
        folded = fold(text)
        if self.overlapping:
            for match in self._regex.finditer(folded):
                start, end = match.span(1)
                found = self._prefix_keys(folded[start:end])
                if found:
                    yield Hit(tuple(k for k, _ in found), start, end, text[start:end], tuple(p for _, p in found))
        else:
            for match in self._regex.finditer(folded):
                start, end = match.span()
                found = self._resolve(folded[start:end])
                if found:
                    yield Hit(tuple(k for k, _ in found), start, end, text[start:end], tuple(p for _, p in found))
