"""Aliases of a name across scripts and languages, generated: for a seed's key entities that the gazetteer does
not know (`enrich/seed_aliases.py` decides which, and applies the analyst's overrides).

    name_aliases("Nikol Pashinyan").aliases
    -> {"ru": ("Пашинян*",), "uk": ("Пашинян*",), "be": ("Пашынян*",), "en": ("Nikol Pashinyan", "Pashinyan*", ...),
        "de": ("Paschinjan*", ...), "fr": ("Pachinian*", ...), "pl": ("Paszynian*",), ...}

Every alias is in the gazetteer's phrase syntax (`enrich/phrases.py`): matching folds case and diacritics, `*`
ends a stem. What a name gets depends on what it is:
- a country (its name in any language of the Unicode CLDR, through Babel): its CLDR names in every monitored
  language, with case forms (`Armenii`, `Армении`, `Armeni*` where the guard allows a stem);
- a name that says what it is (`United Nations`: a word such as Nations, Group, Council): only as written, since
  no transliteration translates it; the analyst adds `ООН` and `Nations unies` in the seed header;
- any other name, a person or a place: its last word (the surname: a given name alone names too many people) in
  Cyrillic (ru/uk/be) and in the press spellings of en/de/fr/pl/nl/cs (`enrich/translit.py`), with case forms or a
  stem (`enrich/inflect.py`); plus the name as written.
A spelling that is a common word of some language (`enrich/wordguard.py`) is dropped, and so is a stem that would
catch one; each drop is reported with its reason. `seed_forms` adds the spellings the seed's own text uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from enrich.inflect import paradigm
from enrich.translit import (
    CYR_LANGS,
    LAT_LANGS,
    MAX_READINGS,
    Reading,
    cyr_language,
    cyrillic_forms,
    cyrillic_readings,
    dedupe,
    is_cyrillic,
    key,
    romanize,
    title,
)
from enrich.wordguard import common_word, name_frequency, stem_catches

MIN_STEM = 5  # letters before a generated `*`; phrases.py accepts 3, too loose for generated stems
MIN_ALIAS = 4  # letters of a generated spelling (no `Ali`, no `Bak`)
# Languages a country's CLDR names are taken in: the generated ones, and Italian and Lithuanian, which the
# monitored press writes too.
COUNTRY_LANGS = (*CYR_LANGS, *LAT_LANGS, "it", "lt")
# Languages whose names take no case endings here (lt has them, but no paradigm: the nominative alone).
UNDECLINED = frozenset({"en", "fr", "nl", "it", "lt"})
# Words that make a name say what it is (an organisation, an office, a body), so that it is not transliterated.
DESCRIPTIVE = frozenset(
    {
        "nations",
        "union",
        "group",
        "council",
        "committee",
        "commission",
        "organisation",
        "organization",
        "agency",
        "assembly",
        "parliament",
        "party",
        "front",
        "army",
        "ministry",
        "bank",
        "fund",
        "court",
        "republic",
        "kingdom",
        "federation",
        "states",
        "alliance",
        "movement",
        "office",
        "forces",
        "guard",
        "police",
        "service",
        "association",
        "institute",
        "university",
        "company",
        "corporation",
    }
)
# English short names that the CLDR data Babel ships no longer carries (it names TR Türkiye); code -> names.
ENGLISH_VARIANTS = {"Turkey": "TR", "Czech Republic": "CZ", "Burma": "MM", "Ivory Coast": "CI", "Holland": "NL"}


@dataclass(frozen=True, slots=True)
class NameAliases:
    """What was generated for one name: language -> aliases, and what was left out and why."""

    name: str
    kind: str  # "country", "descriptive" (kept as written) or "transliterated"
    aliases: dict[str, tuple[str, ...]]
    dropped: tuple[str, ...] = ()  # "lang: alias - reason"
    readings: tuple[str, ...] = ()  # the Cyrillic spellings a Latin name was read as, best first

    def all_aliases(self) -> list[str]:
        """Every alias, once, in language order."""
        return dedupe(a for forms in self.aliases.values() for a in forms)


def _with_case_forms(
    lang: str, noms: list[str], report_rejected: list[str], known: set[str], stem_zipf: float
) -> list[str]:
    """The nominatives `noms` of one language with a stem where one is safe, else their case forms."""
    out: list[str] = []
    forms_out: list[str] = []
    for nom in noms:
        p = paradigm(nom, lang)
        case = title if not nom[:1].isupper() else (lambda s: s)
        out.append(title(nom))
        if p.stem is not None:
            letters = sum(c.isalpha() for c in p.stem)
            if letters < MIN_STEM:
                report_rejected.append(f"{lang}: {title(p.stem)}* - stem shorter than {MIN_STEM} letters, forms listed")
            else:
                caught = stem_catches(p.stem, p.endings, known, stem_zipf)
                if caught:
                    shown = ", ".join(f"{w} ({lg} {z:.1f})" for lg, w, z in caught[:4])
                    report_rejected.append(f"{lang}: {title(p.stem)}* - would catch {shown}; forms listed")
                else:
                    forms_out.append(title(p.stem) + "*")
                    # forms the stem does not cover (Łukaszence: k -> c) stay listed
                    forms_out += [title(f) for f in p.forms if not key(f).startswith(key(p.stem))]
                    continue
        if lang in UNDECLINED:
            continue  # no cases: without a stem, the nominative alone
        if lang == "de":
            forms_out += [title(nom) + "s"] if nom[-1] not in "sßxz" else []
            continue
        forms_out += [case(title(f)) for f in p.forms]
    stems = {key(f[:-1]) for f in forms_out if f.endswith("*")}
    # drop what a stem already covers: Zelenski*, Zelensky and Zelenskyy under Zelensk*

    def covered(alias: str) -> bool:
        return any(key(alias.rstrip("*")).startswith(st) and key(alias.rstrip("*")) != st for st in stems)

    return dedupe([n for n in out if key(n) not in stems and not covered(n)] + [f for f in forms_out if not covered(f)])


def _guarded(
    lang: str,
    spellings: list[str],
    name_zipf: float,
    input_keys: set[str],
    known: set[str],
    dropped: list[str],
    stem_zipf: float = 0.0,
) -> list[str]:
    """`spellings` of one language with their case forms or stems, without the common words. `stem_zipf`: how
    frequent the name counts as when judging what a stem catches (0: every common word counts; a country's own
    frequency, so that its stem may catch its rarer derivatives)."""
    kept = []
    for s in spellings:
        hit = None if key(s) in input_keys else common_word(s, name_zipf)
        if hit:
            dropped.append(f"{lang}: {s} - common word ({hit[0]} zipf {hit[1]:.1f}, the name {name_zipf:.1f})")
        elif sum(c.isalpha() for c in s) < MIN_ALIAS:
            dropped.append(f"{lang}: {s} - shorter than {MIN_ALIAS} letters")
        else:
            kept.append(s)
    clean = []
    for a in _with_case_forms(lang, kept, dropped, known, stem_zipf):
        hit = None if a.endswith("*") or key(a) in input_keys else common_word(a, name_zipf)
        if hit:
            dropped.append(f"{lang}: {a} - case form is a common word ({hit[0]} zipf {hit[1]:.1f})")
        else:
            clean.append(a)
    return dedupe(clean)


def _known_forms(spellings: dict[str, list[str]]) -> set[str]:
    """Every spelling and case form of the name in every language: a stem may catch these, and nothing else."""
    known = {key(x) for v in spellings.values() for x in v}
    for lang, words in spellings.items():
        for x in words:
            known |= {key(f) for f in paradigm(x, lang).forms}
    return known


def word_aliases(word: str, *, cyrillic: str | None = None) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """(language -> aliases, dropped, readings) of one word, a surname or a place, in Latin or Cyrillic.

    `cyrillic`: its Cyrillic spelling when the Latin one is no transliteration of it (Ganja is Azerbaijani Gəncə,
    Russian Гянджа; Macron is Макрон), which the analyst can give in the seed header."""
    dropped: list[str] = []
    readings: list[Reading] = []
    if cyrillic and not is_cyrillic(word):
        home = cyr_language(cyrillic)
        readings = [Reading(cyrillic.lower(), home, "en", "given")]
        cyr = cyrillic_forms(cyrillic, home)
    elif is_cyrillic(word):
        home = cyr_language(word)
        cyr = cyrillic_forms(word, home)
    else:
        readings = cyrillic_readings(word)[:MAX_READINGS]
        if not readings:
            raise ValueError(f"no Cyrillic reading of {word!r} in any scheme")
        home = readings[0].lang
        best = readings[0].cyrillic
        if home == "ru" and best.startswith("е") and not re.match("(?i)[yji]e", word):
            best = "э" + best[1:]  # a foreign name's initial E is Э in Russian: Erdogan = Эрдоган, not Ердоган
        cyr = cyrillic_forms(best, home)
    # Latin spellings: from every Russian form and the first two Ukrainian ones (Ukrainian press spellings of
    # foreign names are common: Zelenskyy); from the Belarusian one when the name is Belarusian.
    spell: dict[str, list[str]] = {t: [] for t in LAT_LANGS}
    sources = [("ru", w) for w in cyr["ru"]] + [("uk", w) for w in cyr["uk"][:2]]
    if home == "be":
        sources += [("be", w) for w in cyr["be"][:1]]
    for src, w in sources:
        for t in LAT_LANGS:
            spell[t] += romanize(w, src, t)
    if not is_cyrillic(word):  # the input itself, in the convention it matched (else en)
        target = readings[0].target if readings and readings[0].target in spell else "en"
        spell[target].insert(0, title(word))
    spellings = {k: [title(x) for x in dedupe(v)] for k, v in {**cyr, **spell}.items()}
    # How frequent the name is: its Russian and Ukrainian spellings and the input as written (Erdogan, Macron are
    # frequent words in the news because of the men; what is far more frequent than that is another word).
    name_zipf = name_frequency([*cyr["ru"], *cyr["uk"], word])
    input_keys = {key(word)} | ({key(cyrillic)} if cyrillic else set())
    known = _known_forms(spellings)
    aliases = {
        lang: _guarded(lang, spellings[lang], name_zipf, input_keys, known, dropped) for lang in CYR_LANGS + LAT_LANGS
    }
    return {k: v for k, v in aliases.items() if v}, dropped, [f"{r.cyrillic} ({r.lang})" for r in readings]


@lru_cache(maxsize=1)
def _territories() -> dict[str, str]:
    """Folded country name in any language of COUNTRY_LANGS -> ISO code (CLDR through Babel)."""
    from babel import Locale

    names: dict[str, str] = {key(name): code for name, code in ENGLISH_VARIANTS.items()}
    for lang in COUNTRY_LANGS:
        for code, name in Locale(lang).territories.items():
            if code.isalpha() and len(code) == 2:
                names.setdefault(key(name), code)
    return names


def country_code(name: str) -> str | None:
    """The ISO code of a country named in any monitored language (`Armenia`, `Вірменія`), else None."""
    return _territories().get(key(name.strip()))


def country_aliases(name: str, code: str) -> NameAliases:
    """A country's names in every language of COUNTRY_LANGS, with case forms, and the name as written."""
    from babel import Locale

    spellings = {lang: [Locale(lang).territories[code]] for lang in COUNTRY_LANGS}
    spellings["en"] = dedupe([name, *spellings["en"], *(n for n, c in ENGLISH_VARIANTS.items() if c == code)])
    dropped: list[str] = []
    known = _known_forms(spellings)
    name_zipf = name_frequency([s for v in spellings.values() for s in v])
    input_keys = {key(s) for v in spellings.values() for s in v}  # CLDR names are names: never dropped
    aliases = {}
    for lang, names in spellings.items():
        single = [n for n in names if " " not in n]
        aliases[lang] = tuple(
            _guarded(lang, single, name_zipf, input_keys, known, dropped, name_zipf) + [n for n in names if " " in n]
        )
    return NameAliases(name, "country", aliases, tuple(dropped))


