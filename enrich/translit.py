"""Names between Cyrillic and Latin in the press conventions of each language, both ways.

Three directions, all on one word (a surname or a place; `enrich/aliases.py` splits names and adds case forms):
- Cyrillic to Cyrillic: a Russian, Ukrainian or Belarusian spelling to the other two, by a few spelling rules
  (ы/и/і, -ский/-ський/-скі, ов/оў, the Belarusian цеканне and дзеканне, akanye variants since stress is unknown).
- Cyrillic to Latin, every press convention of en/de/fr/pl/nl/cs: the maintained libraries where they have the
  convention — iuliia for Russian (WIKIPEDIA and BGN_PCGN for English, MVD_310_FR for French), translitua for
  Ukrainian (KMU and BGN for English, its German and French tables), latynkatar for Belarusian (the Łacinka's old
  rules for Polish, new rules for Czech) — and small tables of ours for the rest (German, Polish, Dutch and Czech
  spellings of Russian names, `_BASE`).
- Latin to Cyrillic: the Cyrillic spellings whose romanisation under some scheme above gives back the input, found
  by a beam search over Cyrillic letters guided by those same forward schemes (so there are no reverse tables) and
  ranked by a letter-trigram model of each language built from wordfreq's word lists.

Spellings are returned title-cased (`Tichanowskaja`); lowercase Cyrillic goes in.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import iuliia
import latynkatar
import translitua

from enrich.phrases import fold

CYR_LANGS = ("ru", "uk", "be")
LAT_LANGS = ("en", "de", "fr", "pl", "nl", "cs")
MAX_READINGS = 3  # Cyrillic readings of a Latin input reported
RU_PRIOR = 2.0  # log-probability bonus of a Russian reading over a Ukrainian or Belarusian one
TRIGRAM_WORDS = 100_000  # words per language the trigram model is built from

VOWELS = set("аеёиоуыэюяіїє")
SIGNS = set("ьъ'")
HUSHERS = set("жшчщц")
ALPHABET = {
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'",
    "be": "абвгдеёжзійклмнопрстуўфхцчшыьэюя'",
}


# --- small helpers ------------------------------------------------------------------------------------------
def is_cyrillic(text: str) -> bool:
    """Whether `text` has a Cyrillic letter."""
    return any("\u0400" <= c <= "\u04ff" for c in text)


def key(alias: str) -> str:
    """What the matcher sees: folded, lowercased."""
    return fold(alias).lower()


def title(word: str) -> str:
    """Each hyphenated part capitalised, the rest as it is."""
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def clean_latin(text: str) -> str:
    """Drop the prime/apostrophe marks of soft signs (Naval’nyy, Navalʹnyy), BGN's middle dot, tie bars."""
    text = re.sub(r"[’'ʹʼ`·\u0361]", "", text)
    return text


