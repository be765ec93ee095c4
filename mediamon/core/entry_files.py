"""YAML files that list entries (feeds, subscriptions): each entry validated on its own, a bad one reported with
its file and line, the others still used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Entry = TypeVar("Entry", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EntryError:
    """An entry (or a whole file) that could not be used, and why."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def validation_reason(error: ValidationError) -> str:
    """A pydantic error as one line: `field: message; field: message`."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in error.errors())


def _one_line(error: Exception) -> str:
    """An error's message on one line; YAML's lines that point into the text (`in "<unicode string>", line 2 …`)
    and the quoted text under them go, since the error's line number says where."""
    lines = [line.strip() for line in str(error).splitlines() if line and not line.startswith(" ")]
    return "; ".join(lines) or error.__class__.__name__


def load_entries(
    path: Path, key: str, model: type[Entry], kind: str, check: Callable[[Entry], list[str]] | None = None
) -> tuple[list[Entry], list[EntryError]]:
    """The valid entries of the list under `key` in `path` (ids unique), and an error for every other one.

    `kind` names an entry in messages (`source`, `subscription`); `check` may add problems of a valid entry (say,
    references to things that do not exist); an unreadable file or one without the list is a single error.
    """
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        return [], [EntryError(path, line, f"cannot read the {kind} file: it is not UTF-8 text ({exc.reason})")]
    except (OSError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        return [], [EntryError(path, line, f"cannot read the {kind} file: {_one_line(exc)}")]
    items = root.value if root is not None and root.tag.endswith(":map") else []
    nodes = next((value.value for name, value in items if name.value == key), None)
    if not isinstance(nodes, list):
        return [], [EntryError(path, 1, f"expected a mapping with a `{key}:` list")]
    entries: list[Entry] = []
    errors: list[EntryError] = []
    seen: set[str] = set()
    for node in nodes:
        line = node.start_mark.line + 1
        try:
            entry = model.model_validate(yaml.safe_load(yaml.serialize(node)))
        except ValidationError as exc:
            errors.append(EntryError(path, line, validation_reason(exc)))
            continue
        entry_id = entry.id  # type: ignore[attr-defined]
        problems = check(entry) if check else []
        if entry_id in seen:
            problems.append(f"duplicate {kind} id {entry_id!r}")
        seen.add(entry_id)
        if problems:
            errors.append(EntryError(path, line, f"{entry_id}: {'; '.join(problems)}"))
            continue
        entries.append(entry)
    return entries, errors
