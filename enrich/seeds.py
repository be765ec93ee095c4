"""Seed stories: a YAML header written by the analyst (id, title, language, date, summaries, entities, topics)
followed by the story's own text, unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediamon.core.errors import ConfigError, UsageError

HEADER_FENCE = "---"


class SeedError(ConfigError):
    """A seed file that cannot be used; the message names the file and the reason."""


class UnknownSeed(UsageError):
    """A seed id that is not in the seeds folder."""


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
    )


def load_seeds(directory: Path) -> list[Seed]:
    """Every seed story under `directory/stories`, sorted by id; ids must be unique."""
    seeds = [parse_seed(p.read_text(encoding="utf-8"), p) for p in sorted((directory / "stories").glob("*.txt"))]
    ids = [s.id for s in seeds]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SeedError(f"{directory}: duplicate seed ids {duplicates}")
    return sorted(seeds, key=lambda s: s.id)


def find_seed(seeds: list[Seed], seed_id: str) -> Seed:
    """The seed with this id; UnknownSeed, naming the known ones, when there is none."""
    for seed in seeds:
        if seed.id == seed_id:
            return seed
    known = ", ".join(s.id for s in seeds) or "none"
    raise UnknownSeed(f"unknown seed {seed_id!r}; the seeds are: {known} (`mediamon seeds list`)")