def dedupe(items: Iterable[str]) -> list[str]:
    """`items` in order, without repeats as the matcher sees them (case and diacritics ignored)."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        k = key(item)
        if item and k not in seen:
            seen.add(k)
            out.append(item)
    return out


def cyr_language(word: str) -> str:
    """ru, uk or be from the letters a Cyrillic word uses (a guess; pass `lang` when known)."""
    w = word.lower()
    if re.search("[ўэ]", w) or ("і" in w and "ы" in w) or "дз" in w and "і" in w:
        return "be"
    if re.search("[їєґ]", w) or ("і" in w and "и" in w) or re.search("[сц]ьк(а|ий|ого|ої)?$", w):
        return "uk"
    if "і" in w:  # і alone: Belarusian feminine -ава/-ава or masculine -аў, else Ukrainian
        return "be" if re.search("(ава|аў|ка)$", w) or "ы" in w else "uk"
    return "ru"


# --- Cyrillic to Cyrillic -------------------------------------------------------------------------------------
def _endings(word: str, table: list[tuple[str, str]]) -> str:
    for old, new in table:
        if word.endswith(old):
            return word[: len(word) - len(old)] + new
    return word


def ru_to_uk(word: str) -> list[str]:
    w = word.lower()
    w = _endings(w, [("ский", "ський"), ("цкий", "цький"), ("ская", "ська"), ("цкая", "цька"), ("ый", "ий")])
    w = re.sub("^е", "є", w)
    w = w.replace("ие", "іє").replace("ия", "ія").replace("ию", "ію").replace("ъ", "'").replace("э", "е")
    w = re.sub("(?<=[бвгджзклмнпрстфхцчшщ])ё", "ьо", w).replace("ё", "йо")
    plain = w.replace("ы", "и")
    # Russian и is и in Slavic names (Тихановська) and і in many others (Путін, Алієв): both.
    soft = re.sub("(?<![жшчщц])и(?!й$)", "і", plain)
    return dedupe([plain, soft])


def ru_to_be(word: str) -> list[str]:
    w = word.lower()
    w = _endings(w, [("ский", "скі"), ("цкий", "цкі"), ("ый", "ы"), ("ий", "і")])
    w = w.replace("щ", "шч").replace("ъ", "'")
    w = re.sub("(?<=[жшчцр])и", "ы", w).replace("и", "і")  # hard consonants first: ц from цеканне is soft
    w = re.sub("(?<=[жшчцр])е", "э", w)
    w = re.sub("т(?=[еёюяіь])", "ц", w)  # цеканне
    w = re.sub("д(?=[еёюяіь])", "дз", w)  # дзеканне
    w = re.sub(f"(?<=[{''.join(VOWELS)}])в(?![{''.join(VOWELS)}])", "ў", w)  # оў, аў, еў
    # akanye: unstressed о is а; stress unknown, so every о -> а, and each о kept in turn (the stressed one).
    positions = [i for i, c in enumerate(w) if c == "о"]
    variants = ["".join("а" if c == "о" else c for c in w)]
    for keep in positions[:4]:
        variants.append("".join("а" if c == "о" and i != keep else c for i, c in enumerate(w)))
    return dedupe(variants)


def uk_to_ru(word: str) -> list[str]:
    w = word.lower()
    w = _endings(w, [("ський", "ский"), ("цький", "цкий"), ("ська", "ская"), ("цька", "цкая")])
    w = w.replace("'", "ъ").replace("ʼ", "ъ").replace("ї", "йи").replace("є", "е").replace("ґ", "г")
    w = w.replace("і", "и")
    return [w]


def be_to_ru(word: str) -> list[str]:
    w = word.lower()
    w = _endings(
        w,
        [("скі", "ский"), ("цкі", "цкий"), ("энка", "енко"), ("ава", "ова"), ("аў", "ов"), ("оў", "ов"), ("еў", "ев")],
    )
    w = w.replace("ў", "в").replace("шч", "щ").replace("'", "ъ").replace("і", "и").replace("э", "е")
    out = [w]
    if re.search("ц(?=[еёюяиь])", w):  # цеканне back: Ціханоўская -> Тихановская (and Цихановская)
        out.append(re.sub("ц(?=[еёюяиь])", "т", w))
    out += [v.replace("дз", "д") for v in list(out) if "дз" in v]
    return dedupe(out)


def cyrillic_forms(word: str, lang: str) -> dict[str, list[str]]:
    """ru/uk/be spellings of a Cyrillic word written in `lang`; the input's own language first."""
    w = word.lower()
    if lang == "ru":
        ru = [w]
    elif lang == "uk":
        ru = uk_to_ru(w)
    else:
        ru = be_to_ru(w)
    forms = {"ru": ru, "uk": [], "be": []}
    for r in ru:
        forms["uk"] += ru_to_uk(r)
        forms["be"] += ru_to_be(r)
    forms[lang] = [w]  # the language it is written in: as written, nothing derived
    return {k: dedupe(v) for k, v in forms.items()}


# --- Cyrillic to Latin: our tables where no library has the convention ------------------------------------------
# Per target: base letters; the iotated vowels as (after a consonant, initially / after a vowel or sign);
# per-source overrides. Context rules (Polish ł/l and ie, German ss, endings) are in `romanize_own`.
_LETTERS = "абвгдзийклмнопрстуфхцчшщыэіўґж"


