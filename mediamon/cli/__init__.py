"""The `mediamon` command line: one module per command group; each parses arguments, calls library functions and
prints. Importing the modules registers their commands on `app`."""

from mediamon.cli import alerts, es, export, feeds, ingest, kibana, rescore, search, seeds  # noqa: F401  (registers)
from mediamon.cli.app import app, entry_point

__all__ = ["app", "entry_point"]
