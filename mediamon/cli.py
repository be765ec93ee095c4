"""The `mediamon` command line: parses arguments, builds Settings and calls library functions."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mediamon.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mediamon.flows.ingest_run import RunReport
    from search.ranked import RankedArticle

app = typer.Typer(no_args_is_help=True, help="Media monitoring: feeds to Elasticsearch, ranked against seed stories.")
es_app = typer.Typer(no_args_is_help=True, help="The local Elasticsearch development node.")
seeds_app = typer.Typer(no_args_is_help=True, help="Seed stories.")
app.add_typer(es_app, name="es")
app.add_typer(seeds_app, name="seeds")
console = Console()
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def entry_point() -> None:
    """The `mediamon` command: the app, with an unusable configuration reported in one line and exit code 2."""
    from pydantic import ValidationError

    from mediamon.core.errors import ConfigError

    try:
        app()
    except (ConfigError, ValidationError) as exc:
        Console(stderr=True).print(f"[red]configuration error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _healthy_client(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster, or a clear error and exit 1 when it is down."""
    from search.client import EsUnavailable, check_health, make_client

    client = make_client(settings)
    try:
        check_health(client, settings.es_url)
    except EsUnavailable as exc:
        raise _fail(str(exc)) from None
    return client


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """mediamon: monitor news coverage of seed stories across languages."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@es_app.command("up")
def es_up() -> None:
    """Download (once), start and wait for the local node; reuses a healthy one."""
    from mediamon.dev.local_es import LocalEsError, es_up

    try:
        status = es_up(get_settings())
    except LocalEsError as exc:
        raise _fail(str(exc)) from None
    console.print(status.message)


@es_app.command("down")
def es_down() -> None:
    """Stop the local node."""
    from mediamon.dev.local_es import LocalEsError, es_down

    try:
        stopped = es_down(get_settings())
    except LocalEsError as exc:
        raise _fail(str(exc)) from None
    console.print("stopped" if stopped else "no local node was running")


@es_app.command("status")
def es_status() -> None:
    """Say whether the local node runs and how healthy it is."""
    from mediamon.dev.local_es import LocalEsError, es_status

    try:
        status = es_status(get_settings())
    except LocalEsError as exc:
        raise _fail(str(exc)) from None
    console.print(status.message)
    if not status.running:
        raise typer.Exit(code=3)


@es_app.command("logs")
def es_logs(lines: Annotated[int, typer.Option("--lines", "-n")] = 50) -> None:
    """The last lines of the local node's log."""
    from mediamon.dev.local_es import es_logs

    console.print(es_logs(get_settings(), lines), markup=False, highlight=False)