def _letters(latin: str) -> dict[str, str]:
    return dict(zip(_LETTERS, latin.split(), strict=True))


_BASE = {
    "de": _letters("a b w g d s i j k l m n o p r s t u f ch z tsch sch schtsch y e i u g sch"),
    "pl": _letters("a b w g d z i j k ł m n o p r s t u f ch c cz sz szcz y e i u g ż"),
    "nl": _letters("a b v g d z i j k l m n o p r s t oe f ch ts tsj sj sjtsj y e i oe g zj"),
    "cs": _letters("a b v g d z i j k l m n o p r s t u f ch c č š šč y e i u g ž"),
    "en": _letters("a b v g d z i i k l m n o p r s t u f kh ts ch sh shch y e i u g zh"),
    "fr": _letters("a b v g d z i ï k l m n o p r s t ou f kh ts tch ch chtch y e i ou g j"),
}
_IOT = {  # е ё ю я є ї -> (after consonant, elsewhere)
    "de": {
        "е": ("e", "je"),
        "ё": ("jo", "jo"),
        "ю": ("ju", "ju"),
        "я": ("ja", "ja"),
        "є": ("je", "je"),
        "ї": ("ji", "ji"),
    },
    "pl": {
        "е": ("ie", "je"),
        "ё": ("io", "jo"),
        "ю": ("iu", "ju"),
        "я": ("ia", "ja"),
        "є": ("ie", "je"),
        "ї": ("ji", "ji"),
    },
    "nl": {
        "е": ("e", "je"),
        "ё": ("jo", "jo"),
        "ю": ("joe", "joe"),
        "я": ("ja", "ja"),
        "є": ("je", "je"),
        "ї": ("ji", "ji"),
    },
    "cs": {
        "е": ("e", "je"),
        "ё": ("jo", "jo"),
        "ю": ("ju", "ju"),
        "я": ("ja", "ja"),
        "є": ("je", "je"),
        "ї": ("ji", "ji"),
    },
    "en": {
        "е": ("e", "ye"),
        "ё": ("io", "yo"),
        "ю": ("iu", "yu"),
        "я": ("ia", "ya"),
        "є": ("ie", "ye"),
        "ї": ("i", "yi"),
    },
    "fr": {
        "е": ("e", "ie"),
        "ё": ("io", "io"),
        "ю": ("iou", "iou"),
        "я": ("ia", "ia"),
        "є": ("ie", "ie"),
        "ї": ("ï", "ï"),
    },
}
_SOURCE = {"uk": {"и": "y", "г": "h"}, "be": {"г": "h"}}  # Ukrainian и is y, Ukrainian/Belarusian г is h
_SOURCE_TARGET = {("uk", "en"): {"и": "y"}, ("be", "en"): {"й": "i"}, ("uk", "fr"): {"и": "y"}}
# Latin endings of the target language (applied to the whole romanised word).
_LATIN_ENDINGS = {
    "de": [("skii", "ski"), ("zkii", "zki"), ("yi", "y"), ("ii", "i")],
    "pl": [
        ("skij", "ski"),
        ("ckij", "cki"),
        ("skyj", "ski"),
        ("ckyj", "cki"),
        ("skaja", "ska"),
        ("ckaja", "cka"),
        ("yj", "y"),
        ("ij", "i"),
        ("naja", "na"),
        ("laja", "la"),
        ("raja", "ra"),
        ("taja", "ta"),
    ],
    "nl": [("skij", "ski"), ("yj", "y"), ("ij", "i")],
    "cs": [
        ("skaja", "ská"),
        ("ckaja", "cká"),
        ("ska", "ská"),
        ("cka", "cká"),
        ("naja", "ná"),
        ("laja", "lá"),
        ("raja", "rá"),
        ("taja", "tá"),
    ],
    "en": [("skiy", "ski"), ("yy", "y")],
    "fr": [("skiï", "ski"), ("yï", "y"), ("aïa", "aïa")],
}


