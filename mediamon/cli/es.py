"""`mediamon es up|down|status|logs` (the local development node) and `mediamon demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import console, fail, print_matches, print_report
from mediamon.core.settings import get_settings

group = typer.Typer(no_args_is_help=True, help="The local Elasticsearch development node.")
app.add_typer(group, name="es")


@group.command("up")
def es_up() -> None:
    """Download (once), start and wait for the local node; reuses a healthy one."""
    from mediamon.dev.local_es import LocalEsError, es_up

    try:
        status = es_up(get_settings())
    except LocalEsError as exc:
        raise fail(str(exc)) from None
    console.print(status.message)


@group.command("down")
def es_down() -> None:
    """Stop the local node."""
    from mediamon.dev.local_es import LocalEsError, es_down

    try:
        stopped = es_down(get_settings())
    except LocalEsError as exc:
        raise fail(str(exc)) from None
    console.print("stopped" if stopped else "no local node was running")


@group.command("status")
def es_status() -> None:
    """Say whether the local node runs and how healthy it is."""
    from mediamon.dev.local_es import LocalEsError, es_status

    try:
        status = es_status(get_settings())
    except LocalEsError as exc:
        raise fail(str(exc)) from None
    console.print(status.message)
    if not status.running:
        raise typer.Exit(code=3)


@group.command("logs")
def es_logs(lines: Annotated[int, typer.Option("--lines", "-n")] = 50) -> None:
    """The last lines of the local node's log."""
    from mediamon.dev.local_es import es_logs

    console.print(es_logs(get_settings(), lines), markup=False, highlight=False)


@app.command("demo")
def demo(seed: Annotated[str, typer.Option(help="Seed story id.")] = "belarus-2020-09") -> None:
    """Serve the sample news set locally, run the pipeline once over it, and print the top matches."""
    from mediamon.dev.demo import run_demo
    from search.client import EsUnavailable

    try:
        report, matches = run_demo(get_settings(), seed)
    except EsUnavailable as exc:
        raise fail(str(exc)) from None
    print_report(report, as_json=False)
    print_matches(matches, f"Top {len(matches)} of the sample news for seed {seed}", as_json=False)
