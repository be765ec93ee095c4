"""The source list (`seeds/feeds.yaml`): validated per entry, a bad entry reported with file and line, never fatal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from mediamon.core.entry_files import EntryError, load_entries


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
class SourceList:
    """The valid sources of a file and the errors of the others."""

    sources: tuple[Source, ...]
    errors: tuple[EntryError, ...]

    def shared_feeds(self) -> list[str]:
        """A line for each feed listed more than once: it is polled once, for the first source that lists it."""
        owners: dict[str, list[str]] = {}
        for source in self.sources:
            for url in source.feeds:
                owners.setdefault(str(url), []).append(source.id)
        return [
            f"{url} is listed by {', '.join(dict.fromkeys(ids))}: it is polled once, its articles are {ids[0]}'s"
            if len(set(ids)) > 1
            else f"{url} is listed {len(ids)} times by {ids[0]}: it is polled once"
            for url, ids in owners.items()
            if len(ids) > 1
        ]


def load_sources(path: Path) -> SourceList:
    """Read a feeds file. Unreadable YAML is one error for the file; each bad entry is an error of its own."""
    sources, errors = load_entries(path, "sources", Source, "source")
    return SourceList(tuple(sources), tuple(errors))