def romanize_own(word: str, src: str, tgt: str, *, zh: str | None = None) -> str:
    """`word` (lowercase Cyrillic of language `src`) in the press convention of `tgt`, by our table."""
    base = dict(_BASE[tgt])
    base.update(_SOURCE.get(src, {}))
    base.update(_SOURCE_TARGET.get((src, tgt), {}))
    if zh:
        base["ж"] = zh
    iot = _IOT[tgt]
    w = word.lower()
    out: list[str] = []
    for i, c in enumerate(w):
        prev = w[i - 1] if i else ""
        nxt = w[i + 1] if i + 1 < len(w) else ""
        after_consonant = bool(prev) and prev not in VOWELS and prev not in SIGNS and prev != "й"
        if c in iot:
            soft, hard = iot[c]
            if tgt == "pl" and after_consonant and (prev in HUSHERS or prev == "р" or (src == "uk" and c == "е")):
                soft = {"ie": "e", "io": "o", "iu": "u", "ia": "a"}.get(soft, soft)
            if tgt == "pl" and prev == "л":
                soft = {"ie": "e", "io": "o", "iu": "u", "ia": "a", "je": "e", "ji": "i"}.get(soft, soft)
            if tgt in ("de", "cs") and c == "ё" and prev in HUSHERS:
                soft = "o"
            out.append(soft if after_consonant else hard)
        elif c in SIGNS:
            if tgt == "pl" and c == "ь" and prev in "нсзтдц" and nxt not in ("к", ""):
                out[-1] = {"n": "ń", "s": "ś", "z": "ź", "t": "ć", "d": "dź", "c": "ć"}.get(out[-1], out[-1])
            elif c == "ь" and nxt == "о":
                out.append("j" if tgt in ("de", "pl", "nl", "cs") else "y")
            continue
        elif c == "л" and tgt == "pl":
            out.append("l" if nxt in ("еёюяиіьє" if src != "uk" else "ёюяіьєї") else "ł")
        elif c == "и" and tgt == "pl" and src != "uk" and prev in "жшцчщ":
            out.append("y")
        elif c == "с" and tgt == "de" and prev in VOWELS and nxt in VOWELS:
            out.append("ss")
        elif c == "й" and (
            (tgt == "de" and (not nxt or nxt not in VOWELS)) or (tgt == "fr" and (not prev or prev not in VOWELS))
        ):
            out.append("i")
        else:
            out.append(base.get(c, c))
    latin = "".join(out)
    for old, new in _LATIN_ENDINGS.get(tgt, []):
        if latin.endswith(old):
            latin = latin[: len(latin) - len(old)] + new
            break
    if tgt == "cs" and re.search("(ova|eva|ina|yna)$", latin):
        latin = latin[:-1] + "ová"  # Czech press: Kolesnikovová
    return title(latin)


# --- Cyrillic to Latin: the library schemes -------------------------------------------------------------------
def _iuliia(schema) -> Callable[[str], str]:
    return lambda w: clean_latin(schema.translate(w))


def _translitua(table) -> Callable[[str], str]:
    return lambda w: clean_latin(translitua.translit(w, table))


def _latynkatar(old: bool) -> Callable[[str], str]:
    def convert(w: str) -> str:
        latin = latynkatar.CyrLatConverter(w).convert(old_rules=old)
        latin = latin.replace("ŭ", "u").replace("Ŭ", "U")
        if old:  # Polish press: -aja -> -a (Cichanouska), -ski stays
            latin = re.sub("aja$", "a", latin)
        else:  # Czech press: Cichanouská, Kalesnikavová
            latin = re.sub("aja$", "á", latin)
            if re.search("(ava|ova)$", latin):
                latin = latin[:-1] + "ová"
        return latin

    return convert


