"""What every command shares: the console, the `--json` flag, one-line failures, tables of runs and matches."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.style import Style
from rich.table import Table
from rich.text import Text

from mediamon.core.errors import MediamonError, UsageError
from mediamon.core.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mediamon.core.runs import RunReport
    from search.ranked import RankedArticle


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """A reader that closed standard output ends the command as it does for `print`: in the app (`app.py`),
        not with rich's own exit code."""
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


# Tables as wide as they need when the output is no terminal (a pipe, a file, a cron mail), where rich would take 80
# columns and cut every cell; COLUMNS, when set, still decides.
PIPED_WIDTH = 200
# Nothing printed is read as rich markup: titles, URLs and messages may hold brackets. Styles go through `say`.
console = _Console(
    markup=False,
    highlight=False,
    soft_wrap=True,
    width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def say(*parts: str | tuple[str, str]) -> None:
    """Print one line made of plain strings and (text, style) pairs."""
    console.print(Text.assemble(*parts))


def warn(line: str) -> None:
    """One `warning: …` line on stderr; the command goes on."""
    Console(stderr=True, soft_wrap=True).print(Text.assemble(("warning: ", "yellow"), line), highlight=False)


@contextmanager
def progress_bars(quiet: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A `progress(what, done, total)` callback drawing one bar per `what` on the terminal (stderr); it draws
    nothing when `quiet` (--json) or when stderr is no terminal (a pipe, a log file, Airflow)."""
    screen = Console(stderr=True)
    with Progress(console=screen, transient=True, disable=quiet or not screen.is_terminal) as bars:
        tasks: dict[str, TaskID] = {}

        def update(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = bars.add_task(what, total=total)
            bars.update(tasks[what], completed=done, total=total)

        yield update


def check_folder_of(path: Path) -> None:
    """UsageError (one line, exit code 2) when the folder a file is to be written in is not there: said before the
    work, not after it."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: there is no folder {folder}; create it or write elsewhere")


def fail(message: str) -> MediamonError:
    """An error to raise: the command stops with `error: message` (one line) and exit code 1."""
    return MediamonError(message)


def healthy_client(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster; EsUnavailable (one line, exit 1) when it is down."""
    from search.client import check_health, make_client

    client = make_client(settings)
    check_health(client, settings.es_url)
    return client


def when(value: object) -> str:
    """A stored time (datetime or ISO string) as `YYYY-MM-DD HH:MM` UTC; empty when unknown."""
    from datetime import UTC, datetime

    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def print_report(report: RunReport) -> None:
    """A run's summary: bad sources and failed entries a line each, then the counts, which add up to the entries."""
    summary = report.as_dict()
    for error in report.source_errors:
        say(("bad source entry ", "yellow"), error)
    for url, reason in report.failed.items():
        say(("failed ", "yellow"), f"{url}: {reason}")
    rules = ", ".join(f"{n} {rule}" for rule, n in report.duplicate_rules.most_common())
    console.print(
        f"feeds {summary['feeds']}; entries {report.entries}: indexed {report.indexed}, "
        f"duplicates {report.duplicates}{f' ({rules})' if rules else ''}, spooled {report.spooled}, "
        f"failed {summary['failed']}; pages read in full {report.fetched}",
    )
    if report.drained:
        runs = ", ".join(report.drained_runs)
        console.print(f"from the spool of {runs}: {dict(report.drained)}")
    if report.retried:
        console.print(f"pages fetched again: {dict(report.retried)}")


def url_text(url: str, style: str = "dim") -> Text:
    """A URL, clickable where the terminal supports hyperlinks."""
    return Text(url, style=Style.parse(style) + Style(link=url) if url.startswith(("http://", "https://")) else style)


def link(title: str, url: str) -> Text:
    """A title that is a hyperlink where the terminal supports one, with the URL below it."""
    return Text.assemble(Text(title, style=Style(link=url) if url else ""), "\n", url_text(url))


def print_matches(matches: Sequence[RankedArticle], title: str, as_json: bool) -> None:
    """Ranked articles: JSON, or a table with each article's link and why it ranks there."""
    if as_json:
        print(json.dumps([m.as_dict() for m in matches], ensure_ascii=False, indent=2))
        return
    table = Table(title=title)
    for column in ("rank", "score", "title", "outlet", "date", "lang", "why"):
        table.add_column(column, overflow="fold")
    for m in matches:
        cells = (str(m.rank), f"{m.score:.3f}")
        table.add_row(
            *cells, link(m.title, m.url), m.outlet or "", (m.published_at or "")[:10], m.language or "", m.why()
        )
    console.print(table)
