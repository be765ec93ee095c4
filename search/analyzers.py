"""Per-language analysers for article text: which ones the cluster has, asked once per index creation.

The full Elasticsearch distribution has stemming analysers for most European languages (`analysis-common`), Polish
and Ukrainian come with the `analysis-stempel` and `analysis-ukrainian` plugins, and the core-only test distribution
has none of them. Each article's title, standfirst and body are also written under `text_lang.<language>`; the
mapping gives that object a field for each language whose analyser the cluster has, and drops the rest unindexed.
"""

from __future__ import annotations

from elasticsearch import BadRequestError, Elasticsearch

from mediamon.core.settings import Settings

# Analysers for the languages news comes in, by ISO 639-1 code: Elasticsearch's built-in names.
CANDIDATES = {
    "bg": "bulgarian",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "lt": "lithuanian",
    "lv": "latvian",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",  # analysis-stempel plugin
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
    "uk": "ukrainian",  # analysis-ukrainian plugin
}
TEXT_FIELDS = ("title", "summary", "body")


def has_analyzer(client: Elasticsearch, analyzer: str) -> bool:
    """Whether the cluster knows `analyzer` (an `_analyze` call with it succeeds)."""
    try:
        client.indices.analyze(analyzer=analyzer, text="mediamon")
    except BadRequestError:
        return False
    return True


def language_analyzers(client: Elasticsearch, settings: Settings) -> dict[str, str]:
    """Language code -> analyser for the article mapping: the setting when given, else the candidates it has."""
    if settings.language_analyzers is None:
        return {code: name for code, name in CANDIDATES.items() if has_analyzer(client, name)}
    missing = {code: name for code, name in settings.language_analyzers.items() if not has_analyzer(client, name)}
    if missing:
        named = ", ".join(f"{code}={name}" for code, name in sorted(missing.items()))
        raise ValueError(f"MEDIAMON_LANGUAGE_ANALYZERS names analysers the cluster does not have: {named}")
    return dict(settings.language_analyzers)


def language_properties(analyzers: dict[str, str]) -> dict:
    """The mapping of `text_lang`: per language, the text fields analysed by that language's analyser."""
    return {
        code: {"properties": {name: {"type": "text", "analyzer": analyzer} for name in TEXT_FIELDS}}
        for code, analyzer in sorted(analyzers.items())
    }


def language_text(language: str | None, source: dict) -> dict:
    """The `text_lang` value of a document: its text fields under its language (empty when unknown)."""
    if not language:
        return {}
    return {language: {name: source.get(name) or "" for name in TEXT_FIELDS}}
