"""What every command shares: the console, the `--json` flag, one-line failures, tables of runs and matches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mediamon.core.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mediamon.core.runs import RunReport
    from search.ranked import RankedArticle

console = Console()
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def healthy_client(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster, or a clear error and exit 1 when it is down."""
    from search.client import EsUnavailable, check_health, make_client

    client = make_client(settings)
    try:
        check_health(client, settings.es_url)
    except EsUnavailable as exc:
        raise fail(str(exc)) from None
    return client


def when(value: object) -> str:
    """A stored time (datetime or ISO string) as `YYYY-MM-DD HH:MM` UTC; empty when unknown."""
    from datetime import UTC, datetime

    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def print_report(report: RunReport, as_json: bool) -> None:
    """A run's summary: bad sources and failed entries a line each, then the counts, which add up to the entries."""
    summary = report.as_dict()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for error in report.source_errors:
        console.print(f"[yellow]bad source entry[/yellow] {escape(error)}", highlight=False)
    for url, reason in report.failed.items():
        console.print(f"[yellow]failed[/yellow] {escape(url)}: {escape(reason)}", highlight=False)
    rules = ", ".join(f"{n} {rule}" for rule, n in report.duplicate_rules.most_common())
    console.print(
        f"feeds {summary['feeds']}; entries {report.entries}: indexed {report.indexed}, "
        f"duplicates {report.duplicates}{f' ({rules})' if rules else ''}, spooled {report.spooled}, "
        f"failed {summary['failed']}; pages fetched {report.fetched}",
        highlight=False,
    )
    if report.drained:
        runs = ", ".join(report.drained_runs)
        console.print(f"from the spool of {runs}: {dict(report.drained)}", highlight=False)
    if report.retried:
        console.print(f"pages fetched again: {dict(report.retried)}", highlight=False)


def print_matches(matches: Sequence[RankedArticle], title: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps([m.as_dict() for m in matches], ensure_ascii=False, indent=2))
        return
    table = Table(title=title)
    for column in ("rank", "score", "title", "outlet", "date", "lang"):
        table.add_column(column)
    for m in matches:
        table.add_row(
            str(m.rank),
            f"{m.score:.3f}",
            m.title,
            m.outlet or "",
            (m.published_at or "")[:10],
            m.language or "",
        )
    console.print(table)