def head_word(name: str) -> str:
    """The word a name's aliases are generated from: its last (a surname; `Karabakh` of `Nagorno-Karabakh`)."""
    return re.split(r"[\s-]+", name.strip())[-1]


def is_descriptive(name: str) -> bool:
    """Whether a name says what it is (`United Nations`, `Minsk Group`): it is then kept as written."""
    return any(word.lower() in DESCRIPTIVE for word in re.split(r"[\s-]+", name.strip()))


@lru_cache(maxsize=1024)
def name_aliases(name: str, *, cyrillic: str | None = None) -> NameAliases:
    """Every alias of a seed's key entity `name` (see the module docstring), with what was dropped and why."""
    name = " ".join(name.split())
    code = None if cyrillic else country_code(name)
    if code:
        return country_aliases(name, code)
    if is_descriptive(name) and not cyrillic:
        return NameAliases(name, "descriptive", {"xx": (name,)})
    aliases, dropped, readings = word_aliases(head_word(name), cyrillic=cyrillic)
    as_written = [name] if name != head_word(name) else []
    lang = "xx" if not is_cyrillic(name) else cyr_language(head_word(name))
    aliases[lang] = dedupe(as_written + aliases.get(lang, []))
    return NameAliases(
        name, "transliterated", {k: tuple(v) for k, v in aliases.items() if v}, tuple(dropped), tuple(readings)
    )