def _fr_fix(latin: str) -> list[str]:
    """French press spellings from the MVD_310_FR (passport) output: -aia -> -aïa, -ii/-yi -> -i/-y."""
    out = []
    fixed = re.sub("(?<=[aeou])ia$", "ïa", latin)
    fixed = re.sub("ii$", "i", fixed)
    fixed = re.sub("yi$", "y", fixed)
    out += [fixed, latin]
    if latin.endswith("ii"):
        out.append(latin[:-2] + "y")
    return out


def _en_simplified_uk(latin: str) -> list[str]:
    return [latin, re.sub("yi$", "y", latin)]


# (source language, target language) -> list of (scheme name, function(lowercase Cyrillic) -> Latin spellings)
def _own(src: str, tgt: str, **kw) -> Callable[[str], list[str]]:
    return lambda w: [romanize_own(w, src, tgt, **kw)]


def _x_variants(latins: list[str], ks: str = "ks") -> list[str]:
    """The press writes кс as x in many names (Alexievich, Alexijewitsch): add that spelling."""
    return latins + [re.sub(ks, "x", x) for x in latins if ks in x.lower()[1:]]


def _en_press(latin: str) -> list[str]:
    """English press variants of a Wikipedia-style romanisation: x for ks, -ie- for -iye-, E- for Ye-."""
    out = _x_variants([latin])
    out += [re.sub("(?<=[aeiou])ye", "e", x) for x in out]
    out += [re.sub("^Ye", "E", x) for x in out]
    return out


SCHEMES: dict[tuple[str, str], list[tuple[str, Callable[[str], list[str]]]]] = {
    ("ru", "en"): [
        ("iuliia WIKIPEDIA", lambda w: [_iuliia(iuliia.WIKIPEDIA)(w)]),
        ("iuliia WIKIPEDIA variant press", lambda w: _en_press(title(_iuliia(iuliia.WIKIPEDIA)(w)))),
        ("iuliia BGN_PCGN", lambda w: [_iuliia(iuliia.BGN_PCGN)(w)]),
    ],
    ("ru", "fr"): [("iuliia MVD_310_FR", lambda w: _fr_fix(_iuliia(iuliia.MVD_310_FR)(w)))],
    ("ru", "de"): [
        ("own de", _own("ru", "de")),
        ("own de variant ж=sh", _own("ru", "de", zh="sh")),
        ("own de variant ks=x", lambda w: _x_variants([romanize_own(w, "ru", "de")])),
    ],
    ("ru", "pl"): [("own pl", _own("ru", "pl"))],
    ("ru", "nl"): [
        ("own nl", _own("ru", "nl")),
        ("own nl variant ks=x", lambda w: _x_variants([romanize_own(w, "ru", "nl")])),
    ],
    ("ru", "cs"): [
        ("own cs", _own("ru", "cs")),
        ("own cs variant unfeminised", lambda w: [re.sub("ová$", "a", romanize_own(w, "ru", "cs"))]),
    ],
    ("uk", "en"): [
        ("translitua KMU", lambda w: [_translitua(translitua.UkrainianKMU)(w)]),
        ("translitua KMU variant simplified", lambda w: _en_simplified_uk(_translitua(translitua.UkrainianKMU)(w))),
        ("translitua BGN", lambda w: [_translitua(translitua.UkrainianBGN)(w)]),
    ],
    ("uk", "fr"): [("translitua UkrainianFrench", lambda w: [_translitua(translitua.UkrainianFrench)(w)])],
    ("uk", "de"): [
        ("translitua UkrainianGerman", lambda w: [_translitua(translitua.UkrainianGerman)(w)]),
        ("own de", _own("uk", "de")),
    ],
    ("uk", "pl"): [("own pl", _own("uk", "pl"))],
    ("uk", "nl"): [("own nl", _own("uk", "nl"))],
    ("uk", "cs"): [("own cs", _own("uk", "cs"))],
    ("be", "en"): [("own en (Belarusian passport style)", _own("be", "en"))],
    ("be", "fr"): [("own fr", lambda w: [re.sub("(?<=[aeiou])ya$", "ïa", romanize_own(w, "be", "en"))])],
    ("be", "de"): [("own de", _own("be", "de"))],
    ("be", "pl"): [("latynkatar old rules", lambda w: [_latynkatar(True)(w)]), ("own pl", _own("be", "pl"))],
    ("be", "nl"): [("own nl", lambda w: [romanize_own(w, "be", "nl").replace("ooe", "oe")])],
    ("be", "cs"): [("latynkatar new rules", lambda w: [_latynkatar(False)(w)]), ("own cs", _own("be", "cs"))],
}


