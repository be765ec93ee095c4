"""The `mediamon` app: its global options and the entry point that turns an unusable configuration into one line."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, help="Media monitoring: feeds to Elasticsearch, ranked against seed stories.")


def entry_point() -> None:
    """The `mediamon` command: the app, with an unusable configuration reported in one line and exit code 2."""
    from pydantic import ValidationError

    from mediamon.core.errors import ConfigError

    try:
        app()
    except (ConfigError, ValidationError) as exc:
        Console(stderr=True).print(f"[red]configuration error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """mediamon: monitor news coverage of seed stories across languages."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
