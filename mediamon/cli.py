"""The `mediamon` command line: parses arguments, builds Settings and calls library functions."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mediamon.settings import Settings, get_settings

if TYPE_CHECKING:
    from mediamon.pipeline import RunReport
    from search.similar import Match

app = typer.Typer(no_args_is_help=True, help="Media monitoring: feeds to Elasticsearch, ranked against seed stories.")
es_app = typer.Typer(no_args_is_help=True, help="The local Elasticsearch development node.")
seeds_app = typer.Typer(no_args_is_help=True, help="Seed stories.")
app.add_typer(es_app, name="es")
app.add_typer(seeds_app, name="seeds")
console = Console()
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """mediamon: monitor news coverage of seed stories across languages."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@es_app.command("up")
def es_up() -> None:
    """Download (once), start and wait for the local node; reuses a healthy one."""
    from mediamon.local_es import LocalEsError, es_up

    try:
        status = es_up(get_settings())
    except LocalEsError as exc:
        raise _fail(str(exc)) from None
    console.print(status.message)


@es_app.command("down")
def es_down() -> None:
    """Stop the local node."""
    from mediamon.local_es import LocalEsError, es_down

    try:
        stopped = es_down(get_settings())
    except LocalEsError as exc:
        raise _fail(str(exc)) from None
    console.print("stopped" if stopped else "no local node was running")


@es_app.command("status")
def es_status() -> None:
    """Say whether the local node runs and how healthy it is."""
    from mediamon.local_es import LocalEsError, es_status

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
    from mediamon.local_es import es_logs

    console.print(es_logs(get_settings(), lines), markup=False, highlight=False)


@app.command("run")
def run(
    feeds: Annotated[Path | None, typer.Option(help="Feed list (default: settings feeds_path).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Poll every feed once, fetch and enrich new articles, and index them."""
    from mediamon.pipeline import run_once
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
    seed: Annotated[str, typer.Option(help="Seed story id.")],
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: JsonFlag = False,
) -> None:
    """The articles most relevant to a seed story."""
    from search.client import EsUnavailable, check_health, make_client
    from search.indices import articles_alias
    from search.similar import similar_to_seed

    settings = get_settings()
    client = make_client(settings)
    try:
        check_health(client, settings.es_url)
    except EsUnavailable as exc:
        raise _fail(str(exc)) from None
    matches = similar_to_seed(client, articles_alias(settings), seed, top)
    _print_matches(matches, f"Top {top} for seed {seed}", as_json)


def _print_matches(matches: list[Match], title: str, as_json: bool) -> None:
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


@app.command("tag")
def tag(
    text_file: Annotated[
        Path, typer.Option("--text-file", exists=True, dir_okay=False, help="Text; line 1 is the title.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Topics, scores, matched terms and entities for any text."""
    from enrich.topics import default_tagger

    title, _, body = text_file.read_text(encoding="utf-8").partition("\n")
    tagger = default_tagger()
    result = tagger.tag(title, body).to_dict()
    result["entities"] = tagger.gazetteer.surface_forms(f"{title}\n{body}")
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console.print(f"topics: {', '.join(result['topics']) or '(none)'}")
    for topic, score in sorted(result["scores"].items(), key=lambda kv: -kv[1]):
        console.print(f"  {topic:24} {score:6.2f}  {', '.join(result['matched'].get(topic, []))}", highlight=False)
    for entity, forms in result["entities"].items():
        console.print(f"entity {entity}: {', '.join(forms)}", highlight=False)


@app.command("demo")
def demo(seed: Annotated[str, typer.Option(help="Seed story id.")] = "belarus-2020-09") -> None:
    """Serve the sample news set locally, run the pipeline once over it, and print the top matches."""
    from mediamon.demo import run_demo
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
