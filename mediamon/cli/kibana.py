"""`mediamon kibana export|import`: the saved objects analysts use in Kibana."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import console
from mediamon.core.settings import get_settings

group = typer.Typer(no_args_is_help=True, help="Kibana saved objects: data views, saved searches, dashboard.")
app.add_typer(group, name="kibana")


@group.command("export")
def kibana_export(
    path: Annotated[
        Path | None, typer.Argument(dir_okay=False, help="File to write, *.ndjson (default: standard output).")
    ] = None,
) -> None:
    """Write the saved objects as NDJSON, with data views on this deployment's index prefix."""
    from search.kibana.objects import export_saved_objects, saved_objects, to_ndjson

    prefix = get_settings().index_prefix
    if path is None:
        sys.stdout.write(to_ndjson(saved_objects(prefix)))
        return
    count = export_saved_objects(path, prefix)
    console.print(f"wrote {count} saved objects to {path}")


@group.command("import")
def kibana_import(
    url: Annotated[str, typer.Option(envvar="MEDIAMON_KIBANA_URL", help="Kibana, e.g. http://localhost:5601.")],
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="*.ndjson (default: ours, for this deployment's index prefix)."),
    ] = None,
    api_key: Annotated[str | None, typer.Option(envvar="MEDIAMON_KIBANA_API_KEY")] = None,
    username: Annotated[str | None, typer.Option(envvar="MEDIAMON_KIBANA_USERNAME")] = None,
    password: Annotated[str | None, typer.Option(envvar="MEDIAMON_KIBANA_PASSWORD")] = None,
    space: Annotated[str | None, typer.Option(help="Kibana space id (default: the default space).")] = None,
    ca_cert: Annotated[Path | None, typer.Option(envvar="MEDIAMON_KIBANA_CA_CERT", exists=True)] = None,
) -> None:
    """Import (overwriting) the saved objects into Kibana, with data views on this deployment's index prefix."""
    from search.kibana.objects import import_saved_objects

    result = import_saved_objects(
        url,
        file,
        index_prefix=get_settings().index_prefix,
        api_key=api_key,
        username=username,
        password=password,
        space=space,
        ca_cert=ca_cert,
    )
    console.print(f"imported {result.success_count} saved objects into {url}")
