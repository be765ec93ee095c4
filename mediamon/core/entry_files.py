"""YAML files that list entries (feeds, subscriptions): each entry validated on its own, a bad one reported with
its file and line, the others still used. Also what every YAML or text file of ours is read with: UTF-8 (a
byte-order mark dropped), and errors, impossible dates (`2020-13-45`) among them, as one line naming the line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mediamon.core.errors import ConfigError

Entry = TypeVar("Entry", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EntryError:
    """An entry (or a whole file) that could not be used, and why; `line` 0 when no line is to blame."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


class UnreadableFile(ConfigError):
    """A file that cannot be read as it is: missing, not UTF-8 text, not valid YAML, or holding an impossible date.
    The message is its `error`, `path:line: reason`."""

    def __init__(self, error: EntryError) -> None:
        super().__init__(str(error))
        self.error = error


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader, but a date that does not exist is a ConstructorError at its line, not a ValueError."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            problem = f"date {node.value} is not a date ({exc})"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def validation_reason(error: ValidationError) -> str:
    """A pydantic error as one line: `field: message; field: message`."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in error.errors())


def _one_line(error: Exception) -> str:
    """An error's message on one line; YAML's lines that point into the text (`in "<unicode string>", line 2 …`)
    and the quoted text under them go, since the error's line number says where."""
    lines = [line.strip() for line in str(error).splitlines() if line and not line.startswith(" ")]
    return "; ".join(lines) or error.__class__.__name__


def yaml_error(path: Path, error: yaml.YAMLError, first_line: int = 1) -> EntryError:
    """A YAML error of the text of `path` that starts on its line `first_line`, as one line: `not valid YAML:
    expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)`, or `date 2020-13-45 is not a
    date (month must be in 1..12)`."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or _one_line(error)
    context = getattr(error, "context", None)
    reason = f"{problem} ({context})" if context else problem
    if not isinstance(error, yaml.constructor.ConstructorError):
        reason = f"not valid YAML: {reason}"
    return EntryError(path, mark.line + first_line if mark is not None else 0, reason)


def construct(node: yaml.Node | None) -> Any:
    """The value of a composed YAML node as yaml.safe_load gives it; a YAMLError (at the node's line) for an
    impossible date."""
    return None if node is None else _Loader("").construct_document(node)


def decode_utf8(content: bytes, path: Path) -> str:
    """The text of a file's `content`, a UTF-8 byte-order mark dropped; UnreadableFile naming the line of the
    first byte that is not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise UnreadableFile(EntryError(path, line, f"not UTF-8 text ({exc.reason}); save it as UTF-8")) from None


def read_utf8(path: Path) -> str:
    """The text of the file at `path` (`decode_utf8`); UnreadableFile also when it cannot be read at all."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(EntryError(path, 0, str(exc.strerror or exc))) from None
    return decode_utf8(content, path)


def read_yaml(path: Path) -> Any:
    """The YAML file at `path` as yaml.safe_load reads it; UnreadableFile, naming the line, when it cannot be read,
    is not UTF-8 text, not valid YAML, or holds an impossible date."""
    text = read_utf8(path)
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise UnreadableFile(yaml_error(path, exc)) from None


def load_entries(
    path: Path, key: str, model: type[Entry], kind: str, check: Callable[[Entry], list[str]] | None = None
) -> tuple[list[Entry], list[EntryError]]:
    """The valid entries of the list under `key` in `path` (ids unique), and an error for every other one.

    `kind` names an entry in messages (`source`, `subscription`); `check` may add problems of a valid entry (say,
    references to things that do not exist); an unreadable file or one without the list is a single error.
    """
    try:
        root = yaml.compose(read_utf8(path), Loader=_Loader)
    except (UnreadableFile, yaml.YAMLError) as exc:
        error = exc.error if isinstance(exc, UnreadableFile) else yaml_error(path, exc)
        return [], [replace(error, reason=f"cannot read the {kind} file: {error.reason}")]
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
            entry = model.model_validate(construct(node))
        except ValidationError as exc:
            errors.append(EntryError(path, line, validation_reason(exc)))
            continue
        except yaml.YAMLError as exc:  # an impossible date
            errors.append(yaml_error(path, exc))
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
