"""The `mediamon` app: its global options, and how an expected failure reaches the person: one line (or a JSON
object with `--json`), no traceback unless `--debug` or `MEDIAMON_DEBUG`, and the error's exit code."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from mediamon.core.errors import ConfigError, MediamonError

# Quiet unless asked: the Elasticsearch client logs a warning and a traceback for every retry of an unreachable node.
NOISY_LOGGERS = ("elastic_transport", "elasticsearch", "httpx", "trafilatura", "htmldate")


class MediamonGroup(TyperGroup):
    """Runs a command; an expected failure becomes one line naming the problem and the fix."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["json"] = "--json" in args  # errors, too, are JSON then
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        as_json = ctx.meta.get("json", False)
        try:
            return super().invoke(ctx)
        except (MediamonError, ValidationError) as exc:
            if ctx.params.get("debug") or os.environ.get("MEDIAMON_DEBUG"):
                raise
            error = exc if isinstance(exc, MediamonError) else ConfigError(_one_line(exc))
            report_error(error, as_json)
            raise typer.Exit(code=error.exit_code) from None


def _one_line(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())


def report_error(error: MediamonError, as_json: bool) -> None:
    """The error as a person reads it: `error: …` (or `configuration error: …`) on stderr, or
    `{"error": …, "code": …}` on stdout with --json.
    Never read as rich markup: a message may hold brackets (a regex, a list)."""
    message = " ".join(str(error).split())
    if as_json:
        print(json.dumps({"error": message, "code": error.exit_code}, ensure_ascii=False))
    else:
        line = Text.assemble((f"{error.label}: ", "red"), message)
        Console(stderr=True, soft_wrap=True).print(line, highlight=False)


app = typer.Typer(
    cls=MediamonGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Media monitoring: feeds to Elasticsearch, ranked against seed stories.",
)


def entry_point() -> None:
    """The `mediamon` command. A configuration that cannot even be read (settings in the environment) is reported
    here, before any command runs."""
    try:
        app()
    except (MediamonError, ValidationError) as exc:
        if os.environ.get("MEDIAMON_DEBUG") or "--debug" in sys.argv:
            raise
        error = exc if isinstance(exc, MediamonError) else ConfigError(_one_line(exc))
        report_error(error, "--json" in sys.argv)
        raise SystemExit(error.exit_code) from None


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what the stages do.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="MEDIAMON_DEBUG", help="Show tracebacks and every library log line.")
    ] = False,
) -> None:
    """mediamon: monitor news coverage of seed stories across languages."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)