def romanize(word: str, src: str, tgt: str) -> list[str]:
    """Every press spelling of the Cyrillic `word` (language `src`) in target language `tgt`."""
    w = word.lower()
    out: list[str] = []
    for _, scheme in SCHEMES[(src, tgt)]:
        out += [title(s) for s in scheme(w) if s]
    return dedupe(out)


# --- Latin to Cyrillic: search guided by the forward schemes ------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    cyrillic: str  # lowercase
    lang: str  # ru, uk, be
    target: str  # the convention the input matched: en, de, ...
    scheme: str


def _consistent(latin_prefix: str, target: str, slack: int) -> bool:
    return target.startswith(latin_prefix[: max(0, len(latin_prefix) - slack)])


def _norm(latin: str, folded: bool) -> str:
    latin = clean_latin(unicodedata.normalize("NFC", latin)).lower()
    return key(latin) if folded else latin


def cyrillic_readings(latin: str, *, beam: int = 60) -> list[Reading]:
    """Cyrillic spellings (ru/uk/be) whose romanisation under some scheme is `latin`, most plausible first.

    Exact spelling first (Łukaszenka is Polish, Lukašenka Czech); if nothing matches, diacritics are ignored."""
    for folded in (False, True):
        found = _search(_norm(latin, folded), folded, beam)
        if found:
            # a soft or hard sign that changes nothing in the spelling is not evidence: drop such readings
            plain = {(re.sub("[ьъ']", "", r.cyrillic), r.lang) for r in found if not re.search("[ьъ']", r.cyrillic)}
            found = [
                r
                for r in found
                if not re.search("[ьъ']", r.cyrillic) or (re.sub("[ьъ']", "", r.cyrillic), r.lang) not in plain
            ]
            # Polish -ska, Czech -ská stand for -ская: with both readings found, the feminine adjective wins
            names = {(r.cyrillic, r.lang) for r in found}
            found = [r for r in found if not (re.search("[сц]ка$", r.cyrillic) and (r.cyrillic + "я", r.lang) in names)]
            # Russian is the default reading of a Latin spelling: uk/be must be clearly more plausible to win
            return sorted(
                found, key=lambda r: -(plausibility(r.cyrillic, r.lang) + (RU_PRIOR if r.lang == "ru" else 0))
            )
    return []


def _search(target: str, folded: bool, beam: int) -> list[Reading]:
    found: dict[tuple[str, str], Reading] = {}
    targets = conventions(target)
    for (src, tgt), schemes in SCHEMES.items():
        if tgt not in targets:
            continue
        for name, scheme in schemes:
            if "variant" in name and "press" not in name:  # forward-only variants (German ж = sh) add ambiguity
                continue
            cache: dict[str, list[str]] = {}

            def rom(cyr: str, scheme=scheme, cache=cache) -> list[str]:
                if cyr not in cache:
                    cache[cyr] = [_norm(s, folded) for s in scheme(cyr)]
                return cache[cyr]

            frontier = [""]
            for _ in range(len(target) + 2):
                nxt: list[str] = []
                for prefix in frontier:
                    for letter in ALPHABET[src]:
                        if letter in SIGNS and (not prefix or prefix[-1] in VOWELS or prefix[-1] in SIGNS):
                            continue
                        cand = prefix + letter
                        outs = rom(cand)
                        if any(_consistent(r, target, 1) for r in outs):
                            nxt.append(cand)
                            own = OWN_LETTERS[src].search(cand) and not BAD_ENDING[src].search(cand)
                            if target in outs and own:
                                found.setdefault((cand, src), Reading(cand, src, tgt, name))
                # keep the most plausible prefixes
                nxt.sort(key=lambda c: -plausibility(c, src, prefix_only=True))
                frontier = nxt[:beam]
                if not frontier:
                    break
    return list(found.values())