def merge_aliases(*alias_dicts: dict[str, list[str]]) -> dict[str, list[str]]:
    """One alias dict from several (e.g. generated from the Russian and from the Belarusian spelling)."""
    out: dict[str, list[str]] = {}
    for d in alias_dicts:
        for lg, names in d.items():
            out[lg] = dedupe(out.get(lg, []) + names)
    return out


# --- forms the seed text itself uses -----------------------------------------------------------------------------
_CYR2LAT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "ґ": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "є": "e",
        "ж": "s",
        "з": "z",
        "и": "i",
        "і": "i",
        "ї": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "a",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ў": "u",
        "ф": "f",
        "х": "h",
        "ц": "z",
        "ч": "s",
        "ш": "s",
        "щ": "s",
        "ъ": "",
        "ы": "i",
        "ь": "",
        "э": "e",
        "ю": "iu",
        "я": "ia",
        "'": "",
    }
)
_LAT_CLUSTERS = [
    ("schtsch", "s"),
    ("shch", "s"),
    ("szcz", "s"),
    ("sjtsj", "s"),
    ("chtch", "s"),
    ("tsch", "s"),
    ("dsch", "s"),
    ("sch", "s"),
    ("tsj", "s"),
    ("tch", "s"),
    ("dzh", "s"),
    ("dj", "s"),
    ("sh", "s"),
    ("sz", "s"),
    ("sj", "s"),
    ("zh", "s"),
    ("zj", "s"),
    ("cz", "s"),
    ("ch", "h"),
    ("kh", "h"),
    ("ts", "z"),
    ("tz", "z"),
    ("dz", "z"),
    ("oe", "u"),
    ("ou", "u"),
    ("w", "v"),
    ("x", "ks"),
    ("c", "z"),
    ("y", "i"),
    ("j", "i"),
    ("o", "a"),
    ("ie", "e"),
]


