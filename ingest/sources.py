"""The source list (`seeds/feeds.yaml`): validated per entry, a bad entry reported with file and line, never fatal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError


class Source(BaseModel):
    """One outlet: where its feeds are and what it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    homepage: HttpUrl | None = None
    feeds: list[HttpUrl] = Field(min_length=1)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    country: str | None = None
    affiliation: Literal["state", "independent", "foreign", "wire"] | None = None
    poll_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


@dataclass(frozen=True, slots=True)
class SourceError:
    """A source entry that could not be used, and why."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SourceList:
    """The valid sources of a file and the errors of the others."""

    sources: tuple[Source, ...]
    errors: tuple[SourceError, ...]


def _reason(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in error.errors())


def load_sources(path: Path) -> SourceList:
    """Read a feeds file. Unreadable YAML is one error for the file; each bad entry is an error of its own."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        return SourceList((), (SourceError(path, line, f"cannot read the feeds file: {exc}"),))
    items = root.value if root is not None and root.tag.endswith(":map") else []
    nodes = next((value.value for key, value in items if key.value == "sources"), None)
    if not isinstance(nodes, list):
        return SourceList((), (SourceError(path, 1, "expected a mapping with a `sources:` list"),))
    sources: list[Source] = []
    errors: list[SourceError] = []
    seen: set[str] = set()
    for node in nodes:
        line = node.start_mark.line + 1
        try:
            source = Source.model_validate(yaml.safe_load(yaml.serialize(node)))
        except ValidationError as exc:
            errors.append(SourceError(path, line, _reason(exc)))
            continue
        if source.id in seen:
            errors.append(SourceError(path, line, f"duplicate source id {source.id!r}"))
            continue
        seen.add(source.id)
        sources.append(source)
    return SourceList(tuple(sources), tuple(errors))