@cache
def _ngrams(lang: str) -> tuple[dict[str, int], dict[str, int]]:
    """Letter trigram and bigram counts (word edges ^ $) over the language's 100,000 commonest words (wordfreq;
    Belarusian: the Russian list with Belarusian spelling for the letters that differ)."""
    from collections import Counter

    from wordfreq import top_n_list

    tri: Counter[str] = Counter()
    bi: Counter[str] = Counter()
    for w in top_n_list("uk" if lang == "uk" else "ru", TRIGRAM_WORDS):
        if not re.fullmatch("[а-яёіїєґ']+", w):
            continue
        if lang == "be":
            w = re.sub("(?<=[жшчцр])и", "ы", w).replace("и", "і").replace("щ", "шч").replace("ъ", "'")
            w = re.sub("(?<=[жшчцр])е", "э", w)
            w = re.sub("т(?=[еёюяіь])", "ц", w)
            w = re.sub("д(?=[еёюяіь])", "дз", w)
            w = re.sub(f"(?<=[{''.join(VOWELS)}])в(?![{''.join(VOWELS)}])", "ў", w)
        w = f"^^{w}$"
        for i in range(len(w) - 2):
            tri[w[i : i + 3]] += 1
            bi[w[i : i + 2]] += 1
    return dict(tri), dict(bi)


MARKED = re.compile("[жэйёъьщ']")  # letters a reading should not use without need (ж vs ш both give German sch)


def plausibility(cyr: str, lang: str, prefix_only: bool = False) -> float:
    """Log-probability of the word under a letter trigram model of `lang` (so shorter readings win when the
    letters are equally likely), minus 2 for each marked letter (ж э й ё ь ъ щ): higher is more plausible."""

    tri, bi = _ngrams(lang)
    w = "^^" + cyr.lower() + ("" if prefix_only else "$")
    total = 0.0
    for i in range(len(w) - 2):
        total += math.log((tri.get(w[i : i + 3], 0) + 0.1) / (bi.get(w[i : i + 2], 0) + 3.5))
    return total - 2.0 * len(MARKED.findall(cyr))


# Letters that make a reading Ukrainian or Belarusian rather than Russian (else the Russian reading stands).
OWN_LETTERS = {"ru": re.compile("."), "uk": re.compile("[іїєґ]|[сц]ьк"), "be": re.compile("[ўіыэ]|дз|шч")}


BAD_ENDING = {
    "ru": re.compile("(ск|цк)и$|[ьъ]$(?<![нлтдсзрмвбпф]ь)"),
    "uk": re.compile("(ськ|цьк)и$"),
    "be": re.compile("(ск|цк)ы$"),
}  # not the nominative of a name


def conventions(latin: str) -> set[str]:
    """The press conventions (target languages) a Latin spelling can be in, from its tell-tale letters."""
    w = unicodedata.normalize("NFC", latin.lower())
    found = set()
    if re.search("[łżśćńź]|sz|cz|rz", w):
        found.add("pl")
    if re.search("[šžčřěů]|á$", w):
        found.add("cs")
    if re.search("c(?![hzk])", w):  # c = ц: Polish and Czech (Cichanouska)
        found |= {"pl", "cs"}
    if re.search("sch|w|j(?![aeiou]?$)|j", w) and not re.search("dj", w):
        found.add("de")
    if re.search("oe|sj|zj|tsj|j", w):
        found.add("nl")
    if re.search("ou|tch|ï|dj|ch", w):
        found.add("fr")
    if re.search("sh|zh|kh|ts|y|ch", w) or not found:
        found.add("en")
    if "w" in w or "j" in w:
        found |= {"pl", "cs"} if re.search("j", w) else {"pl"}
    return found
