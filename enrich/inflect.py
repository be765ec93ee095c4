"""Case forms of a name in the languages that decline names: Russian, Ukrainian, Belarusian, Polish, Czech, and
the German genitive -s.

`paradigm(word, lang)` gives the nominative, the stem that `*` may follow (`Пашинян*`) when one is safe, and the
forms themselves otherwise: feminine surnames always get their forms and never a stem, so that `Тихановск*` cannot
catch her husband Тихановский. `enrich/aliases.py` decides between the stem and the forms with the common-word
guard (`enrich/wordguard.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from enrich.translit import dedupe, key


@dataclass(frozen=True, slots=True)
class Paradigm:
    """A name's declension in one language."""

    nominative: str
    stem: str | None  # prefix to put `*` after, if the stem is safe
    forms: list[str]  # explicit case forms (used when the stem is not)
    endings: frozenset[str] = field(default_factory=frozenset)  # what the stem may be followed by


def _p(nom: str, base: str, endings: list[str], stem: bool = True, extra: Iterable[str] = ()) -> Paradigm:
    forms = [base + e for e in endings] + list(extra)
    nomk = key(nom)
    all_endings = {key(f)[len(key(base)) :] for f in forms + [nom]}
    return Paradigm(nom, base if stem else None, [f for f in dedupe(forms) if key(f) != nomk], frozenset(all_endings))


FEMININE_SURNAME = re.compile("(ская|цкая|ська|цька|ова|ева|ёва|єва|ина|іна|ына|ава|ska|cka|owa|ewa|ová|ská|cká)$")


