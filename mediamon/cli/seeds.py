"""`mediamon seeds list|show`: the seed stories."""

from __future__ import annotations

import json

import typer

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, fail
from mediamon.core.settings import get_settings

group = typer.Typer(no_args_is_help=True, help="Seed stories.")
app.add_typer(group, name="seeds")


@group.command("list")
def seeds_list(as_json: JsonFlag = False) -> None:
    """The seed stories in the seeds folder."""
    from enrich.seeds import load_seeds

    seeds = load_seeds(get_settings().seeds_dir)
    rows = [{"id": s.id, "title": s.title, "language": s.language, "date": s.date.isoformat()} for s in seeds]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        console.print(f"{row['id']}  {row['date']}  [{row['language']}]  {row['title']}")


@group.command("show")
def seeds_show(seed_id: str, as_json: JsonFlag = False) -> None:
    """One seed story: header and text."""
    from enrich.seeds import load_seeds

    seed = next((s for s in load_seeds(get_settings().seeds_dir) if s.id == seed_id), None)
    if seed is None:
        raise fail(f"no seed story with id {seed_id!r}")
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
        console.print(f"[bold]{key}[/bold]: {value}", markup=True, highlight=False)
