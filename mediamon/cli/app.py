"""The `mediamon` app: its global options, and how an expected failure reaches the person: one line (or a JSON
object with `--json`), no traceback unless `--debug` or `MEDIAMON_DEBUG`, and the error's exit code. A reader that
stops reading (`| head`) ends a command quietly, with exit code 0."""

from __future__ import annotations

import difflib
import io
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from mediamon.cli.common import warn
from mediamon.core.entry_files import decode_utf8
from mediamon.core.errors import ConfigError, MediamonError
from mediamon.core.settings import Settings

# Quiet unless asked: the Elasticsearch client logs a warning and a traceback for every retry of an unreachable node,
# trafilatura an ERROR line for every page that is no HTML (the extraction's status says it).
NOISY_LOGGERS = ("elastic_transport", "elasticsearch", "httpx", "trafilatura", "htmldate", "transformers")
OTHER_VARIABLES = frozenset({"MEDIAMON_IMAGE_TAG"})  # docker-compose's, not the command's
TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


class MediamonGroup(TyperGroup):
    """Runs a command; an expected failure becomes one line naming the problem and the fix, and a reader that closed
    standard output ends it quietly."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["json"] = "--json" in args  # errors, too, are JSON then
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            try:
                return self._reporting(ctx)
            finally:
                sys.stdout.flush()  # what is still buffered meets a closed pipe here, not as the interpreter exits
        except BrokenPipeError:
            stdout_closed()

    def _reporting(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (MediamonError, ValidationError, SettingsError) as exc:
            if ctx.params.get("debug") or debug_wanted():
                raise
            error = as_mediamon_error(exc)
            report_error(error, ctx.meta.get("json", False))
            raise typer.Exit(code=error.exit_code) from None


def stdout_closed() -> NoReturn:
    """End quietly, with exit code 0: the reader of standard output closed it (`| head`), and what is left to print
    goes nowhere (https://docs.python.org/3/library/signal.html#note-on-sigpipe). Not 141, as for a process SIGPIPE
    ends: a large write that the reader cuts short returns as if whole, so the same command could exit either way."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(code=0)


def debug_wanted() -> bool:
    """Whether `MEDIAMON_DEBUG` says yes (1, true, yes, on), read as the `--debug` option reads it."""
    return os.environ.get("MEDIAMON_DEBUG", "").strip().lower() in TRUE


def as_mediamon_error(exc: MediamonError | ValidationError | SettingsError) -> MediamonError:
    """The error itself, or a configuration error naming the setting (as its `MEDIAMON_*` variable) and why."""
    if isinstance(exc, MediamonError):
        return exc
    if isinstance(exc, SettingsError):  # a list or mapping that is no JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"MEDIAMON_{field.group(1).upper()}" if field else "a setting"
        return ConfigError(f"{name} cannot be read: a list or mapping is written as JSON, e.g. '[\"127.0.0.1\"]'")
    return ConfigError(_one_line(exc))


def _one_line(exc: ValidationError) -> str:
    def where(location: tuple[int | str, ...]) -> str:
        if exc.title == Settings.__name__:
            return f"MEDIAMON_{str(location[0]).upper()}: " if location else ""
        return f"{'.'.join(map(str, location)) or 'value'}: "

    return "; ".join(f"{where(e['loc'])}{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())


def _variables(command: click.Command) -> set[str]:
    """The `MEDIAMON_*` variables the command line's own options read (e.g. MEDIAMON_KIBANA_URL)."""
    names = {p.envvar for p in command.params if isinstance(p.envvar, str)}
    for sub in getattr(command, "commands", {}).values():
        names |= _variables(sub)
    return names


def _dotenv_names(path: Path) -> list[str]:
    """The names a `.env` file sets (the settings read it too); one that is no UTF-8 text is a configuration error
    naming its line."""
    if not path.is_file():
        return []
    return list(dotenv_values(stream=io.StringIO(decode_utf8(path.read_bytes(), path.resolve()))))


def warn_unknown_variables(command: click.Command) -> None:
    """A warning line for each `MEDIAMON_*` name in the environment or `.env` that nothing reads (a typo would
    otherwise go unnoticed: `MEDIAMON_INDEX_PREFX` and the production indices are used)."""
    known = {f"MEDIAMON_{name.upper()}" for name in Settings.model_fields} | _variables(command) | OTHER_VARIABLES
    given = [*os.environ, *_dotenv_names(Path(".env"))]
    for name in dict.fromkeys(n for n in given if n.upper().startswith("MEDIAMON_") and n.upper() not in known):
        near = difflib.get_close_matches(name.upper(), known, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        warn(f"{name} is no mediamon setting and is ignored{hint}")


def json_error(error: MediamonError) -> dict[str, Any]:
    """The error as `--json` gives it: `{"error": …, "code": …}`, alone or merged into what the command shows."""
    return {"error": " ".join(str(error).split()), "code": error.exit_code}


def report_error(error: MediamonError, as_json: bool) -> None:
    """The error as a person reads it: `error: …` (or `configuration error: …`) on stderr, or
    `{"error": …, "code": …}` on stdout with --json.
    Never read as rich markup: a message may hold brackets (a regex, a list)."""
    message = " ".join(str(error).split())
    if as_json:
        print(json.dumps(json_error(error), ensure_ascii=False))
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
        warn_unknown_variables(typer.main.get_command(app))
        app()
    except (MediamonError, ValidationError, SettingsError) as exc:
        if debug_wanted() or "--debug" in sys.argv:
            raise
        error = as_mediamon_error(exc)
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
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING if verbose else logging.CRITICAL)
