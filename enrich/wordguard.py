"""The common-word guard: a generated alias must not be a frequent word of any monitored language, and a stem
(`Пашинян*`) must not catch one.

Frequencies are wordfreq's (Zipf scale: 3 = once per million words, 2.5 = about 0.3), which count names too, so
"common" means more frequent than the name itself: `Macron` is frequent in French news because of the man, while
the Polish `zadanie` (task) is far more frequent than the Ukrainian writer Жадан, whose Polish spelling Żadan would
otherwise catch it. The lists load once per process (about a second per language).
"""

from __future__ import annotations

import bisect
import re
from functools import cache, lru_cache

from enrich.phrases import fold
from enrich.translit import is_cyrillic, key

COMMON_ZIPF = 2.5  # a word at least this frequent (about 0.3 per million words) is common
NAME_MARGIN = 0.5  # ... when it is also this much more frequent than the name itself
FREQUENT_ZIPF = 3.5  # a word a stem would catch is common from here on (3 per million), whatever the name's rank
TOP_WORDS = 100_000  # words per language searched for what a stem would catch
# wordfreq list of each language the guard reads: the generated languages and Italian, which the press monitored
# writes too (Belarusian has no list: Russian stands in).
LATIN_GUARD = ("en", "de", "fr", "it", "pl", "nl", "cs")
CYRILLIC_GUARD = ("ru", "uk")
# What may follow a stem and still be the name: adjectives and demonyms (Armeni* -> Armenian, Armenier, армянск...
# is not caught, but Карабах* -> карабахский is), and the Slavic -ov/-sk- derivatives of surnames.
DERIVATIONS = re.compile("^(ск|цк|ськ|ец|ц[ыі]|sk|ck|ian|ien|an|ans|er|isch|ese|ov|ow|ism|ist)")


@cache
def _sorted_words(lang: str) -> tuple[list[str], list[str]]:
    from wordfreq import top_n_list

    pairs = sorted((key(w), w) for w in top_n_list(lang, TOP_WORDS))
    return [p[0] for p in pairs], [p[1] for p in pairs]


@lru_cache(maxsize=65536)
def zipf(word: str, lang: str) -> float:
    """wordfreq's Zipf frequency of `word` in `lang` (Belarusian: Russian's)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "ru" if lang == "be" else lang)


def guard_languages(text: str) -> tuple[str, ...]:
    """The word lists a spelling is checked against: those of its script."""
    return CYRILLIC_GUARD if is_cyrillic(text) else LATIN_GUARD


def name_frequency(spellings: list[str]) -> float:
    """How frequent the name is: the highest frequency of any of its spellings in a language of its script."""
    return max([zipf(s, lang) for s in spellings for lang in guard_languages(s)], default=0.0)


def stem_catches(
    stem: str, endings: frozenset[str], known: set[str], name_zipf: float = 0.0
) -> list[tuple[str, str, float]]:
    """Common words (lang, word, zipf) the stem would match that are neither the name's forms (its `endings`, its
    other `known` spellings) nor derivatives: frequent words (FREQUENT_ZIPF), and rarer ones (from COMMON_ZIPF)
    more frequent than the name (`name_zipf`) by NAME_MARGIN. A country passes its own frequency, since a word as
    rare as a country's name is most likely a form of it (Азербайджан* -> азербайджанцев), while Franc* of France
    would catch Francis; a person or a place passes 0, so that Жадан* cannot catch the Ukrainian жадання."""
    s = key(stem)
    caught = []
    for lang in guard_languages(stem):
        keys, words = _sorted_words(lang)
        i = bisect.bisect_left(keys, s)
        while i < len(keys) and keys[i].startswith(s):
            rest = keys[i][len(s) :]
            # a single vowel more is the name's own ending (Лукашенк*: Лукашенко, Лукашенка)
            own = rest in endings or keys[i] in known or (len(rest) == 1 and rest in "aeiouyаеиоуыэюяі")
            if not own and not DERIVATIONS.match(rest):
                z = zipf(words[i], lang)
                if z >= FREQUENT_ZIPF or (z >= COMMON_ZIPF and z >= name_zipf + NAME_MARGIN):
                    caught.append((lang, words[i], z))
            i += 1
    return caught


def common_word(alias: str, name_zipf: float) -> tuple[str, float] | None:
    """(lang, zipf) where `alias` is a common word: frequent, and more frequent than the name itself."""
    best = None
    for lang in guard_languages(alias):
        z = max(zipf(alias, lang), zipf(fold(alias), lang))  # the matcher folds: Żadanie = zadanie
        if z >= COMMON_ZIPF and z >= name_zipf + NAME_MARGIN and (best is None or z > best[1]):
            best = (lang, z)
    return best
