"""Moving the articles to a new versioned index: the current mapping, vectors of the current model, one alias flip.

`reindex_articles` creates `media-articles-v<n+1>` from the current template (mapping, language analysers), copies
every article of the live index into it (scan + bulk `create`), re-enriching the articles whose vectors come from
another model than the one in settings (a new model means new vectors and new relevance scores, never a mix of
vector spaces), then points the alias at the new index in one atomic `_aliases` call and copies what writers added
to the old index meanwhile. The old index is kept until `search.index_versions.delete_unaliased` removes it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from enrich.annotate import Enricher, annotate
from mediamon.core.errors import Interrupted, MediamonError
from mediamon.core.settings import Settings
from search.analyzers import language_text
from search.documents import article_document, article_from_document, dated_at
from search.index_versions import (
    articles_alias,
    create_articles_index,
    indices_behind,
    mark_catch_up,
    move_alias,
    next_version,
    pending_catch_up,
)
from search.write import bulk_create, existing_ids

LOG = logging.getLogger(__name__)
CHUNK = 256
LOG_EVERY = 10  # chunks between two progress lines in the log (a re-embedding reindex can take hours)


class ReindexError(MediamonError):
    """The reindex cannot start (no articles index) or its copy failed; the live index is untouched."""


@dataclass(slots=True)
class ReindexReport:
    """What one reindex did."""

    alias: str
    source: str
    target: str
    model: str
    analyzers: dict[str, str] = field(default_factory=dict)
    copied: int = 0
    reembedded: int = 0
    caught_up: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)


def reindex_articles(
    client: Elasticsearch,
    settings: Settings,
    enricher: Enricher,
    progress: Callable[[int], None] | None = None,
) -> ReindexReport:
    """Copy the live articles index into a new version made for `enricher`'s model and flip the alias to it.

    Articles with vectors of another model are re-enriched (vector, topics, entities, seed relevance; their
    near-duplicate group is kept). `progress` is called with the number of articles done after each chunk.
    If any article cannot be copied, or anything else fails, the new index is deleted and the alias left as it was;
    stopped with Ctrl-C before the switch, the same, and it raises Interrupted saying so.
    """
    started = time.perf_counter()
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        raise ReindexError(f"there is no {alias} to reindex (nothing has been indexed under this prefix)")
    sources = indices_behind(client, alias)
    model = enricher.embedder.model_id
    report = ReindexReport(alias=alias, source=",".join(sources), target="", model=model)
    # First the last pass of an earlier reindex stopped after its switch, if any.
    _finish_last_passes(client, _pending(client, sources), enricher, report, progress)
    target = report.target = next_version(client, alias)
    report.analyzers = create_articles_index(client, settings, target, enricher.embedder.dims)
    try:
        _copy(client, sources, target, enricher, report, progress, None)
        if report.failed:
            first = "; ".join(f"{doc_id}: {reason}" for doc_id, reason in list(report.failed.items())[:3])
            raise ReindexError(f"{len(report.failed)} articles could not be copied into {target} ({first})")
        client.indices.refresh(index=target)
        mark_catch_up(client, target, sources)  # a stop after the switch leaves the last pass to the next reindex
        move_alias(client, alias, sources, target)
    except BaseException as exc:  # a failure, or the person stopping it (Ctrl-C): the partial copy goes ...
        if client.indices.exists_alias(name=alias, index=target):
            raise  # ... unless the switch went through before the request was given up: it is the live index now
        client.options(ignore_status=404).indices.delete(index=target)
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(
                f"the reindex stopped before the switch: {alias} still points to {report.source}, and the partial"
                f" copy {target} was deleted; `mediamon reindex` starts over"
            ) from None
        raise
    try:
        _catch_up(client, sources, target, enricher, report, progress)
    except KeyboardInterrupt:
        raise Interrupted(
            f"the reindex stopped after {alias} moved to {target}, while copying what {report.source} got during the"
            f" copy; the next `mediamon reindex` finishes that first ({report.source} is kept until then)"
        ) from None
    report.seconds = round(time.perf_counter() - started, 1)
    LOG.info(
        "reindexed %s: %d articles from %s into %s (%d re-embedded, %d failed)",
        alias,
        report.copied,
        report.source,
        target,
        report.reembedded,
        len(report.failed),
    )
    return report


def finish_stopped_reindex(client: Elasticsearch, settings: Settings, enricher: Enricher) -> ReindexReport | None:
    """Finish the last pass of a reindex stopped after its switch (the live version names the versions it left),
    and nothing else; None when no reindex stopped there."""
    alias = articles_alias(settings)
    live = indices_behind(client, alias) if client.indices.exists_alias(name=alias) else []
    pending = _pending(client, live)
    if not pending:
        return None
    behind = sorted({name for names in pending.values() for name in names})
    model = enricher.embedder.model_id
    report = ReindexReport(alias=alias, source=",".join(behind), target=",".join(live), model=model)
    _finish_last_passes(client, pending, enricher, report, None)
    return report


def _pending(client: Elasticsearch, live: list[str]) -> dict[str, list[str]]:
    """The live versions with a last pass still to do, and the versions each has to copy from."""
    return {index: behind for index in live if (behind := pending_catch_up(client, index))}


def _finish_last_passes(
    client: Elasticsearch,
    pending: dict[str, list[str]],
    enricher: Enricher,
    report: ReindexReport,
    progress: Callable[[int], None] | None,
) -> None:
    for index, behind in pending.items():
        _catch_up(client, behind, index, enricher, report, progress)


def _catch_up(
    client: Elasticsearch,
    sources: list[str],
    target: str,
    enricher: Enricher,
    report: ReindexReport,
    progress: Callable[[int], None] | None,
) -> None:
    """The last pass: copy into `target` what `sources` got after the copy's snapshot, then clear its mark."""
    before = report.copied
    _copy(client, sources, target, enricher, report, progress, target)
    report.caught_up += report.copied - before
    client.indices.refresh(index=target)
    mark_catch_up(client, target, [])


