"""`mediamon export`: every article a seed scores or a query matches, as CSV or JSON Lines, without a cap."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import console, fail, healthy_client
from mediamon.core.settings import get_settings


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def usage_error(message: str) -> typer.Exit:
    """A request that cannot be carried out as written: one line, exit code 2."""
    fail(message)
    return typer.Exit(code=2)


@app.command("export")
def export(
    fmt: Annotated[Format, typer.Option("--format", help="csv (a header row; lists as JSON) or jsonl.")],
    seed: Annotated[str | None, typer.Option(help="Seed story id: its scored articles, most relevant first.")] = None,
    query: Annotated[
        str | None, typer.Option(help="As in `mediamon search` (* for all): matching articles, newest first.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after: a date, or date math like now-7d.")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (a plain date: that whole day).")] = None,
    lang: Annotated[list[str] | None, typer.Option(help="Language code (repeatable).")] = None,
    outlet: Annotated[list[str] | None, typer.Option(help="Outlet (repeatable).")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic, e.g. belarus.protests (repeatable).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="File to write (default: standard output).")
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option(help="Comma-separated fields (default: id, url, title, outlet, published_at, language, …)."),
    ] = None,
) -> None:
    """Export every matching article (no cap) as CSV or JSON Lines; Kibana's saved searches are the in-browser way."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from search.export import ExportError, Selection, count_selected, export_articles, export_fields
    from search.index_versions import articles_alias
    from search.query import SearchError, make_filters

    if (seed is None) == (query is None):
        raise usage_error("give exactly one of --seed and --query")
    try:
        chosen = export_fields(fields.split(",") if fields is not None else None, seed)
    except ExportError as exc:
        raise usage_error(escape(f"--fields: {exc}")) from None
    settings = get_settings()
    client = healthy_client(settings)
    index = articles_alias(settings)
    selection = Selection(seed=seed, query=query or "*", filters=make_filters(since, until, lang, outlet, topic))
    shown = output is not None and console.is_terminal  # standard output carries the data: no bar there
    try:
        with Progress(
            TextColumn("exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not shown,
        ) as progress:
            task = progress.add_task("export", total=count_selected(client, index, selection) if shown else None)
            count = export_articles(
                client, index, selection, chosen, fmt.value, output, lambda done: progress.update(task, completed=done)
            )
    except SearchError as exc:
        raise fail(escape(f"export refused: {exc}")) from None
    except OSError as exc:
        raise fail(escape(f"cannot write {output}: {exc}")) from None
    if output is not None:
        console.print(f"{count} articles written to {escape(str(output))}", highlight=False)
