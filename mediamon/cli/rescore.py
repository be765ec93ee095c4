"""`mediamon rescore`: the indexed articles scored again against the seed stories of now, in place."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, fail, healthy_client
from mediamon.core.settings import get_settings


@app.command("rescore")
def rescore(
    seed: Annotated[
        str | None, typer.Option(help="Only this seed (one removed from the seeds folder: its scores are removed).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only articles published or fetched on or after: a date, or now-7d.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute seed scores, matched seeds and reasons of the indexed articles, without fetching them again; the
    scores of seeds no longer in the seeds folder are removed. Running it twice changes nothing."""
    from rich.markup import escape
    from rich.progress import Progress

    from mediamon.flows.rescore import RescoreError, articles_in_scope, rescore_seeds

    settings = get_settings()
    client = healthy_client(settings)
    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal or as_json) as progress:
            task = progress.add_task("rescoring articles", total=articles_in_scope(client, settings, since))
            report = rescore_seeds(settings, client, seed, since, lambda done: progress.update(task, completed=done))
    except RescoreError as exc:
        raise fail(escape(str(exc))) from None
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    seeds = ", ".join(report.seeds) or "no seed"
    console.print(
        f"{report.alias}: {report.scanned} articles read, scored for {seeds}: {report.updated} updated, "
        f"{report.unchanged} already right, {len(report.failed)} failed, in {report.seconds} s",
        highlight=False,
    )
    if report.cleared:
        console.print(f"scores removed of seeds no longer in the seeds folder: {', '.join(report.cleared)}")
    for doc_id, reason in list(report.failed.items())[:20]:
        console.print(f"[yellow]not rescored[/yellow] {escape(doc_id)}: {escape(reason)}", highlight=False)
    if len(report.failed) > 20:
        console.print(f"… and {len(report.failed) - 20} more (`--json` lists them all)")
