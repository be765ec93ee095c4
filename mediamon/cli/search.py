"""`mediamon search`, `similar`, `extract` and `tag`: finding articles, and what the pipeline reads of a text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from mediamon.cli.app import app
from mediamon.cli.common import JsonFlag, console, healthy_client, print_matches, say, url_text
from mediamon.core.entry_files import UnreadableFile, read_utf8
from mediamon.core.errors import UsageError
from mediamon.core.settings import get_settings


@app.command("similar")
def similar(
    seed: Annotated[str | None, typer.Option(help="Seed story id: rank by the relevance stored at index time.")] = None,
    url: Annotated[str | None, typer.Option(help="An article's URL: fetched now, then hybrid BM25 + kNN.")] = None,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", exists=True, dir_okay=False, help="Any text; line 1 is the title.")
    ] = None,
    explain: Annotated[
        str | None, typer.Option(help="With --seed: every reason of this article's score (its id).", metavar="ID")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    since: Annotated[str | None, typer.Option(help="Published on or after (date or date math, e.g. now-7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before.")] = None,
    lang: Annotated[list[str] | None, typer.Option(help="Language code (repeatable).")] = None,
    outlet: Annotated[list[str] | None, typer.Option(help="Outlet (repeatable).")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The articles most relevant to a seed story, or most similar to an article or a text, each with why."""
    from enrich.seeds import find_seed, load_seeds
    from mediamon.flows.similar import similar_to_document, similar_to_url
    from search.index_versions import articles_alias
    from search.query import make_filters
    from search.seed_matches import seed_reasons_of, similar_to_seed

    if sum(x is not None for x in (seed, url, text_file)) != 1:
        raise UsageError("give exactly one of --seed, --url, --text-file")
    if explain is not None and seed is None:
        raise UsageError("--explain goes with --seed: the reasons are those of a seed's score")
    document = read_text_file(text_file) if text_file is not None else None
    settings = get_settings()
    if seed is not None:
        find_seed(load_seeds(settings.seeds_dir), seed)
    client = healthy_client(settings)
    if explain is not None:
        reasons = seed_reasons_of(client, articles_alias(settings), seed, explain)
        if reasons is None:
            raise UsageError(f"no article with id {explain!r} (ids are in `mediamon similar --seed {seed} --json`)")
        if as_json:
            print(json.dumps(reasons, ensure_ascii=False, indent=2))
        else:
            print_reasons(reasons, seed)
        return
    filters = make_filters(since, until, lang, outlet, topic)
    if seed is not None:
        matches = similar_to_seed(client, articles_alias(settings), seed, top, filters)
        print_matches(matches, f"Top {top} for seed {seed}", as_json)
        if not matches and not as_json and filters == make_filters():
            console.print(f"no article is scored for seed {seed} yet: `mediamon rescore --seed {seed}` scores them")
        return
    if document is None:
        hits = similar_to_url(settings, client, url, top, filters)
    else:
        hits = similar_to_document(settings, client, *document, top, filters)
    print_matches(hits, f"Top {top} similar to {url or text_file}", as_json)


def print_reasons(explained: dict, seed: str) -> None:
    """One article's score for a seed and every reason of it, a line each; or why it has none."""
    say(("title", "bold"), f": {explained['title']}")
    say(("url", "bold"), ": ", url_text(explained["url"] or ""))
    if explained["score"] is None:
        why = (
            f"its page gave no article text ({explained['access']}); it ranks for no seed until its full text arrives"
            if explained["access"] not in (None, "full")
            else f"it was indexed before the seed; `mediamon rescore --seed {seed}` scores it"
        )
        say(("score", "bold"), f": none for {seed}: {why}")
        return
    say(("score", "bold"), f": {explained['score']:.3f}")
    for key, value in explained["reasons"].items():
        if key == "score":
            continue  # the line above
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        say((f"  {key}", "bold"), f": {shown}")


def read_text_file(path: Path) -> tuple[str, str]:
    """The title (line 1) and body of a `--text-file`; UsageError (one line, exit code 2) naming the file when it
    cannot be read, is not UTF-8 text or holds no text."""
    try:
        text = read_utf8(path)
    except UnreadableFile as exc:
        raise UsageError(str(exc)) from None
    if not text.strip():
        raise UsageError(f"{path}: the file holds no text; give a text whose first line is its title")
    title, _, body = text.partition("\n")
    return title, body


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
    """Search the articles with Lucene query syntax and filters; shows highlighted snippets and each link."""
    from enrich.seeds import find_seed, load_seeds
    from search.index_versions import articles_alias
    from search.query import make_filters, search_articles

    settings = get_settings()
    if seed:
        seeds = load_seeds(settings.seeds_dir)
        for seed_id in seed:
            find_seed(seeds, seed_id)  # an unknown one is a usage error, not "0 articles"
    client = healthy_client(settings)
    filters = make_filters(since, until, lang, outlet, topic, seed)
    hits = search_articles(client, articles_alias(settings), query, filters, size)
    if as_json:
        print(json.dumps([hit.as_dict() for hit in hits], ensure_ascii=False, indent=2))
        return
    for rank, hit in enumerate(hits, start=1):
        meta = f"{(hit.published_at or '')[:10]}  {hit.language or '??'}  {hit.outlet or ''}  "
        title = marked(hit.highlights.get("title", [hit.title])[0])
        console.print(Text.assemble((f"{rank:>2}. ", "bold"), meta, title))
        console.print(Text("    ").append(url_text(hit.url)))
        for fragment in (hit.highlights.get("summary") or []) + (hit.highlights.get("body") or [])[:2]:
            console.print(Text("    … ").append(marked(fragment)).append(" …"))
    console.print(f"{len(hits)} articles" + (" (more with --size)" if len(hits) == size else ""))


def marked(fragment: str) -> Text:
    """A highlighted fragment: the words Elasticsearch marked with <em> in bold yellow, the rest as it is."""
    text = Text()
    for n, part in enumerate(re.split(r"</?em>", fragment)):
        text.append(part, style="bold yellow" if n % 2 else "")
    return text


@app.command("extract")
def extract(
    page: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A saved HTML page.")],
    url: Annotated[str | None, typer.Option(help="The URL the page was fetched from.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """What the pipeline extracts from one saved page."""
    from mediamon.flows.page_report import extraction_report

    limit = get_settings().max_page_bytes
    if page.stat().st_size > limit:
        raise UsageError(
            f"{page} has {page.stat().st_size:,} bytes: the pipeline does not read a page over {limit:,}"
            " (MEDIAMON_MAX_PAGE_BYTES; it counts as too_large)"
        )
    report = extraction_report(page.read_bytes(), url)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for key, value in report.items():
        say((key, "bold"), f": {value}")


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

    title, body = read_text_file(text_file)
    settings = get_settings()
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
        console.print(f"  {topic:24} {score:6.2f}  {', '.join(result['matched'].get(topic, []))}")
    for entity, by_alias in result["aliases"].items():
        mark = " (generated)" if entity in result["generated_entities"] else ""
        fired = "; ".join(f"{alias} -> {', '.join(forms)}" for alias, forms in by_alias.items())
        console.print(f"entity {entity}{mark}: {fired}")
    for landmark, day in result["landmarks"].items():
        console.print(f"landmark {landmark}: {day} (an undated article naming it was written after)")