def paradigm(word: str, lang: str) -> Paradigm:
    """Case forms of a (lowercase) name in `lang`; Cyrillic langs and pl/cs decline, de adds the genitive -s."""
    w = word.lower()
    if lang == "ru":
        if w.endswith("ия"):  # Сирия, Армения
            return _p(w, w[:-1], ["и", "ю", "ей"])
        if re.search("(ская|цкая|ая)$", w) and len(w) > 5:
            return _p(w, w[:-2], ["ой", "ую", "ою"], stem=False)
        if re.search("(ский|цкий|ый|ий|ой)$", w) and len(w) > 5:
            i = "ы" if w.endswith("ый") else "и"
            return _p(w, w[:-2], ["ого", "ому", i + "м", "ом", "ая", "ой", "ую", i + "е", i + "х", i + "ми"])
        if re.search("(ова|ева|ёва|ина|ына)$", w):
            return _p(w, w[:-1], ["ой", "у", "ою"], stem=False)
        if re.search("(ов|ев|ёв|ин|ын)$", w):
            return _p(w, w, ["а", "у", "ым", "е", "ы", "ых", "ыми"])
        if w[-1] in "ая":
            gen = "и" if w[-1] == "я" or w[-2] in "гкхжшчщ" else "ы"
            ins = ["ей", "ой"] if w[-2] in "жшчщц" or w[-1] == "я" else ["ой"]
            return _p(w, w[:-1], [gen, "е", "у" if w[-1] == "а" else "ю"] + ins)
        if w[-1] in "оеиуюэ" or w.endswith(("ых", "их")):
            return _p(w, w, [], stem=False)  # Лукашенко: indeclinable in Russian
        if w[-1] in "йь":
            return _p(w, w[:-1], ["я", "ю", "ем", "е"], stem=False)
        return _p(w, w, ["а", "у", "ом" if w[-1] not in "жшчщц" else "ем", "е", "ы" if w[-1] not in "гкхжшчщ" else "и"])
    if lang == "uk":
        if w.endswith("ія"):  # Сирія, Вірменія
            return _p(w, w[:-1], ["ї", "ю", "єю"])
        if re.search("(ська|цька)$", w):
            return _p(w, w[:-1], ["ої", "у", "ою"], stem=False)
        if re.search("(ський|цький|ий)$", w) and len(w) > 5:
            return _p(w, w[:-2], ["ого", "ому", "им", "ім", "а", "ої", "у", "ою", "і", "их", "ими"])
        if re.search("(ова|ева|єва|іна|ина)$", w):  # a noun in -ина (Туреччина) has the genitive -и
            return _p(w, w[:-1], ["ої", "у", "ою"] + (["и"] if w.endswith("ина") else []), stem=False)
        if re.search("(ов|ев|єв|ін|ин)$", w):
            return _p(w, w, ["а", "у", "ові", "им", "ім"])
        if w.endswith("ко"):
            return _p(w, w[:-1], ["а", "у", "ові", "ом"])
        if w[-1] in "ая":
            gen = "і" if w[-1] == "я" or w[-2] in "жшчщ" else "и"
            return _p(w, w[:-1], [gen, "і", "у" if w[-1] == "а" else "ю", "ою" if w[-1] == "а" else "ею"])
        if w[-1] in "оеиуюі":
            return _p(w, w, [], stem=False)
        if w[-1] in "йь":
            return _p(w, w[:-1], ["я", "ю", "єм", "ї"], stem=False)
        return _p(w, w, ["а", "у", "ові", "ом", "і"])
    if lang == "be":
        if re.search("[іы]я$", w):  # Сірыя, Арменія
            return _p(w, w[:-1], ["і", "ю", "яй"])
        if re.search("(ская|цкая)$", w):
            return _p(w, w[:-2], ["ай", "ую", "аю"], stem=False)
        if re.search("(скі|цкі)$", w):
            return _p(w, w[:-1], ["ага", "аму", "ім", "ая", "ай", "ую", "ія", "іх"])
        if re.search("(ава|ова|ева|іна|ына)$", w):
            return _p(w, w[:-1], ["ай", "у", "аю"], stem=False)
        if re.search("[^аеёіоуыэюя]ы$", w) and len(w) > 5:  # Навальны
            return _p(w, w[:-1], ["ага", "аму", "ым", "ая", "ай", "ую", "ыя", "ых"])
        if re.search("[аое]ў$", w):
            return _p(w, w[:-1] + "в", ["а", "у", "ым", "е"], stem=False)
        if w.endswith("ка"):
            return _p(w, w[:-1], ["і", "у", "ам", "е"])
        if w[-1] in "ая":
            gen = "і" if w[-1] == "я" or w[-2] in "гкх" else "ы"
            return _p(w, w[:-1], [gen, "е", "у" if w[-1] == "а" else "ю", "ай" if w[-1] == "а" else "яй"])
        if w[-1] in "оеіуюэ":
            return _p(w, w, [], stem=False)
        return _p(w, w, ["а", "у", "ам", "е"])
    if lang == "pl":
        if w.endswith("ia"):  # Syria, Armenia
            return _p(w, w[:-1], ["i", "ę", "ą"])
        if re.search("(ska|cka)$", w):
            return _p(w, w[:-1], ["iej", "ą"], stem=False)
        if re.search("(ski|cki)$", w):
            return _p(w, w[:-1], ["iego", "iemu", "im", "a", "iej", "ą"])
        if re.search("(owa|ewa|awa|ina|yna)$", w):
            return _p(w, w[:-1], ["ej", "ą"], stem=False)
        if re.search("[^aeiouy]y$", w) and len(w) > 5:  # Nawalny
            return _p(w, w[:-1], ["ego", "emu", "ym", "a", "ej", "ą"])
        if re.search("(ko|ka)$", w):  # Łukaszenko/Łukaszenka: -ki, -ce, -kę, -ką
            return _p(w, w[:-1], ["i", "ę", "ą", "o", "a"], extra=[w[:-2] + "ce"])
        if w[-1] == "a":
            soft = w[-2] in "żzsxrc" or w[-3:-1] in ("sz", "cz", "rz") or w[-2] == "j"
            return _p(w, w[:-1], ["y" if soft else "i", "ę", "ą", "ie", "o"])
        if w[-1] in "oeiuy":
            return _p(w, w, [], stem=False)
        return _p(w, w, ["a", "u", "owi", "em", "ie", "ów", "ami"])
    if lang == "cs":
        if re.search("(ská|cká)$", w):
            return _p(w, w[:-1], ["é", "ou"], stem=False)
        if w.endswith("ová"):
            return _p(w, w[:-1], ["é", "ou"], stem=False)
        if re.search("(skij|skyj|ckij|yj|ij)$", w) and len(w) > 5:
            base = w[:-2]
            return _p(w, base, ["ého", "ému", "ým", "ém", "é", "ou"])
        if re.search("(ova|eva|ina|yna|ava)$", w):  # unfeminised Russian surname: Jermošina, Jermošiny...
            return _p(w, w[:-1], ["y", "ě", "u", "ou"], stem=False)
        if w.endswith("o") or w.endswith("a"):
            return _p(w, w[:-1], ["a", "ovi", "em", "u", "y", "ou", "i", "e"])
        if w[-1] in "eiuy":
            return _p(w, w, [], stem=False)
        return _p(w, w, ["a", "ovi", "em", "e", "u", "ové", "ů"])
    # en, de, fr, nl: no cases, but German/Dutch genitive -s and Slavic-declined forms (Lukashenka) turn up in any
    # language: a stem for masculine names where the guard allows it, the German -s form for the others.
    gen = [] if w[-1] in "sßxz" or w.endswith("sch") else ["s"]
    if FEMININE_SURNAME.search(w) or re.search("(aja|aïa|aya|aia|ska|ova|eva|ina|yna|ava|awa)$", w):
        return _p(w, w, gen if lang == "de" else [], stem=False)
    if w[-1] in "aeiouy":
        return _p(w, w[:-1], [w[-1], "a", "o", "u", "e", "i"] + [w[-1] + g for g in gen])
    return _p(w, w, gen + ["a", "u", "e", "y"])
