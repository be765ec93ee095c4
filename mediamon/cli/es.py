"""`mediamon es up|down|status|logs` (the local development node) and `mediamon demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import console, print_matches, print_report, progress_bars
from mediamon.core.settings import get_settings

group = typer.Typer(no_args_is_help=True, help="The local Elasticsearch development node.")
app.add_typer(group, name="es")


@group.command("up")
def es_up() -> None:
    """Download (once), start and wait for the local node; reuses a healthy one."""
    from mediamon.dev.local_es import es_up

    status = es_up(get_settings())
    console.print(status.message)


@group.command("down")
def es_down() -> None:
    """Stop the local node."""
    from mediamon.dev.local_es import es_down

    stopped = es_down(get_settings())
    console.print("stopped" if stopped else "no local node was running")


@group.command("status")
def es_status() -> None:
    """Say whether the local node runs and how healthy it is."""
    from mediamon.dev.local_es import es_status

    status = es_status(get_settings())
    console.print(status.message)
    if not status.running:
        raise typer.Exit(code=3)


@group.command("logs")
def es_logs(lines: Annotated[int, typer.Option("--lines", "-n")] = 50) -> None:
    """The last lines of the local node's log."""
    from mediamon.dev.local_es import es_logs

    console.print(es_logs(get_settings(), lines))


@app.command("demo")
def demo(
    seed: Annotated[str, typer.Option(help="Seed story id.")] = "belarus-2020-09",
    remove: Annotated[bool, typer.Option("--remove", help="Only delete the demo's indices.")] = False,
) -> None:
    """Serve the sample news set locally, run the pipeline once over it, and print the top matches."""
    from enrich.seeds import find_seed, load_seeds
    from mediamon.dev.demo import demo_settings, remove_demo, run_demo

    settings = get_settings()
    if remove:
        deleted = remove_demo(settings)
        console.print(f"deleted {', '.join(deleted) or 'nothing (no demo index)'}")
        return
    find_seed(load_seeds(settings.seeds_dir), seed)
    with progress_bars(quiet=False) as progress:
        report, matches = run_demo(settings, seed, progress=progress)
    print_report(report)
    print_matches(matches, f"Top {len(matches)} of the sample news for seed {seed}", as_json=False)
    prefix = demo_settings(settings).index_prefix
    console.print(
        "\nNext, try:\n"
        f"  1. MEDIAMON_INDEX_PREFIX={prefix} .venv/bin/mediamon search 'Lukashenko AND Putin' --lang ru\n"
        f"     and `... similar --seed {seed} --explain ID` (ids in `... similar --seed {seed} --json`)\n"
        "  2. make up: Airflow polls the feeds of seeds/feeds.yaml every 15 minutes (UI on http://localhost:8080);\n"
        "     `mediamon kibana import --url http://localhost:5601` loads the dashboards into your Kibana\n"
        f"  3. write a seed story of your own: `mediamon seeds add FILE`, then `MEDIAMON_INDEX_PREFIX={prefix}"
        " .venv/bin/mediamon rescore`\n"
        f"The demo's indices are prefixed {prefix!r}: `mediamon demo --remove` deletes them."
    )