@app.command("run")
def run(
    feeds: Annotated[Path | None, typer.Option(help="Feed list (default: settings feeds_path).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Poll every feed once, fetch and enrich new articles, and index them."""
    from mediamon.flows.ingest_run import run_once
    from search.client import EsUnavailable

    settings = get_settings() if feeds is None else Settings(feeds_path=feeds)
    try:
        report = run_once(settings)
    except EsUnavailable as exc:
        raise _fail(str(exc)) from None
    _print_report(report, as_json)


def _print_report(report: RunReport, as_json: bool) -> None:
    summary = report.as_dict()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for error in report.source_errors:
        console.print(f"[yellow]bad source entry[/yellow] {error}")
    for url, reason in report.failed.items():
        console.print(f"[yellow]failed[/yellow] {url}: {reason}")
    console.print(
        f"feeds {summary['feeds']}; entries {report.entries}, already indexed {report.known}, "
        f"fetched {report.fetched}, indexed {report.indexed}, duplicates {report.duplicates}; seconds {report.seconds}"
    )


@app.command("similar")
def similar(
    seed: Annotated[str | None, typer.Option(help="Seed story id: rank by the relevance stored at index time.")] = None,
    url: Annotated[str | None, typer.Option(help="An article's URL: fetched now, then hybrid BM25 + kNN.")] = None,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", exists=True, dir_okay=False, help="Any text; line 1 is the title.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    since: Annotated[str | None, typer.Option(help="Published on or after (date or date math, e.g. now-7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before.")] = None,
    lang: Annotated[list[str] | None, typer.Option(help="Language code (repeatable).")] = None,
    outlet: Annotated[list[str] | None, typer.Option(help="Outlet (repeatable).")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The articles most relevant to a seed story, or most similar to an article or a text."""
    from rich.markup import escape

    from mediamon.flows.page_report import PageUnavailable
    from mediamon.flows.similar import similar_to_document, similar_to_url
    from search.client import EsUnavailable, check_health, make_client
    from search.index_versions import articles_alias
    from search.query import SearchError, make_filters
    from search.seed_matches import similar_to_seed

    if sum(x is not None for x in (seed, url, text_file)) != 1:
        raise _fail("give exactly one of --seed, --url, --text-file")
    settings = get_settings()
    client = make_client(settings)
    filters = make_filters(since, until, lang, outlet, topic)
    try:
        check_health(client, settings.es_url)
        if seed is not None:
            matches = similar_to_seed(client, articles_alias(settings), seed, top, filters)
            _print_matches(matches, f"Top {top} for seed {seed}", as_json)
            return
        if url is not None:
            hits = similar_to_url(settings, client, url, top, filters)
        else:
            title, _, body = text_file.read_text(encoding="utf-8").partition("\n")
            hits = similar_to_document(settings, client, title, body, top, filters)
    except (EsUnavailable, PageUnavailable, SearchError) as exc:
        raise _fail(escape(str(exc))) from None
    _print_matches(hits, f"Top {top} similar to {url or text_file}", as_json)


def _print_matches(matches: Sequence[RankedArticle], title: str, as_json: bool) -> None:
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


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help='Words (all required), "a phrase", AND/OR/NOT, field:value; * for all.')],
    since: Annotated[str | None, typer.Option(help="Published on or after: a date, or date math like now-7d.")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (a plain date: that whole day).")] = None,
    lang: Annotated[list[str] | None, typer.Option(help="Language code (repeatable).")] = None,
    outlet: Annotated[list[str] | None, typer.Option(help="Outlet (repeatable).")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic, e.g. belarus.protests (repeatable).")] = None,
    seed: Annotated[list[str] | None, typer.Option(help="Matched seed story id (repeatable).")] = None,
    size: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Search the articles with Lucene query syntax and filters; shows highlighted snippets."""
    from rich.markup import escape

    from search.index_versions import articles_alias
    from search.query import SearchError, make_filters, search_articles

    settings = get_settings()
    client = _healthy_client(settings)
    filters = make_filters(since, until, lang, outlet, topic, seed)
    try:
        hits = search_articles(client, articles_alias(settings), query, filters, size)
    except SearchError as exc:
        raise _fail(escape(f"search refused: {exc}")) from None
    if as_json:
        print(json.dumps([hit.as_dict() for hit in hits], ensure_ascii=False, indent=2))
        return

    def marked(fragment: str) -> str:
        return escape(fragment).replace("<em>", "[bold yellow]").replace("</em>", "[/bold yellow]")

    for rank, hit in enumerate(hits, start=1):
        title = marked(hit.highlights.get("title", [hit.title])[0])
        meta = escape(f"{(hit.published_at or '')[:10]}  {hit.language or '??'}  {hit.outlet or ''}")
        console.print(f"[bold]{rank:>2}.[/bold] {meta}  {title}", highlight=False)
        console.print(f"    [dim]{escape(hit.url)}[/dim]", highlight=False)
        for fragment in (hit.highlights.get("summary") or []) + (hit.highlights.get("body") or [])[:2]:
            console.print(f"    … {marked(fragment)} …", highlight=False)
    console.print(f"{len(hits)} articles" + (" (more with --size)" if len(hits) == size else ""))


kibana_app = typer.Typer(no_args_is_help=True, help="Kibana saved objects: data views, saved searches, dashboard.")
app.add_typer(kibana_app, name="kibana")


@kibana_app.command("export")
def kibana_export(
    path: Annotated[Path | None, typer.Argument(help="Where to write (default: ours, in search/kibana/).")] = None,
) -> None:
    """Write the saved objects as NDJSON, with data views on this deployment's index prefix."""
    from search.kibana.objects import SAVED_OBJECTS_PATH, export_saved_objects

    target = path or SAVED_OBJECTS_PATH
    count = export_saved_objects(target, get_settings().index_prefix)
    console.print(f"wrote {count} saved objects to {target}")


@kibana_app.command("import")
def kibana_import(
    url: Annotated[str, typer.Option(envvar="MEDIAMON_KIBANA_URL", help="Kibana, e.g. http://localhost:5601.")],
    file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="NDJSON (default: ours).")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="MEDIAMON_KIBANA_API_KEY")] = None,
    username: Annotated[str | None, typer.Option(envvar="MEDIAMON_KIBANA_USERNAME")] = None,
    password: Annotated[str | None, typer.Option(envvar="MEDIAMON_KIBANA_PASSWORD")] = None,
    space: Annotated[str | None, typer.Option(help="Kibana space id (default: the default space).")] = None,
    ca_cert: Annotated[Path | None, typer.Option(envvar="MEDIAMON_KIBANA_CA_CERT", exists=True)] = None,
) -> None:
    """Import (overwriting) the saved objects into Kibana."""
    from rich.markup import escape

    from search.kibana.objects import SAVED_OBJECTS_PATH, KibanaImportError, import_saved_objects

    try:
        result = import_saved_objects(
            url,
            file or SAVED_OBJECTS_PATH,
            api_key=api_key,
            username=username,
            password=password,
            space=space,
            ca_cert=ca_cert,
        )
    except KibanaImportError as exc:
        raise _fail(escape(str(exc))) from None
    console.print(f"imported {result.success_count} saved objects into {url}")


@app.command("import")
def import_articles(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines: url, title, body, published, …")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Enrich and index archived articles without fetching them (backfills)."""
    from mediamon.flows.backfill import import_jsonl
    from search.client import EsUnavailable

    try:
        report = import_jsonl(get_settings(), file)
    except EsUnavailable as exc:
        raise _fail(str(exc)) from None
    summary = {"read": report.read, "indexed": report.indexed, "duplicates": report.duplicates, "errors": report.errors}
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for error in report.errors:
        console.print(f"[yellow]skipped[/yellow] {error}", highlight=False, markup=False)
    console.print(f"read {report.read}, indexed {report.indexed}, already there {report.duplicates}")


@app.command("reindex")
def reindex(
    prune: Annotated[
        bool, typer.Option("--prune", help="Only delete the article index versions the alias no longer points to.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy the articles into a new index version (current mapping, current model's vectors) and flip the alias."""
    from rich.progress import Progress

    from mediamon.flows.maintenance import article_count, reindex
    from mediamon.flows.reindex import ReindexError, delete_unaliased

    settings = get_settings()
    client = _healthy_client(settings)
    if prune:
        deleted = delete_unaliased(client, settings)
        if as_json:
            print(json.dumps({"deleted": deleted}))
        else:
            console.print(f"deleted {', '.join(deleted) or 'nothing'}")
        return
    try:
        with Progress(console=console, transient=True, disable=as_json) as progress:
            task = progress.add_task("copying articles", total=article_count(client, settings))
            report = reindex(settings, client, lambda done: progress.update(task, completed=done))
    except (ReindexError, ValueError) as exc:
        raise _fail(str(exc)) from None
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
        console.print(f"[yellow]not copied[/yellow] {doc_id}: {reason} (it stays in {report.source})")
    console.print(f"{report.source} is kept; `mediamon reindex --prune` deletes it.")


@app.command("extract")
def extract(
    page: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A saved HTML page.")],
    url: Annotated[str | None, typer.Option(help="The URL the page was fetched from.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """What the pipeline extracts from one saved page."""
    from mediamon.flows.page_report import extraction_report

    report = extraction_report(page.read_bytes(), url)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for key, value in report.items():
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


@app.command("tag")
def tag(
    text_file: Annotated[
        Path, typer.Option("--text-file", exists=True, dir_okay=False, help="Text; line 1 is the title.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Topics, scores, matched terms, entities and dated landmarks for any text."""
    from enrich.timeline import load_timeline
    from enrich.topics import load_tagger

    title, _, body = text_file.read_text(encoding="utf-8").partition("\n")
    tagger = load_tagger(get_settings().seeds_dir)
    result = tagger.tag(title, body).to_dict()
    result["entities"] = tagger.gazetteer.surface_forms(f"{title}\n{body}")
    timeline = load_timeline(get_settings().seeds_dir / "timeline.yaml")
    result["landmarks"] = {k: d.isoformat() for k, d in timeline.named(f"{title}\n{body}").items()}
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console.print(f"topics: {', '.join(result['topics']) or '(none)'}")
    for topic, score in sorted(result["scores"].items(), key=lambda kv: -kv[1]):
        console.print(f"  {topic:24} {score:6.2f}  {', '.join(result['matched'].get(topic, []))}", highlight=False)
    for entity, forms in result["entities"].items():
        console.print(f"entity {entity}: {', '.join(forms)}", highlight=False)
    for landmark, day in result["landmarks"].items():
        console.print(f"landmark {landmark}: {day} (an undated article naming it was written after)", highlight=False)


@app.command("demo")
def demo(seed: Annotated[str, typer.Option(help="Seed story id.")] = "belarus-2020-09") -> None:
    """Serve the sample news set locally, run the pipeline once over it, and print the top matches."""
    from mediamon.dev.demo import run_demo
    from search.client import EsUnavailable

    try:
        report, matches = run_demo(get_settings(), seed)
    except EsUnavailable as exc:
        raise _fail(str(exc)) from None
    _print_report(report, as_json=False)
    _print_matches(matches, f"Top {len(matches)} of the sample news for seed {seed}", as_json=False)


@seeds_app.command("list")
def seeds_list(as_json: JsonFlag = False) -> None:
    """The seed stories in the seeds folder."""
    from enrich.seeds import load_seeds

    seeds = load_seeds(get_settings().seeds_dir)
    rows = [{"id": s.id, "title": s.title, "language": s.language, "date": s.date.isoformat()} for s in seeds]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        console.print(f"{row['id']}  {row['date']}  [{row['language']}]  {row['title']}")


@seeds_app.command("show")
def seeds_show(seed_id: str, as_json: JsonFlag = False) -> None:
    """One seed story: header and text."""
    from enrich.seeds import load_seeds

    seed = next((s for s in load_seeds(get_settings().seeds_dir) if s.id == seed_id), None)
    if seed is None:
        raise _fail(f"no seed story with id {seed_id!r}")
    data = {
        "id": seed.id,
        "title": seed.title,
        "language": seed.language,
        "date": seed.date.isoformat(),
        "summaries": seed.summaries,
        "entities": list(seed.entities),
        "topics": list(seed.topics),
        "text": seed.text,
    }
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/bold]: {value}", markup=True, highlight=False)


feeds_app = typer.Typer(no_args_is_help=True, help="The feed list and the health of every feed.")
app.add_typer(feeds_app, name="feeds")
FeedsOption = Annotated[Path | None, typer.Option("--feeds", help="Feed list (default: settings feeds_path).")]


def _when(value: object) -> str:
    """A stored time (datetime or ISO string) as `YYYY-MM-DD HH:MM` UTC; empty when unknown."""
    from datetime import UTC, datetime

    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@feeds_app.command("list")
def feeds_list(feeds: FeedsOption = None, as_json: JsonFlag = False) -> None:
    """The sources of the feeds file. Bad entries are reported with file and line (exit code 1)."""
    from rich.markup import escape

    from ingest.sources import load_sources

    loaded = load_sources(feeds or get_settings().feeds_path)
    rows = [
        source.model_dump(mode="json", include={"id", "name", "language", "country", "affiliation", "poll_minutes"})
        | {"feeds": [str(url) for url in source.feeds]}
        for source in loaded.sources
    ]
    if as_json:
        print(json.dumps({"sources": rows, "errors": [str(e) for e in loaded.errors]}, ensure_ascii=False, indent=2))
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
            console.print(f"[yellow]bad source entry[/yellow] {escape(str(error))}", highlight=False)
    if loaded.errors:
        raise typer.Exit(code=1)


@feeds_app.command("check")
def feeds_check(
    feeds: FeedsOption = None,
    source: Annotated[list[str] | None, typer.Option(help="Only these source ids (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch every feed once now and show its status and entries; nothing is indexed or stored (exit 1 on failures)."""
    from ingest.sources import load_sources
    from mediamon.core.feeds import HEALTHY
    from mediamon.flows.ingest_run import check_feeds

    settings = get_settings()
    loaded = load_sources(feeds or settings.feeds_path)
    sources = [s for s in loaded.sources if not source or s.id in source]
    if not sources:
        raise _fail("no source to check")
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
            cells = (r["source"], r["feed"], r["status"], str(r["http"] or ""), str(r["entries"]), _when(r["newest"]))
            table.add_row(*cells, r["error"] or "", style=style)
        console.print(table)
    if any(poll.status not in HEALTHY for poll, _ in results):
        raise typer.Exit(code=1)


@feeds_app.command("status")
def feeds_status(
    failing: Annotated[bool, typer.Option("--failing", help="Only feeds whose last poll failed.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The health of every polled feed, from the feed state index; failing feeds first."""
    from mediamon.core.feeds import HEALTHY
    from search.feed_records import all_states
    from search.index_versions import feeds_alias

    settings = get_settings()
    client = _healthy_client(settings)
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
            _when(s.last_fetch_at),
            _when(s.last_new_item_at),
            str(s.items_seen),
            f"{s.interval_minutes}m",
            _when(s.next_due_at),
            s.error or "",
            style="" if s.status in HEALTHY else "yellow",
        )
    console.print(table)


@feeds_app.command("extraction")
def feeds_extraction(
    days: Annotated[int | None, typer.Option("--days", min=1, help="Window (default: settings drift_days).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Extraction drift per source: the share of bodies extracted and of dates read, this window against the one
    before; a source whose share fell by 30 points or more is flagged (exit code 1)."""
    from mediamon.flows.maintenance import extraction_drift
    from search.client import EsUnavailable

    settings = get_settings()
    window = days or settings.drift_days
    try:
        rows = extraction_drift(settings, days=window)
    except EsUnavailable as exc:
        raise _fail(str(exc)) from None
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
    if any(r.drift for r in rows):
        raise typer.Exit(code=1)


@app.command("runs")
def runs(limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 10, as_json: JsonFlag = False) -> None:
    """The last ingest runs: when, how long, feeds by status, articles new / duplicate / failed, seconds per stage."""
    from search.run_records import recent_runs

    settings = get_settings()
    client = _healthy_client(settings)
    records = recent_runs(client, settings, limit)
    if as_json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Last {len(records)} runs")
    for column in ("started", "seconds", "mode", "feeds", "entries", "new", "dup", "failed", "run id"):
        table.add_column(column)
    for r in records:
        feeds = ", ".join(f"{status} {n}" for status, n in sorted(r["feeds"].items(), key=lambda kv: -kv[1]))
        failed = ", ".join(f"{stage} {n}" for stage, n in r["failed"].items())
        seconds = f"{r['seconds_total']:.1f}" if r.get("seconds_total") is not None else ""
        table.add_row(
            _when(r["started_at"]),
            seconds,
            r["mode"],
            feeds,
            str(r["entries"]),
            str(r["indexed"]),
            str(r["duplicates"]),
            failed,
            r["run_id"],
        )
    console.print(table)


alerts_app = typer.Typer(no_args_is_help=True, help="Alert emails of new matching coverage (seeds/subscriptions.yaml).")
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
def alerts_list(as_json: JsonFlag = False) -> None:
    """The subscriptions. Bad entries are reported with file and line (exit code 1)."""
    from rich.markup import escape

    from mediamon.alerts.render import Labels, describe_follows
    from mediamon.alerts.subscriptions import load_subscriptions

    settings = get_settings()
    loaded = load_subscriptions(settings.subscriptions_path, settings.seeds_dir)
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
            console.print(f"[yellow]bad subscription[/yellow] {escape(str(error))}", highlight=False)
    if loaded.errors:
        raise typer.Exit(code=1)


@alerts_app.command("run")
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
    from rich.markup import escape

    from mediamon.alerts.run import RunStatus, UnknownSubscription, run_alerts
    from search.client import EsUnavailable

    try:
        result = run_alerts(get_settings(), subscription_ids=subscription, dry_run=dry_run, force=force)
    except (EsUnavailable, UnknownSubscription, ValueError) as exc:
        raise _fail(escape(str(exc))) from None
    if as_json:
        rows = [o.as_dict() | ({"text": o.email.text} if dry_run and o.email else {}) for o in result.outcomes]
        print(json.dumps({"outcomes": rows, "invalid": result.invalid}, ensure_ascii=False, indent=2))
    else:
        for o in result.outcomes:
            line = f"{o.subscription}: {o.status}"
            if o.stories:
                line += f", {o.stories} stories ({o.articles} articles, {o.omitted} over the cap)"
            console.print(escape(line + (f": {o.error}" if o.error else "")), highlight=False)
            for address, reason in o.refused.items():
                console.print(f"  [yellow]refused[/yellow] {escape(address)}: {escape(reason)}", highlight=False)
            if o.status is RunStatus.DRY_RUN and o.email:
                print(f"To: {', '.join(o.email.recipients)}\nSubject: {o.email.subject}\n\n{o.email.text}")
        for error in result.invalid:
            console.print(f"[yellow]bad subscription[/yellow] {escape(error)}", highlight=False)
    if result.failed or result.invalid:
        raise typer.Exit(code=1)


@alerts_app.command("preview")
def alerts_preview(
    subscription_id: Annotated[str, typer.Argument(help="Subscription id.")],
    html: Annotated[Path | None, typer.Option("--html", dir_okay=False, help="Write the HTML part here.")] = None,
    days: Annotated[
        int | None, typer.Option(min=1, help="Show every match of the last DAYS days, already sent or not.")
    ] = None,
) -> None:
    """The email the subscription would get now, digests included; prints the text part. Sends and records nothing."""
    from datetime import timedelta

    from rich.markup import escape

    from mediamon.alerts.run import UnknownSubscription, run_alerts
    from search.client import EsUnavailable

    lookback = timedelta(days=days) if days else None
    try:
        result = run_alerts(
            get_settings(), subscription_ids=[subscription_id], dry_run=True, force=True, lookback=lookback
        )
    except (EsUnavailable, UnknownSubscription) as exc:
        raise _fail(escape(str(exc))) from None
    outcome = result.outcomes[0]
    if outcome.email is None:
        console.print(escape(f"{subscription_id}: {outcome.error or 'no new matching story'} (try --days)"))
        raise typer.Exit(code=1 if outcome.error else 0)
    print(f"To: {', '.join(outcome.email.recipients)}\nSubject: {outcome.email.subject}\n\n{outcome.email.text}")
    if html:
        html.write_text(outcome.email.html, encoding="utf-8")
        console.print(f"wrote the HTML part to {html}")