def sound_key(word: str) -> str:
    """A loose cross-script key: Тихановская, Tichanowskaja, Tikhanovskaya and Cichanouskaja come close."""
    w = key(word).translate(_CYR2LAT)
    for old, new in _LAT_CLUSTERS:
        w = w.replace(old, new)
    w = re.sub("(?<=[aeiu])u(?=[^aeiu]|$)", "v", w)  # ў / ou after a vowel = в: Tsikhanouskaya ~ Tikhanovskaya
    w = re.sub("h", "", w)  # х, kh, ch are unreliable (ch = ч in English): drop them
    w = re.sub(r"(.)\1+", r"\1", w)
    return re.sub("[^a-z]", "", w)


def seed_forms(aliases: dict[str, list[str]], text: str, max_extra: int = 4) -> list[str]:
    """Capitalised words of `text` that spell the entity in a way the aliases do not catch yet (close sound key)."""
    keys = [sound_key(a.rstrip("*")) for forms in aliases.values() for a in forms]
    known = {key(a) for forms in aliases.values() for a in forms if not a.endswith("*")}
    stems = [key(a[:-1]) for forms in aliases.values() for a in forms if a.endswith("*")]
    found: list[str] = []
    for word in re.findall(r"\w+(?:-\w+)*", text):
        if not word[:1].isupper() or len(word) < 4:
            continue
        k = key(word)
        if k in known or any(k.startswith(s) for s in stems):
            continue
        sk = sound_key(word)
        if any(sk.startswith(base) and len(sk) - len(base) <= max_extra and len(base) >= 4 for base in keys):
            found.append(word)
    return dedupe(found)
