"""`mediamon seeds list|show|add`: the seed stories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, say
from mediamon.core.errors import ConfigError
from mediamon.core.settings import get_settings

group = typer.Typer(no_args_is_help=True, help="Seed stories.")
app.add_typer(group, name="seeds")


@group.command("list")
def seeds_list(as_json: JsonFlag = False) -> None:
    """The seed stories in the seeds folder (a folder that is not there: exit code 2)."""
    from enrich.seeds import load_seeds

    seeds_dir = get_settings().seeds_dir
    if not seeds_dir.is_dir():
        where = "point MEDIAMON_SEEDS_DIR at the folder of stories/ and topics.yaml"
        raise ConfigError(f"there is no seeds folder {seeds_dir}: {where}")
    seeds = load_seeds(seeds_dir)
    rows = [{"id": s.id, "title": s.title, "language": s.language, "date": s.date.isoformat()} for s in seeds]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        console.print(f"{row['id']}  {row['date']}  [{row['language']}]  {row['title']}")
    if not rows:
        console.print(f"no seed stories in {seeds_dir / 'stories'}: `mediamon seeds add FILE` adds one there")


@group.command("show")
def seeds_show(seed_id: str, as_json: JsonFlag = False) -> None:
    """One seed story: header and text (an unknown id: exit code 2)."""
    from enrich.seeds import find_seed, load_seeds

    seed = find_seed(load_seeds(get_settings().seeds_dir), seed_id)
    data = {
        "id": seed.id,
        "title": seed.title,
        "language": seed.language,
        "date": seed.date.isoformat(),
        "summaries": seed.summaries,
        "entities": list(seed.entities),
        "topics": list(seed.topics),
        "main_topic": seed.main_topic,
        "text": seed.text,
    }
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        say((key, "bold"), f": {value}")


@group.command("add")
def seeds_add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Seed file: YAML header, then the story.")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace the seed story with the same id.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check a seed file, copy it into the seeds folder, and show what mediamon will use of it. A file that cannot
    be used, or an id that is there already (without --replace), is one line naming the file and line, exit code 2."""
    from enrich.seed_files import add_seed_file

    settings = get_settings()
    added = add_seed_file(file, settings.seeds_dir, replace, settings.data_dir / "aliases")
    summary = {"path": str(added.path), "replaced": added.replaced, **added.summary}
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return

    def line(key: str, value: str) -> None:
        say((f"{key:<10}", "bold"), f" {value}")

    console.print(f"{'replaced' if added.replaced else 'added'} {added.path}")
    for key in ("id", "title", "language", "date", "threshold"):
        line(key, str(summary[key]))
    for language, text in summary["summaries"].items() or [("", "(none: only the story's own text is compared)")]:
        line("summary", f"{language}: {text}" if language else text)
    entities = summary["entities"]
    known = ", ".join(
        f"{name} ({e['label']})" if name == e["id"] else f"{name} = {e['id']} ({e['label']})"
        for name, e in entities["known"].items()
    )
    line("entities", f"in the gazetteer: {known or '(none)'}")
    if entities["plain"]:
        line("", "not in the gazetteer, searched for by these generated aliases (steer them under `aliases:`):")
    for name in entities["plain"]:
        by_language = entities["aliases"].get(name, {})
        line("", f"  {name}: " + ("; ".join(f"{lang} {', '.join(forms)}" for lang, forms in by_language.items())))
    topics = summary["topics"]
    line("topics", f"{', '.join(topics['known']) or '(none)'}; main: {topics['main'] or '(none)'}")
    if topics["unknown"]:
        say(
            ("unknown topics", "yellow"),
            f" (not in topics.yaml; no article is tagged with them): {', '.join(topics['unknown'])}",
        )
    say(
        "next: ",
        (summary["next"], "bold"),
        " scores the articles already indexed against it (new articles are scored as they come)",
    )
