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

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mediamon.core.entry_files import UnreadableFile, construct, read_utf8, yaml_error
from mediamon.core.errors import ConfigError, UsageError

HEADER_FENCE = "---"


class SeedError(ConfigError):
    """A seed file that cannot be used; the message names the file and the reason."""


class UnknownSeed(UsageError):
    """A seed id that is not in the seeds folder."""


class NoSeeds(ConfigError):
    """A seeds folder without a single seed story, where a command needs one."""


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

    @field_validator("language")
    @classmethod
    def _iso_639_1(cls, value: str) -> str:
        if value not in _language_codes():
            raise ValueError(f"{value!r} is not an ISO 639-1 language code (such as nl, en, ru)")
        return value


@cache
def _language_codes() -> frozenset[str]:
    """The ISO 639-1 codes: the two-letter languages of the Unicode CLDR (through Babel)."""
    from babel import Locale

    return frozenset(code for code in Locale("en").languages if len(code) == 2)


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
    """Parse a seed file's content: `---`, a YAML header, `---`, then the story text.

    A SeedError names the file and the line: of the offending header key (or of the YAML error), of the fence for a
    missing fence, a missing key or a missing text."""
    where = str(path) if path else "<seed>"
    lines = content.split("\n")
    if not lines or lines[0].strip() != HEADER_FENCE:
        raise SeedError(f"{where}:1: a seed file starts with a `---` line and a YAML header")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == HEADER_FENCE)
    except StopIteration:
        raise SeedError(f"{where}:1: the YAML header opened here is not closed by a `---` line") from None
    header_text = "\n".join(lines[1:end])
    try:
        root = yaml.compose(header_text)
        data = construct(root) or {}
    except yaml.YAMLError as exc:  # the header's first line is the file's second
        raise SeedError(str(yaml_error(Path(where), exc, first_line=2))) from None
    if not isinstance(data, dict):
        raise SeedError(f"{where}:2: the header must be `key: value` lines (id, title, language, date, …)")
    try:
        header = SeedHeader.model_validate(data)
    except ValidationError as exc:
        # a missing key has no line of its own: the closing fence, before which it belongs
        reasons = [
            (_header_line(root, error["loc"]) or end + 1, f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
            for error in exc.errors()
        ]
        raise SeedError("; ".join(f"{where}:{line}: {reason}" for line, reason in sorted(reasons))) from None
    text = "\n".join(lines[end + 1 :])
    if not text.strip():
        raise SeedError(f"{where}:{end + 1}: the seed has no story text after the header's closing `---`")
    blank = [i for i, name in enumerate(header.entities) if not name.strip()]
    if blank:
        line = _header_line(root, ("entities", blank[0])) or 2
        raise SeedError(f"{where}:{line}: entities[{blank[0]}] is empty")
    unknown = sorted(set(header.aliases) - set(header.entities))
    if unknown:
        line = _header_line(root, ("aliases", unknown[0])) or 2
        raise SeedError(f"{where}:{line}: aliases for {unknown}, which are not among the seed's entities")
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


def _header_line(root: yaml.Node | None, loc: tuple) -> int | None:
    """The file line (1-based) of the header value at `loc` (a pydantic error's path): the deepest key or item of
    the path that the header has; None when it lacks even the first key."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return None if line is None else line + 2  # the header starts on the file's second line


def load_seeds(directory: Path) -> list[Seed]:
    """Every seed story under `directory/stories`, sorted by id; ids must be unique."""
    seeds = [read_seed(path) for path in sorted((directory / "stories").glob("*.txt"))]
    ids = [s.id for s in seeds]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SeedError(f"{directory}: duplicate seed ids {duplicates}")
    return sorted(seeds, key=lambda s: s.id)


def read_seed(path: Path) -> Seed:
    """The seed story in the file at `path` (UTF-8, a byte-order mark allowed); SeedError naming file and line."""
    try:
        return parse_seed(read_utf8(path), path)
    except UnreadableFile as exc:
        raise SeedError(str(exc)) from None


def main_topic_problem(seed: Seed, topic_ids: Collection[str]) -> str | None:
    """Why the seed's main topic cannot be used (it is no topic of the rules), or None."""
    if seed.main_topic is None or seed.main_topic in topic_ids:
        return None
    return (
        f"{seed.path or seed.id}: main_topic {seed.main_topic!r} is not a topic of the rules (topics.yaml): name one"
        " of them in `topics` or `main_topic`, or write `main_topic: null`"
    )


def find_seed(seeds: list[Seed], seed_id: str) -> Seed:
    """The seed with this id; UnknownSeed, naming the known ones, when there is none."""
    for seed in seeds:
        if seed.id == seed_id:
            return seed
    known = ", ".join(s.id for s in seeds) or "none"
    raise UnknownSeed(f"unknown seed {seed_id!r}; the seeds are: {known} (`mediamon seeds list`)")


def stories_digest(directory: Path) -> str:
    """A fingerprint of the seed stories under `directory/stories`: the sha256 of their contents' sha256s, sorted
    (a renamed file leaves it as it was; a changed, added or removed story changes it)."""
    digests = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in (directory / "stories").glob("*.txt"))
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()
