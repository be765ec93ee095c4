"""The house's import rules (docs/architecture.md), read from every module's imports with `ast`.

- `mediamon.core` is the ground: it imports nothing of ours but itself;
- the stages `ingest`, `enrich` and `search` import `mediamon.core` and themselves, never each other or anything above;
- `mediamon.flows` and `mediamon.alerts` are the only composers of stages; neither imports the other, the CLI or dev;
- `mediamon.dev` (local node, sample news, demo) may use the flows, never the CLI;
- DAG files import only `airflow.sdk`, `mediamon.core`, `mediamon.flows` and `mediamon.alerts`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("mediamon", "ingest", "enrich", "search")

# Which of our packages each room may import (its own room always).
ALLOWED = {
    "mediamon.core": {"mediamon.core"},
    "ingest": {"mediamon.core", "ingest"},
    "enrich": {"mediamon.core", "enrich"},
    "search": {"mediamon.core", "search"},
    "mediamon.flows": {"mediamon.core", "ingest", "enrich", "search", "mediamon.flows"},
    "mediamon.alerts": {"mediamon.core", "ingest", "enrich", "search", "mediamon.alerts"},
    "mediamon.dev": {"mediamon.core", "ingest", "enrich", "search", "mediamon.flows", "mediamon.dev"},
    "mediamon.cli": {
        "mediamon.core",
        "ingest",
        "enrich",
        "search",
        "mediamon.flows",
        "mediamon.alerts",
        "mediamon.dev",
        "mediamon.cli",
    },
    "dags": {"mediamon.core", "mediamon.flows", "mediamon.alerts"},
}
ROOMS = sorted(ALLOWED, key=len, reverse=True)


def room_of(module: str) -> str | None:
    """The room a dotted module name belongs to (None: not ours)."""
    for room in ROOMS:
        if module == room or module.startswith(room + "."):
            return room
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of our packages, including imports inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mediamon":  # `from mediamon import flows` names a subpackage
                found += [(node.lineno, f"mediamon.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in OURS]


def product_files() -> list[Path]:
    folders = [ROOT / name for name in ("mediamon", "ingest", "enrich", "search", "dags")]
    package_face = ROOT / "mediamon" / "__init__.py"  # the top package's docstring, in no room
    return sorted(path for folder in folders for path in folder.rglob("*.py") if path != package_face)


def violations() -> list[str]:
    """Every import that breaks a rule, as `file:line: room imports module (room)`."""
    problems = []
    for path in product_files():
        source_room = room_of(module_name(path))
        assert source_room is not None, f"{path} is in no room: add it to ALLOWED"
        for line, name in imported(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            target_room = room_of(name)
            if target_room is None or target_room not in ALLOWED[source_room]:
                where = path.relative_to(ROOT)
                problems.append(f"{where}:{line}: {source_room} imports {name} ({target_room or 'no room'})")
    return problems


def test_no_import_runs_sideways_or_upward() -> None:
    problems = violations()
    assert not problems, "imports against the layers (docs/architecture.md):\n" + "\n".join(problems)


def test_every_product_module_is_in_a_room() -> None:
    assert all(room_of(module_name(path)) for path in product_files())


def test_the_rule_catches_a_sideways_import(tmp_path: Path) -> None:
    tree = ast.parse("from enrich.language import detect_language\ndef f():\n    import mediamon.flows.ingest_run\n")
    names = [name for _, name in imported(tree)]
    assert names == ["enrich.language", "mediamon.flows.ingest_run"]
    assert all(room_of(name) not in ALLOWED["ingest"] for name in names)


@pytest.mark.parametrize(
    ("module", "room"),
    [
        ("mediamon.core.settings", "mediamon.core"),
        ("mediamon.cli", "mediamon.cli"),
        ("search.kibana.objects", "search"),
    ],
)
def test_rooms_by_name(module: str, room: str) -> None:
    assert room_of(module) == room
