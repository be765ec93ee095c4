"""`mediamon run`, `import`, `reindex` and `runs`: getting articles in, and what the runs did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mediamon.cli.app import app, json_error, report_error
from mediamon.cli.common import JsonFlag, console, healthy_client, print_report, progress_bars, say, warn, when
from mediamon.core.errors import ConfigError, Interrupted, MediamonError, UsageError
from mediamon.core.runs import RunReport
from mediamon.core.settings import Settings, get_settings


@app.command("run")
def run(
    feeds: Annotated[Path | None, typer.Option(help="Feed list (default: settings feeds_path).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Poll every feed once, fetch and enrich new articles, and index them. Exit code 1 when Elasticsearch was away
    or the page-fetching process died (what was polled waits in the spool for the next run), or when no feed could
    be read at all; 3 when the feed list has bad entries (the others ran), 130 when stopped with Ctrl-C (what it had
    polled waits in the spool too)."""
    from enrich.seed_files import check_seeds_folder
    from ingest.sources import load_sources
    from mediamon.flows.ingest_run import run_once

    settings = get_settings() if feeds is None else Settings(feeds_path=feeds)
    check_seeds_folder(settings.seeds_dir)  # a seed story enrichment cannot use stops the run before any fetching
    loaded = load_sources(settings.feeds_path)
    if not loaded.sources:
        problem = "; ".join(str(e) for e in loaded.errors) or f"{settings.feeds_path} lists no source"
        raise ConfigError(f"no feed to poll: {problem}")
    if not as_json:
        for line in loaded.shared_feeds():
            warn(line)
    try:
        with progress_bars(as_json) as progress:
            report = run_once(settings, progress=progress)
    except KeyboardInterrupt:
        raise Interrupted(
            "the run stopped; the entries it had polled wait in the spool, and the next `mediamon run` finishes them"
        ) from None
    error = _run_error(report)
    if as_json:
        print(json.dumps(report.as_dict() | (json_error(error) if error else {}), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    if error:
        if as_json:
            raise typer.Exit(code=error.exit_code)
        raise error
    if report.source_errors:
        if not as_json:  # the JSON holds them, and stays one object
            left_out = len(report.source_errors)
            console.print(f"{left_out} bad entries in {settings.feeds_path} were left out (exit code 3)")
        raise typer.Exit(code=3)


def _run_error(report: RunReport) -> MediamonError | None:
    """What made a run fail, if anything: Elasticsearch gone (the rest is spooled), or not one feed read."""
    from search.client import EsUnavailable

    if report.index_error:
        return EsUnavailable(f"{report.index_error}; {report.spooled} entries wait in the spool for the next run")
    if report.no_feed_read:
        statuses = ", ".join(f"{count} {status}" for status, count in report.feed_counts().most_common())
        return MediamonError(
            f"no feed could be read ({statuses}): check the network, a proxy or the HTTP settings, and the feed"
            " list (`mediamon feeds check`)"
        )
    return None


@app.command("import")
def import_articles(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines: url, title, body, published, …")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Enrich and index archived articles without fetching them (backfills). Exit code 3 when some lines could not
    be imported (each is named; the others are in)."""
    from mediamon.flows.backfill import import_jsonl

    try:
        with progress_bars(as_json) as progress:
            report = import_jsonl(get_settings(), file, lambda done, total: progress("lines", done, total))
    except KeyboardInterrupt:
        raise Interrupted(
            f"the import stopped; the articles indexed so far stay, and importing {file} again adds the rest (those"
            " already in count as duplicates)"
        ) from None
    summary = {
        "read": report.read,
        "indexed": report.indexed,
        "duplicates": report.duplicates,
        "errors": report.errors,
        "undated": report.undated,
    }
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        for error in report.errors:
            say(("skipped ", "yellow"), error)
        for line in report.undated:
            say(("imported undated ", "yellow"), line)
        console.print(f"read {report.read}, indexed {report.indexed}, already there {report.duplicates}")
    if report.errors and report.read == len(report.errors):
        raise UsageError(f"no line of {file} could be imported ({len(report.errors)} bad lines, named above)")
    if report.errors:
        if not as_json:
            console.print(f"{len(report.errors)} of {report.read} lines were not imported (exit code 3)")
        raise typer.Exit(code=3)


@app.command("reindex")
def reindex(
    prune: Annotated[
        bool, typer.Option("--prune", help="Only delete the article index versions the alias no longer points to.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy the articles into a new index version (current mapping, current model's vectors) and flip the alias."""
    from mediamon.flows.maintenance import article_count, reindex
    from search.index_versions import delete_unaliased

    settings = get_settings()
    client = healthy_client(settings)
    if prune:
        deleted = delete_unaliased(client, settings)
        if as_json:
            print(json.dumps({"deleted": deleted}))
        else:
            console.print(f"deleted {', '.join(deleted) or 'nothing'}")
        return
    total = article_count(client, settings)
    with progress_bars(as_json) as progress:
        report = reindex(settings, client, lambda done: progress("articles copied", done, total))
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    console.print(
        f"{report.alias} now points to {report.target}: {report.copied} articles copied from {report.source} "
        f"({report.reembedded} re-embedded with {report.model}, {report.caught_up} written meanwhile) "
        f"in {report.seconds} s"
    )
    analyzers = ", ".join(f"{code}={name}" for code, name in sorted(report.analyzers.items()))
    console.print(f"language analysers: {analyzers or 'none on this cluster (the standard analyser only)'}")
    for doc_id, reason in report.failed.items():  # written during the copy and refused by the new mapping
        say(("not copied ", "yellow"), f"{doc_id}: {reason} (it stays in {report.source})")
    console.print(f"{report.source} is kept; `mediamon reindex --prune` deletes it.")


@app.command("runs")
def runs(limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 10, as_json: JsonFlag = False) -> None:
    """The last ingest runs: when, how long, feeds by status, and where every entry of their feeds went: indexed,
    duplicate, spooled (waiting for the next run) or failed. Those four add up to the entries. A run closed while
    Elasticsearch was away shows at once from its record in the spool (`in_index` false) until a later run stores
    it; with Elasticsearch away, those runs alone are shown, and the exit code is 1 (with --json, one object:
    `{"runs": […], "error": …, "code": 1}`). A run not closed yet shows what it did so far, with its `state`:
    `running`, or `stopped` before its end (killed), its entries waiting for the next run."""
    from mediamon.flows.run_report import newest_records, open_records, spooled_records
    from search.client import EsUnavailable
    from search.run_records import recent_runs

    settings = get_settings()
    spooled = spooled_records(settings) + open_records(settings)  # before the index: none is missed meanwhile
    try:
        client = healthy_client(settings)
    except EsUnavailable as exc:
        if not spooled:
            raise
        records = newest_records(spooled, [], limit)
        error = EsUnavailable(f"{exc} Only the runs whose records wait in the spool are shown.")
        if as_json:
            print(json.dumps({"runs": records} | json_error(error), ensure_ascii=False, indent=2))
        else:
            _show_runs(records, as_json=False)
            report_error(error, as_json=False)
        raise typer.Exit(code=error.exit_code) from None
    _show_runs(newest_records(spooled, recent_runs(client, settings, limit), limit), as_json)


def _show_runs(records: list[dict], as_json: bool) -> None:
    """Run records as JSON, or a table with a note on each run that did not end plainly."""
    if as_json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Last {len(records)} runs")
    for column in ("started", "seconds", "mode", "feeds", "entries", "indexed", "dup", "spooled", "failed", "run id"):
        table.add_column(column)
    table.add_column("note")  # why a run's record is not as plain as the others
    for r in records:
        feeds = ", ".join(f"{status} {n}" for status, n in sorted(r["feeds"].items(), key=lambda kv: -kv[1]))
        failed = ", ".join(f"{stage} {n}" for stage, n in r["failed"].items())
        seconds = f"{r['seconds_total']:.1f}" if r.get("seconds_total") is not None else ""
        table.add_row(
            when(r["started_at"]),
            seconds,
            r["mode"],
            feeds,
            str(r["entries"]),
            str(r["indexed"]),
            str(r["duplicates"]),
            str(r.get("spooled", 0)),
            failed,
            r["run_id"],
            _run_note(r),
        )
    console.print(table)


def _run_note(record: dict) -> str:
    """What the table says of a run that did not end plainly: still running or stopped before its end, its record
    still in the spool, the error it stopped on, the later runs that drained its spool (and when nothing of it was
    left there)."""
    notes = {
        "running": ["running now"],
        "stopped": ["stopped before its end: the next run finishes its entries"],
    }.get(record.get("state", ""), [] if record["in_index"] else ["record in the spool, not yet in the index"])
    if record.get("error"):
        notes.append(f"stopped: {record['error']}")
    if record.get("drained_by"):
        done = f", indexed at {when(record['indexed_at'])}" if record.get("indexed_at") else ""
        notes.append(f"spool drained by {', '.join(record['drained_by'])}{done}")
    return "; ".join(notes)
