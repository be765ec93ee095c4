"""Seed stories: a YAML header written by the analyst (id, title, language, date, summaries, entities, topics)
followed by the story's own text, unchanged.

`entities` lists the story's key people, places and organisations: gazetteer ids (`lukashenko`) or plain names
(`Nikol Pashinyan`); a name the gazetteer does not know gets aliases generated across scripts and languages
(`enrich/seed_aliases.py`), which `aliases` lets the analyst prune, extend or steer:

    aliases:
      Nikol Pashinyan: {drop: [Pashynian*], add: [Փաշինյան]}
      Arayik Harutyunyan: {cyrillic: Арутюнян}     # the Cyrillic spelling, when the Latin one is no transliteration
      United Nations: {add: {ru: [ООН], en: [UN]}}

`main_topic` names the topic (of `seeds/topics.yaml`) an article must be tagged with not to be scored down; by
default the first of `topics`, and none for a seed without topics (`main_topic: null` also says none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediamon.core.errors import ConfigError

HEADER_FENCE = "---"


class SeedError(ConfigError):
    """A seed file that cannot be used; the message names the file and the reason."""


class AliasOverride(BaseModel):
    """The analyst's word on one key entity's generated aliases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    add: list[str] | dict[str, list[str]] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    cyrillic: str | None = None

    def added(self) -> dict[str, list[str]]:
        """Language -> aliases to add (`xx` for a plain list)."""
        return dict(self.add) if isinstance(self.add, dict) else ({"xx": list(self.add)} if self.add else {})


class SeedHeader(BaseModel):
    """The analyst-written header of a seed file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    language: str = Field(pattern=r"^[a-z]{2}$")
    date: date
    summaries: dict[str, str] = Field(default_factory=dict)
    entities: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    main_topic: str | None = None
    aliases: dict[str, AliasOverride] = Field(default_factory=dict)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


@dataclass(frozen=True, slots=True)
class Seed:
    """A seed story: its header fields and text."""

    id: str
    title: str
    language: str
    date: date
    text: str
    summaries: dict[str, str] = field(default_factory=dict)
    entities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    threshold: float | None = None
    path: Path | None = None
    main_topic: str | None = None  # resolved: the header's, else the first topic, else none
    aliases: dict[str, AliasOverride] = field(default_factory=dict)

    def texts(self) -> list[str]:
        """The texts that stand for this seed when comparing: the summaries, then the story itself."""
        return [*self.summaries.values(), f"{self.title}\n{self.text}"]


def parse_seed(content: str, path: Path | None = None) -> Seed:
    """Parse a seed file's content: `---`, a YAML header, `---`, then the story text."""
    where = str(path) if path else "<seed>"
    lines = content.split("\n")
    if not lines or lines[0].strip() != HEADER_FENCE:
        raise SeedError(f"{where}: a seed file starts with a `---` line and a YAML header")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == HEADER_FENCE)
    except StopIteration:
        raise SeedError(f"{where}: the YAML header is not closed by a `---` line") from None
    try:
        header = SeedHeader.model_validate(yaml.safe_load("\n".join(lines[1:end])) or {})
    except yaml.YAMLError as exc:
        raise SeedError(f"{where}: the header is not valid YAML: {exc}") from None
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SeedError(f"{where}: {reasons}") from None
    text = "\n".join(lines[end + 1 :])
    if not text.strip():
        raise SeedError(f"{where}: the seed has no story text after its header")
    blank = [i for i, name in enumerate(header.entities) if not name.strip()]
    if blank:
        raise SeedError(f"{where}: entities[{blank[0]}] is empty")
    unknown = sorted(set(header.aliases) - set(header.entities))
    if unknown:
        raise SeedError(f"{where}: aliases for {unknown}, which are not among the seed's entities")
    main_topic = header.main_topic if "main_topic" in header.model_fields_set else next(iter(header.topics), None)
    return Seed(
        id=header.id,
        title=header.title,
        language=header.language,
        date=header.date,
        text=text,
        summaries=dict(header.summaries),
        entities=tuple(header.entities),
        topics=tuple(header.topics),
        threshold=header.threshold,
        path=path,
        main_topic=main_topic,
        aliases=dict(header.aliases),
    )


def load_seeds(directory: Path) -> list[Seed]:
    """Every seed story under `directory/stories`, sorted by id; ids must be unique."""
    seeds = [parse_seed(p.read_text(encoding="utf-8"), p) for p in sorted((directory / "stories").glob("*.txt"))]
    ids = [s.id for s in seeds]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SeedError(f"{directory}: duplicate seed ids {duplicates}")
    return sorted(seeds, key=lambda s: s.id)
