"""Landmarks that date an undated article: events an article can only name after they happened.

`seeds/timeline.yaml` lists dated events (Russia's full-scale invasion of Ukraine, Omicron...) with their names
in many languages, in the gazetteer's alias syntax. An article that names one was written on or after its date,
which places undated coverage of another year far from a seed story even when it names the seed's people.
The file is optional: without it, undated articles are placed by the years they name alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from enrich.gazetteer import GazetteerError, parse_aliases
from enrich.phrases import PhraseMatcher, tokenize
from mediamon.core.entry_files import UnreadableFile, read_yaml
from mediamon.core.errors import ConfigError

_KEYS = {"id", "label", "date", "aliases"}


class TimelineError(ConfigError):
    """A timeline file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Landmark:
    """A dated event and every name it goes by."""

    id: str
    label: str
    date: date
    aliases: tuple[str, ...]


class Timeline:
    """Compiled landmarks. Build once (`load_timeline`), then `named` in any number of texts."""

    def __init__(self, landmarks: Sequence[Landmark]) -> None:
        self.landmarks = {landmark.id: landmark for landmark in landmarks}
        self._matcher = PhraseMatcher({lm.id: lm.aliases for lm in landmarks}) if landmarks else None

    def named(self, text: str) -> dict[str, date]:
        """Landmark id -> its date, for every landmark `text` names."""
        if self._matcher is None:
            return {}
        return {hit.keys[0]: self.landmarks[hit.keys[0]].date for hit in self._matcher.hits(text)}


def _parse_landmark(raw: Any, index: int, source: str) -> Landmark:
    where = f"landmark #{index + 1}"
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"].strip():
        raise TimelineError(f"{source}: {where}: must be a mapping with id, label, date and aliases")
    where = f"landmark #{index + 1} ({raw['id']!r})"
    unknown = set(raw) - _KEYS
    if unknown:
        raise TimelineError(f"{source}: {where}: unknown keys {sorted(unknown)}")
    if not isinstance(raw.get("label"), str) or not raw["label"].strip():
        raise TimelineError(f"{source}: {where}: label must be a non-empty string")
    day = raw.get("date")
    if not isinstance(day, date):
        raise TimelineError(f"{source}: {where}: date {day!r} must be an ISO date such as 2022-02-24")
    try:
        aliases = parse_aliases(raw.get("aliases"), source, where)
    except GazetteerError as exc:
        raise TimelineError(str(exc)) from None
    return Landmark(raw["id"], raw["label"].strip(), day, aliases)


def parse_timeline(data: Any, source: str = "<timeline>") -> Timeline:
    """Validated landmarks from the parsed YAML `data` (`{"landmarks": [...]}`); `source` names it in errors."""
    if not isinstance(data, dict) or not isinstance(data.get("landmarks"), list):
        raise TimelineError(f"{source}: must be a mapping with a 'landmarks' list")
    landmarks: list[Landmark] = []
    owner_of: dict[tuple[str, ...], str] = {}
    for index, raw in enumerate(data["landmarks"]):
        landmark = _parse_landmark(raw, index, source)
        if landmark.id in (lm.id for lm in landmarks):
            raise TimelineError(f"{source}: landmark #{index + 1} ({landmark.id!r}): duplicate id")
        for alias in landmark.aliases:
            owner = owner_of.setdefault(tuple(tokenize(alias)), landmark.id)
            if owner != landmark.id:
                raise TimelineError(f"{source}: landmark {landmark.id!r}: alias {alias!r} also names {owner!r}")
        landmarks.append(landmark)
    return Timeline(landmarks)


def load_timeline(path: Path) -> Timeline:
    """Read and compile the timeline at `path`; a missing file is an empty timeline."""
    if not path.exists():
        return Timeline([])
    try:
        data = read_yaml(path)
    except UnreadableFile as exc:
        raise TimelineError(str(exc)) from None
    return parse_timeline(data, str(path))
