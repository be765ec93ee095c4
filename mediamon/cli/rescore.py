"""`mediamon rescore`: the indexed articles scored again against the seed stories of now, in place."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, healthy_client, progress_bars, say
from mediamon.core.settings import get_settings

SHOWN_FAILURES = 20


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
    from mediamon.flows.rescore import articles_in_scope, rescore_seeds

    settings = get_settings()
    client = healthy_client(settings)
    total = articles_in_scope(client, settings, since)
    with progress_bars(as_json) as progress:
        report = rescore_seeds(settings, client, seed, since, lambda done: progress("articles", done, total))
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    console.print(
        f"{report.alias}: {report.scanned} articles read, scored for {', '.join(report.seeds) or 'no seed'}: "
        f"{report.updated} updated, {report.unchanged} already right, {len(report.failed)} failed, "
        f"in {report.seconds} s"
    )
    if report.cleared:
        console.print(f"scores removed of seeds no longer in the seeds folder: {', '.join(report.cleared)}")
    for doc_id, reason in list(report.failed.items())[:SHOWN_FAILURES]:
        say(("not rescored ", "yellow"), f"{doc_id}: {reason}")
    if len(report.failed) > SHOWN_FAILURES:
        console.print(f"… and {len(report.failed) - SHOWN_FAILURES} more (`--json` lists them all)")
