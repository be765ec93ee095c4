"""`mediamon alerts list|run|preview`: alert emails of new matching coverage."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, check_folder_of, console, say, warn
from mediamon.core.errors import UsageError
from mediamon.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from mediamon.alerts.subscriptions import Subscription

group = typer.Typer(no_args_is_help=True, help="Alert emails of new matching coverage (seeds/subscriptions.yaml).")
app.add_typer(group, name="alerts")
MAX_DAYS = 36500  # a century; much longer windows fall off the calendar


@group.command("list")
def alerts_list(as_json: JsonFlag = False) -> None:
    """The subscriptions. Bad entries are reported with file and line (exit code 1)."""
    from rich.markup import escape

    from mediamon.alerts.render import Labels, describe_follows
    from mediamon.alerts.subscriptions import load_subscriptions

    settings = get_settings()
    loaded = load_subscriptions(settings.subscriptions_path, settings.seeds_dir)
    _check_outlets(settings, loaded.subscriptions)
    if as_json:
        rows = [s.model_dump(mode="json") for s in loaded.subscriptions]
        print(
            json.dumps({"subscriptions": rows, "errors": [str(e) for e in loaded.errors]}, ensure_ascii=False, indent=2)
        )
    else:
        table = Table(title=f"{len(loaded.subscriptions)} subscriptions")
        for column in ("id", "name", "frequency", "max", "recipients", "follows"):
            table.add_column(column, overflow="fold")
        for s in loaded.subscriptions:
            cells = (s.id, s.name, str(s.frequency), str(s.max_items), "\n".join(s.recipients))
            table.add_row(*map(escape, cells), escape(describe_follows(s, Labels())))
        console.print(table)
        for error in loaded.errors:
            say(("bad subscription ", "yellow"), str(error))
    if loaded.errors:
        raise typer.Exit(code=1)


@group.command("run")
def alerts_run(
    subscription: Annotated[
        list[str] | None, typer.Option("--subscription", "-s", help="Only this subscription id (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent, text part included; send and record nothing.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Send digests that are not due yet.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Email every due subscription its new matching stories (exit 1 when a send failed or an entry is bad)."""

    from mediamon.alerts.run import RunStatus, run_alerts

    result = run_alerts(get_settings(), subscription_ids=subscription, dry_run=dry_run, force=force)
    _warn_all(result.unknown_outlets)
    if as_json:
        rows = [o.as_dict() | ({"text": o.email.text} if dry_run and o.email else {}) for o in result.outcomes]
        print(json.dumps({"outcomes": rows, "invalid": result.invalid}, ensure_ascii=False, indent=2))
    else:
        for o in result.outcomes:
            line = f"{o.subscription}: {o.status}"
            if o.stories:
                line += f", {o.stories} stories ({o.articles} articles, {o.omitted} over the cap)"
            if o.resent:
                line += f", {o.resent} earlier emails sent to recipients refused before"
            if o.settled:
                line += f", {o.settled} earlier emails of unknown outcome counted as sent"
            console.print(line + (f": {o.error}" if o.error else ""))
            for address, reason in o.refused.items():
                say(("  refused ", "yellow"), f"{address} (owed the email): {reason}")
            if o.status is RunStatus.DRY_RUN and o.email:
                print(f"To: {', '.join(o.email.recipients)}\nSubject: {o.email.subject}\n\n{o.email.text}")
        for error in result.invalid:
            say(("bad subscription ", "yellow"), error)
    if result.failed or result.invalid:
        raise typer.Exit(code=1)


@group.command("preview")
def alerts_preview(
    subscription_id: Annotated[str, typer.Argument(help="Subscription id.")],
    html: Annotated[Path | None, typer.Option("--html", dir_okay=False, help="Write the HTML part here.")] = None,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_DAYS, help="Show every match of the last DAYS days, already sent or not."),
    ] = None,
) -> None:
    """The email the subscription would get now, digests included; prints the text part. Sends and records nothing."""
    from datetime import timedelta

    from mediamon.alerts.run import run_alerts

    if html:
        check_folder_of(html)
    lookback = timedelta(days=days) if days else None
    result = run_alerts(get_settings(), subscription_ids=[subscription_id], dry_run=True, force=True, lookback=lookback)
    _warn_all(result.unknown_outlets)
    outcome = result.outcomes[0]
    if outcome.email is None:
        console.print(f"{subscription_id}: {outcome.error or 'no new matching story'} (try --days)")
        raise typer.Exit(code=1 if outcome.error else 0)
    print(f"To: {', '.join(outcome.email.recipients)}\nSubject: {outcome.email.subject}\n\n{outcome.email.text}")
    if html:
        _write(html, outcome.email.html)
        console.print(f"wrote the HTML part to {html}")


def _warn_all(problems: Iterable[object]) -> None:
    """A warning line for each problem; the command goes on."""
    for problem in problems:
        warn(str(problem))


def _check_outlets(settings: Settings, subscriptions: Iterable[Subscription]) -> None:
    """Warn of each outlet the subscriptions follow that no feed and no indexed article has; with Elasticsearch
    down, one line saying the indexed articles could not be asked."""
    from ingest.sources import load_sources
    from mediamon.alerts.outlets import check_outlets
    from search.client import EsUnavailable, make_client

    sources = load_sources(settings.feeds_path).sources
    try:
        _warn_all(check_outlets(make_client(settings), settings, subscriptions, sources))
    except EsUnavailable as exc:
        warn(f"the subscriptions' outlets were not checked against the indexed articles: {exc}")


def _write(path: Path, text: str) -> None:
    """Write `text` to `path`; UsageError (one line) when the file cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
