"""`mediamon export`: every article a seed scores or a query matches, as CSV or JSON Lines, without a cap."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import check_folder_of, console, fail, healthy_client, progress_bars
from mediamon.core.errors import UsageError
from mediamon.core.settings import get_settings


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


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
    """Export every matching article (no cap) as CSV or JSON Lines; Kibana's saved searches are the in-browser way.
    A bad field, an unknown seed or a query Elasticsearch refuses is one line and exit code 2."""
    from enrich.seeds import find_seed, load_seeds
    from search.export import ExportError, Selection, count_selected, export_articles, export_fields
    from search.index_versions import articles_alias
    from search.query import make_filters

    if (seed is None) == (query is None):
        raise UsageError("give exactly one of --seed and --query")
    try:
        chosen = export_fields(fields.split(",") if fields is not None else None, seed)
    except ExportError as exc:
        raise UsageError(f"--fields: {exc}") from None
    if output is not None:
        check_folder_of(output)
    settings = get_settings()
    if seed is not None:
        find_seed(load_seeds(settings.seeds_dir), seed)
    client = healthy_client(settings)
    index = articles_alias(settings)
    selection = Selection(seed=seed, query=query or "*", filters=make_filters(since, until, lang, outlet, topic))
    total = count_selected(client, index, selection)
    try:
        with progress_bars(False) as progress:  # on stderr, when it is a terminal: stdout may carry the export
            count = export_articles(
                client, index, selection, chosen, fmt.value, output, lambda done: progress("articles", done, total)
            )
    except BrokenPipeError:  # the reader of standard output went away (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    except OSError as exc:
        raise fail(f"cannot write {output or 'to standard output'}: {exc}") from None
    if output is not None:
        console.print(f"{count} articles written to {output}")
