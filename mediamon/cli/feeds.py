"""`mediamon feeds list|check|status|extraction`: the feed list and the health of every feed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, healthy_client, say, warn, when
from mediamon.core.errors import UsageError
from mediamon.core.settings import get_settings

group = typer.Typer(no_args_is_help=True, help="The feed list and the health of every feed.")
app.add_typer(group, name="feeds")
FeedsOption = Annotated[Path | None, typer.Option("--feeds", help="Feed list (default: settings feeds_path).")]


@group.command("list")
def feeds_list(feeds: FeedsOption = None, as_json: JsonFlag = False) -> None:
    """The sources of the feeds file. Bad entries are named with file and line: exit code 3 (the rest is listed, as
    `run` polls it), or 2 when no entry is usable."""

    from ingest.sources import load_sources

    loaded = load_sources(feeds or get_settings().feeds_path)
    rows = [
        source.model_dump(mode="json", include={"id", "name", "language", "country", "affiliation", "poll_minutes"})
        | {"feeds": [str(url) for url in source.feeds]}
        for source in loaded.sources
    ]
    shared = loaded.shared_feeds()
    if as_json:
        report = {"sources": rows, "errors": [str(e) for e in loaded.errors], "warnings": shared}
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"{len(rows)} sources, {sum(len(r['feeds']) for r in rows)} feeds")
        for column in ("id", "name", "lang", "country", "affiliation", "poll", "feeds"):
            table.add_column(column, overflow="fold")
        for r in rows:
            poll = str(r["poll_minutes"] or "")
            cells = (r["id"], r["name"], r["language"] or "", r["country"] or "", r["affiliation"] or "", poll)
            table.add_row(*cells, "\n".join(r["feeds"]))
        console.print(table)
        for error in loaded.errors:
            say(("bad source entry ", "yellow"), str(error))
        for line in shared:
            warn(line)
    if loaded.errors:
        raise typer.Exit(code=3 if loaded.sources else 2)


@group.command("check")
def feeds_check(
    feeds: FeedsOption = None,
    source: Annotated[list[str] | None, typer.Option(help="Only these source ids (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch every feed once now and show its status and entries; nothing is indexed or stored (exit 1 on failures)."""
    from ingest.sources import load_sources
    from mediamon.core.feeds import HEALTHY
    from mediamon.flows.feed_polling import check_feeds

    settings = get_settings()
    loaded = load_sources(feeds or settings.feeds_path)
    sources = [s for s in loaded.sources if not source or s.id in source]
    if not sources:
        raise UsageError(f"no source to check (the feed list has none{' of those ids' if source else ''})")
    results = check_feeds(settings, sources)
    rows = [
        {
            "source": poll.source_id,
            "feed": poll.feed_url,
            "status": str(poll.status),
            "http": poll.http_status,
            "entries": len(entries),
            "newest": max((e.published.isoformat() for e in entries if e.published), default=None),
            "error": poll.error,
        }
        for poll, entries in sorted(results, key=lambda r: (r[0].source_id, r[0].feed_url))
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"{len(rows)} feeds checked")
        for column in ("source", "feed", "status", "http", "entries", "newest", "error"):
            table.add_column(column, overflow="fold")
        for r in rows:
            style = "" if r["status"] == "ok" else "yellow"
            cells = (r["source"], r["feed"], r["status"], str(r["http"] or ""), str(r["entries"]), when(r["newest"]))
            table.add_row(*cells, r["error"] or "", style=style)
        console.print(table)
    if any(poll.status not in HEALTHY for poll, _ in results):
        raise typer.Exit(code=1)


@group.command("status")
def feeds_status(
    failing: Annotated[bool, typer.Option("--failing", help="Only feeds whose last poll failed.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The health of every polled feed, from the feed state index; failing feeds first."""
    from mediamon.core.feeds import HEALTHY
    from search.feed_records import all_states
    from search.index_versions import feeds_alias

    settings = get_settings()
    client = healthy_client(settings)
    alias = feeds_alias(settings)
    states = list(all_states(client, alias)) if client.indices.exists_alias(name=alias) else []
    states = [s for s in states if not failing or s.status not in HEALTHY]
    states.sort(key=lambda s: (-s.consecutive_failures, s.source_id, s.feed_url))
    if as_json:
        print(json.dumps([s.to_document() for s in states], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(states)} feeds ({sum(s.status not in HEALTHY for s in states)} failing)")
    columns = ("source", "feed", "status", "fails", "last fetch", "last new", "items", "every", "next")
    for column in (*columns, "error"):
        table.add_column(column, overflow="fold")
    for s in states:
        table.add_row(
            s.source_id,
            s.feed_url,
            str(s.status),
            str(s.consecutive_failures or ""),
            when(s.last_fetch_at),
            when(s.last_new_item_at),
            str(s.items_seen),
            f"{s.interval_minutes}m",
            when(s.next_due_at),
            s.error or "",
            style="" if s.status in HEALTHY else "yellow",
        )
    console.print(table)


@group.command("extraction")
def feeds_extraction(
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, max=36500, help="Window, at most a century (default: settings drift_days)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Extraction drift per source: the share of bodies extracted and of dates read, this window against the one
    before; a source whose share fell by 30 points or more is flagged (exit code 1)."""
    from mediamon.flows.maintenance import extraction_drift

    settings = get_settings()
    window = days or settings.drift_days
    rows = extraction_drift(settings, days=window)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
    else:
        share = lambda value: "" if value is None else f"{value:.0%}"  # noqa: E731
        table = Table(title=f"Extraction by source: last {window} days against the {window} before")
        for column in ("source", "articles", "body extracted", "date read", "drift"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                r.source_id,
                f"{r.previous.articles} -> {r.current.articles}",
                f"{share(r.previous.extracted_share)} -> {share(r.current.extracted_share)}",
                f"{share(r.previous.dated_share)} -> {share(r.current.dated_share)}",
                "; ".join(r.drift),
                style="yellow" if r.drift else "",
            )
        console.print(table)
        if not rows:
            console.print(
                f"no article fetched in the last {2 * window} days under the index prefix {settings.index_prefix!r}"
            )
    if any(r.drift for r in rows):
        raise typer.Exit(code=1)
