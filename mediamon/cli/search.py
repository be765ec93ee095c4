"""`mediamon search`, `similar`, `extract` and `tag`: finding articles, and what the pipeline reads of a text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, fail, healthy_client, print_matches
from mediamon.core.settings import get_settings


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
        raise fail("give exactly one of --seed, --url, --text-file")
    settings = get_settings()
    client = make_client(settings)
    filters = make_filters(since, until, lang, outlet, topic)
    try:
        check_health(client, settings.es_url)
        if seed is not None:
            matches = similar_to_seed(client, articles_alias(settings), seed, top, filters)
            print_matches(matches, f"Top {top} for seed {seed}", as_json)
            return
        if url is not None:
            hits = similar_to_url(settings, client, url, top, filters)
        else:
            title, _, body = text_file.read_text(encoding="utf-8").partition("\n")
            hits = similar_to_document(settings, client, title, body, top, filters)
    except (EsUnavailable, PageUnavailable, SearchError) as exc:
        raise fail(escape(str(exc))) from None
    print_matches(hits, f"Top {top} similar to {url or text_file}", as_json)


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
    client = healthy_client(settings)
    filters = make_filters(since, until, lang, outlet, topic, seed)
    try:
        hits = search_articles(client, articles_alias(settings), query, filters, size)
    except SearchError as exc:
        raise fail(escape(f"search refused: {exc}")) from None
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
    """Topics, scores, matched terms, entities (and the aliases that found them, generated ones included) and dated
    landmarks for any text."""
    from enrich.seed_aliases import load_seed_tagger
    from enrich.timeline import load_timeline

    settings = get_settings()
    title, _, body = text_file.read_text(encoding="utf-8").partition("\n")
    timeline = load_timeline(settings.seeds_dir / "timeline.yaml")
    tagger, seed_entities = load_seed_tagger(settings.seeds_dir, data_dir=settings.data_dir)
    result = tagger.tag(title, body).to_dict()
    result["entities"] = tagger.gazetteer.surface_forms(f"{title}\n{body}")
    result["aliases"] = tagger.gazetteer.aliases_found(f"{title}\n{body}")
    generated = {made.id for names in seed_entities.generated.values() for made in names.values()}
    result["generated_entities"] = sorted(generated & set(result["entities"]))
    result["landmarks"] = {k: d.isoformat() for k, d in timeline.named(f"{title}\n{body}").items()}
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console.print(f"topics: {', '.join(result['topics']) or '(none)'}")
    for topic, score in sorted(result["scores"].items(), key=lambda kv: -kv[1]):
        console.print(f"  {topic:24} {score:6.2f}  {', '.join(result['matched'].get(topic, []))}", highlight=False)
    for entity, by_alias in result["aliases"].items():
        mark = " (generated)" if entity in result["generated_entities"] else ""
        fired = "; ".join(f"{alias} -> {', '.join(forms)}" for alias, forms in by_alias.items())
        console.print(f"entity {entity}{mark}: {fired}", highlight=False)
    for landmark, day in result["landmarks"].items():
        console.print(f"landmark {landmark}: {day} (an undated article naming it was written after)", highlight=False)
