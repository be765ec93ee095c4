"""The entity gazetteer: the seed story's people, places and organisations, found in any language and script.

`seeds/entities.yaml` lists each entity's aliases (transliterations, case forms, other scripts); they are
compiled once into one matcher (enrich/phrases.py), so an article costs one regex scan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enrich.phrases import PhraseError, PhraseMatcher, tokenize
from mediamon.core.entry_files import UnreadableFile, read_yaml
from mediamon.core.errors import ConfigError

ENTITY_TYPES = frozenset({"person", "country", "place", "organisation", "group", "event"})
_ID_RE = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
_LANG_RE = re.compile(r"[a-z]{2,3}")


class GazetteerError(ConfigError):
    """A gazetteer file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity: a stable id, its kind, a display label and every alias that names it. A `capitalised` entity's
    aliases that start with a capital match only capitalised words (the generated ones: `enrich/seed_aliases.py`)."""

    id: str
    type: str
    label: str
    aliases: tuple[str, ...]
    capitalised: bool = False


@dataclass(frozen=True, slots=True)
class Mention:
    """One place where an entity is named: character span in the text, the words as written there and the alias
    that matched them."""

    entity: str
    start: int
    end: int
    surface: str
    alias: str = ""


class Gazetteer:
    """Compiled entities. Build once (`load_gazetteer`), then scan any number of texts."""

    def __init__(self, entities: Sequence[Entity]) -> None:
        self.entities = {entity.id: entity for entity in entities}
        self._matcher = PhraseMatcher(
            {entity.id: entity.aliases for entity in entities},
            capitalised={entity.id for entity in entities if entity.capitalised},
        )

    def extended(self, entities: Sequence[Entity]) -> Gazetteer:
        """This gazetteer with `entities` added (their ids must be new)."""
        clash = sorted(e.id for e in entities if e.id in self.entities)
        if clash:
            raise GazetteerError(f"entity ids {clash} are already in the gazetteer")
        return Gazetteer([*self.entities.values(), *entities])

    def mentions(self, text: str) -> list[Mention]:
        """Every entity mention in `text`, in order; overlapping aliases yield only the longest."""
        return [
            Mention(hit.keys[0], hit.start, hit.end, hit.surface, hit.phrases[0]) for hit in self._matcher.hits(text)
        ]

    def find_entities(self, text: str) -> dict[str, int]:
        """Entity id -> number of mentions in `text`."""
        return dict(Counter(hit.keys[0] for hit in self._matcher.hits(text)))

    def aliases_found(self, text: str) -> dict[str, dict[str, list[str]]]:
        """Entity id -> alias that fired -> the distinct forms it found in `text`, in order of first appearance."""
        found: dict[str, dict[str, list[str]]] = {}
        for mention in self.mentions(text):
            seen = found.setdefault(mention.entity, {}).setdefault(mention.alias, [])
            if mention.surface not in seen:
                seen.append(mention.surface)
        return found

    def surface_forms(self, text: str) -> dict[str, list[str]]:
        """Entity id -> the distinct forms in which `text` names it, in order of first appearance."""
        forms: dict[str, list[str]] = {}
        for mention in self.mentions(text):
            seen = forms.setdefault(mention.entity, [])
            if mention.surface not in seen:
                seen.append(mention.surface)
        return forms


def _fail(source: str, where: str, problem: str) -> GazetteerError:
    return GazetteerError(f"{source}: {where}: {problem}")


def _parse_entity(raw: Any, index: int, source: str) -> Entity:
    where = f"entity #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(source, where, "must be a mapping with id, type, label and aliases")
    entity_id = raw.get("id")
    if not isinstance(entity_id, str) or not _ID_RE.fullmatch(entity_id):
        raise _fail(source, where, f"id {entity_id!r} must be a lowercase slug such as 'lukashenko'")
    where = f"entity #{index + 1} ({entity_id!r})"
    unknown = set(raw) - {"id", "type", "label", "aliases"}
    if unknown:
        raise _fail(source, where, f"unknown keys {sorted(unknown)}")
    if raw.get("type") not in ENTITY_TYPES:
        raise _fail(source, where, f"type {raw.get('type')!r} must be one of {sorted(ENTITY_TYPES)}")
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _fail(source, where, "label must be a non-empty string")
    return Entity(entity_id, raw["type"], label.strip(), parse_aliases(raw.get("aliases"), source, where))


def parse_aliases(by_lang: Any, source: str, where: str) -> tuple[str, ...]:
    """Validated aliases from a `{language code: [names]}` mapping, in order, without repeats."""
    if not isinstance(by_lang, dict) or not by_lang:
        raise _fail(source, where, "aliases must map language codes to lists of names")
    aliases: list[str] = []
    for lang, names in by_lang.items():
        if not isinstance(lang, str) or not _LANG_RE.fullmatch(lang):
            raise _fail(source, where, f"alias language {lang!r} must be a 2-3 letter code")
        if not isinstance(names, list) or not names:
            raise _fail(source, where, f"aliases.{lang} must be a non-empty list")
        for position, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise _fail(source, where, f"aliases.{lang}[{position}] must be a non-empty string")
            try:
                tokenize(name)
            except PhraseError as exc:
                raise _fail(source, where, f"aliases.{lang}[{position}]: {exc}") from None
            if name not in aliases:
                aliases.append(name)
    return tuple(aliases)


def parse_entities(data: Any, source: str = "<entities>") -> list[Entity]:
    """Validated entities from the parsed YAML `data` (`{"entities": [...]}`); `source` names it in errors."""
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list) or not data["entities"]:
        raise GazetteerError(f"{source}: must be a mapping with a non-empty 'entities' list")
    entities: list[Entity] = []
    owner_of: dict[tuple[str, ...], str] = {}
    for index, raw in enumerate(data["entities"]):
        entity = _parse_entity(raw, index, source)
        if any(e.id == entity.id for e in entities):
            raise _fail(source, f"entity #{index + 1} ({entity.id!r})", "duplicate id")
        for alias in entity.aliases:
            owner = owner_of.setdefault(tuple(tokenize(alias)), entity.id)
            if owner != entity.id:
                raise _fail(source, f"entity #{index + 1} ({entity.id!r})", f"alias {alias!r} also names {owner!r}")
        entities.append(entity)
    return entities


def load_gazetteer(path: Path) -> Gazetteer:
    """Read, validate and compile the gazetteer at `path`."""
    try:
        data = read_yaml(path)
    except UnreadableFile as exc:
        raise GazetteerError(str(exc)) from None
    return Gazetteer(parse_entities(data, str(path)))