def _copy(
    client: Elasticsearch,
    sources: list[str],
    target: str,
    enricher: Enricher,
    report: ReindexReport,
    progress: Callable[[int], None] | None,
    skip_existing_in: str | None,
) -> None:
    # The catch-up pass lists ids only and reads the sources of the few the target lacks.
    source = False if skip_existing_in else None
    hits = scan(client, index=",".join(sources), size=CHUNK, source=source, source_exclude_vectors=False)
    while chunk := list(islice(hits, CHUNK)):
        if skip_existing_in:
            there = existing_ids(client, skip_existing_in, (hit["_id"] for hit in chunk))
            missing = [hit["_id"] for hit in chunk if hit["_id"] not in there]
            if not missing:
                continue
            reply = client.search(
                index=",".join(sources),
                query={"ids": {"values": missing}},
                size=len(missing),
                source_exclude_vectors=False,
            )
            chunk = reply["hits"]["hits"]
        result = bulk_create(client, target, _documents(chunk, enricher, report))
        report.copied += result.created
        report.failed.update(result.failed)
        if progress:
            progress(report.copied)
        if report.copied // (CHUNK * LOG_EVERY) != (report.copied - result.created) // (CHUNK * LOG_EVERY):
            LOG.info("%d articles copied into %s (%d re-embedded)", report.copied, target, report.reembedded)


def _documents(hits: list[dict], enricher: Enricher, report: ReindexReport) -> Iterator[tuple[str, dict]]:
    """The new index's documents: sources copied as they are when their vectors are the model's, else re-enriched."""
    model, dims = enricher.embedder.model_id, enricher.embedder.dims
    stale = [
        hit
        for hit in hits
        if hit["_source"].get("model") != model or len(hit["_source"].get("embedding") or ()) != dims
    ]
    if stale:
        articles = [article_from_document(hit["_id"], hit["_source"]) for hit in stale]
        renewed = {
            article.id: article_document(
                article, dataclasses.replace(enrichment, dup_group=hit["_source"].get("dup_group"))
            )
            for hit, article, enrichment in zip(stale, articles, annotate(articles, enricher), strict=True)
        }
        report.reembedded += len(renewed)
    else:
        renewed = {}
    for hit in hits:
        source = renewed.get(hit["_id"])
        if source is None:
            source = dict(hit["_source"])
            source["text_lang"] = language_text(source.get("language"), source)
            source["dated_at"] = dated_at(source)  # missing from documents indexed before it was derived
        yield hit["_id"], source
