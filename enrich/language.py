"""Language of an article from its title and body (lingua), with the page's own claim as a tie-breaker only."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lingua import ConfidenceValue, IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# How much text lingua reads: first the lead alone, and when that leaves it unsure (a top confidence under
# SURE), up to SAMPLE_CHARS. The lead settles nearly every article at a fifth of the cost: on the 1,294 articles of the
# news bench's other languages and 500 English ones it gave the full read's language every time (docs/benchmarks.md).
# Not so between the Cyrillic languages: a Ukrainian lead can come out Kazakh at confidence 1.0 (the sample news's
# Lavrov story, `tests/test_language.py`), so a lead read as one of them is always read in full.
LEAD_CHARS = 400
SURE = 0.9
SAMPLE_CHARS = 2000
CYRILLIC = frozenset({"be", "bg", "kk", "ru", "sr", "uk"})
# lingua reads a short text (under about 140 characters here) with its one- to five-letter models rather than
# trigrams alone: better on headlines, but the first such text loads those models for every candidate language,
# 5 s with the GIL held and 650 MB, stalling the model's thread too. So a text under SHORT_CHARS is read by
# trigrams first, and the full models of the SHORT_CANDIDATES languages they rank highest decide; those load as
# they are needed. Only when the page's hint disagrees are all languages read in full, so that the hint is weighed
# as before. On the 834 headlines of the news bench (300 English, all 534 others): 822 right with the true hint and
# 810 without, against 822 and 814 with every language's full models; its 87 short articles never needed them.
SHORT_CHARS = 200
SHORT_CANDIDATES = 3
# A page hint wins when the detector's own top choice is not clearly ahead of it.
HINT_MARGIN = 0.15


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """ISO 639-1 code (None when undecidable) and the detector's confidence in it (0..1)."""

    code: str | None
    confidence: float


# The languages of the press mediamon watches: a closed set keeps short headlines from being read as a rare
# language that happens to share their few words.
NEWS_LANGUAGES = [
    "ar",
    "az",
    "be",
    "bg",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fa",
    "fi",
    "fr",
    "he",
    "hr",
    "hu",
    "hy",
    "it",
    "ja",
    "ka",
    "kk",
    "ko",
    "lt",
    "lv",
    "nb",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sq",
    "sr",
    "sv",
    "tr",
    "uk",
    "zh",
]


@lru_cache(maxsize=2)
def _detector(low_accuracy: bool = False) -> LanguageDetector:
    codes = [getattr(IsoCode639_1, code.upper()) for code in NEWS_LANGUAGES]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()


@lru_cache(maxsize=1024)
def _detector_among(languages: frozenset[Language]) -> LanguageDetector:
    """A detector for a few candidate languages (lingua keeps each language's models once, for every detector)."""
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _short_text_values(text: str, hint: str) -> list[ConfidenceValue]:
    rough = _detector(low_accuracy=True).compute_language_confidence_values(text)
    candidates = {value.language for value in rough[:SHORT_CANDIDATES] if value.value > 0}
    if len(candidates) < 2:
        return rough
    values = _detector_among(frozenset(candidates)).compute_language_confidence_values(text)
    if hint in NEWS_LANGUAGES and hint != _iso(values[0].language):
        return _detector().compute_language_confidence_values(text)  # the hint is weighed against every language
    return values


def _iso(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def detect_language(title: str, body: str, hint: str | None = None) -> LanguageGuess:
    """Detect the language of `title` + `body`; `hint` (e.g. `<html lang>`) only breaks near-ties."""
    text = f"{title}\n{body}".strip()[:SAMPLE_CHARS]
    if not text:
        return LanguageGuess(None, 0.0)
    hint_code = (hint or "").split("-")[0].split("_")[0].lower()
    if len(text) < SHORT_CHARS:
        values = _short_text_values(text, hint_code)
    else:
        values = _detector().compute_language_confidence_values(text[:LEAD_CHARS])
    if len(text) > LEAD_CHARS and (not values or values[0].value < SURE or _iso(values[0].language) in CYRILLIC):
        values = _detector().compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        return LanguageGuess(None, 0.0)
    best = values[0]
    if hint_code and hint_code != _iso(best.language):
        for candidate in values[1:]:
            if _iso(candidate.language) == hint_code and best.value - candidate.value < HINT_MARGIN:
                return LanguageGuess(hint_code, round(candidate.value, 4))
    return LanguageGuess(_iso(best.language), round(best.value, 4))
