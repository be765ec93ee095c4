"""Rescoring the indexed articles against the seed stories of now, in place, without fetching anything again.

Each article is read back (scan through a point in time), rebuilt from its document, and given the seed relevance
that indexing it today would give (`enrich/annotate.py:rescore`: its stored vector, no re-embedding); only its seed
fields are written back (`search/seed_fields.py`: partial updates, and the keys of seeds no longer in the seeds
folder removed). An article whose fields are already right is not written, so rescoring twice changes nothing.

The maintenance DAG rescores when the seed stories changed: a fingerprint of the stories folder
(`enrich/seeds.py:stories_digest`) is kept per articles alias in `data_dir/seed-fingerprints.json` and recorded
after every full rescore.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from elasticsearch import BadRequestError, Elasticsearch

from enrich.annotate import Enricher, SeedScores, rescore
from enrich.seeds import NoSeeds, find_seed, stories_digest
from mediamon.core.errors import MediamonError
from mediamon.core.settings import Settings
from search.documents import article_from_document
from search.index_versions import articles_alias, reindex_needed
from search.pit import pit_pages
from search.query import es_reason
from search.seed_fields import (
    READ,
    SeedFields,
    SeedUpdate,
    read_again,
    rescore_query,
    seeds_in_index,
    write_seed_fields,
)

LOG = logging.getLogger(__name__)
PAGE = 500
ATTEMPTS = 3  # an article written by another process meanwhile is read again and rescored, at most this often
FINGERPRINTS = "seed-fingerprints.json"


class RescoreError(MediamonError):
    """Rescoring cannot start: no articles, or vectors of another model (`mediamon reindex` first)."""


@dataclass(slots=True)
class RescoreReport:
    """What one rescore did: articles read, rewritten, already right, and those that could not be rescored."""

    alias: str
    model: str
    seeds: list[str]  # the seeds scored
    cleared: list[str] = field(default_factory=list)  # seeds no longer in the seeds folder, removed from articles
    scanned: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)


def rescore_articles(
    client: Elasticsearch,
    settings: Settings,
    enricher: Enricher,
    seed: str | None = None,
    since: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RescoreReport:
    """Give the indexed articles (all, or those published or fetched since `since`) the seed fields of
    `enricher`'s seeds, in place: every seed's (and no other: the scores of seeds removed from the folder go), or
    only `seed`'s (a seed removed from the folder: its scores go). `progress` is called with the number of articles
    read after each page.

    Raises NoSeeds when there is no seed story at all (a wrong seeds folder must not clear every score),
    RescoreError when there is nothing to rescore or the articles' vectors are another model's (run
    `mediamon reindex`), UnknownSeed when `seed` is neither a seed story nor scored in any article, SearchError
    for a `since` Elasticsearch refuses.
    """
    started = time.perf_counter()
    if not enricher.profiles:
        stories = settings.seeds_dir / "stories"
        raise NoSeeds(f"no seed stories in {stories}: nothing rescored, scores kept (is MEDIAMON_SEEDS_DIR right?)")
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        raise RescoreError(f"there is no {alias} to rescore (nothing has been indexed under this prefix)")
    model = enricher.embedder.model_id
    reason = reindex_needed(client, settings, model)
    if reason is not None:
        raise RescoreError(
            f"{reason}: their vectors cannot be compared with the seeds; run `mediamon reindex` "
            "(it re-embeds them and scores them against the current seeds)"
        )
    current = [profile.seed.id for profile in enricher.profiles]
    if seed is not None:
        if seed not in current and seed not in seeds_in_index(client, alias):
            find_seed([profile.seed for profile in enricher.profiles], seed)  # raises UnknownSeed, naming the seeds
        enricher = dataclasses.replace(enricher, profiles=[p for p in enricher.profiles if p.seed.id == seed])
    report = RescoreReport(alias=alias, model=model, seeds=[p.seed.id for p in enricher.profiles])
    cleared: set[str] = set()
    pages = pit_pages(client, alias, rescore_query(since), page_size=PAGE, **READ)
    with closing(pages):
        for page in pages:
            hits = page.hits
            for _ in range(ATTEMPTS):
                conflicts = _rescore_hits(client, hits, enricher, seed, report, cleared)
                if not conflicts:
                    break
                hits = read_again(client, alias, conflicts)
            else:
                for doc_id in conflicts:
                    report.failed[doc_id] = f"written by another process during each of {ATTEMPTS} attempts"
            report.scanned += len(page.hits)
            if progress:
                progress(report.scanned)
    client.indices.refresh(index=alias)
    report.cleared = sorted(cleared)
    report.seconds = round(time.perf_counter() - started, 1)
    LOG.info(
        "rescored %s for %s: %d articles read, %d updated, %d already right, %d failed; cleared %s",
        alias,
        ", ".join(report.seeds) or "no seed",
        report.scanned,
        report.updated,
        report.unchanged,
        len(report.failed),
        ", ".join(report.cleared) or "nothing",
    )
    return report


def _rescore_hits(
    client: Elasticsearch,
    hits: list[dict],
    enricher: Enricher,
    seed: str | None,
    report: RescoreReport,
    cleared: set[str],
) -> set[str]:
    """Rescore and write one page; returns the ids written by someone else since they were read."""
    model = enricher.embedder.model_id
    usable = []
    for hit in hits:
        source = hit["_source"]
        if source.get("model") != model or len(source.get("embedding") or ()) != enricher.embedder.dims:
            report.failed[hit["_id"]] = f"no vector of {model} (it has {source.get('model')}'s): run `mediamon reindex`"
        else:
            usable.append(hit)
    if not usable:
        return set()
    articles = [article_from_document(hit["_id"], hit["_source"]) for hit in usable]
    vectors = np.asarray([hit["_source"]["embedding"] for hit in usable], dtype=np.float32)
    languages = [hit["_source"].get("language") for hit in usable]
    current = {profile.seed.id for profile in enricher.profiles}
    updates = []
    for hit, scores in zip(usable, rescore(articles, vectors, languages, enricher), strict=True):
        old = SeedFields.of(hit["_source"])
        new = _new_fields(old, scores, seed)
        if new == old:
            report.unchanged += 1
            continue
        cleared.update(set(old.similarity) - set(new.similarity) - current)
        updates.append(SeedUpdate(hit["_index"], hit["_id"], hit["_seq_no"], hit["_primary_term"], old, new))
    written = write_seed_fields(client, updates)
    report.updated += len(written.updated)
    report.failed.update(written.failed)
    return written.conflicts


def _new_fields(old: SeedFields, scores: SeedScores, seed: str | None) -> SeedFields:
    """The article's seed fields after rescoring: the scores of every seed (`seed` None), or its old fields with
    `seed`'s entries replaced by `scores` (which lack them for a teaser, or a seed no longer in the folder)."""
    if seed is None:
        return SeedFields(dict(scores.similarity), dict(scores.reasons), list(scores.matched))
    similarity = {k: v for k, v in old.similarity.items() if k != seed} | scores.similarity
    reasons = {k: v for k, v in old.reasons.items() if k != seed} | scores.reasons
    matched = {m for m in old.matched if m != seed} | set(scores.matched)
    return SeedFields(dict(sorted(similarity.items())), dict(sorted(reasons.items())), sorted(matched))


def articles_in_scope(client: Elasticsearch, settings: Settings, since: str | None = None) -> int | None:
    """How many articles a rescore reads (None when there is no articles index, or the date is refused)."""
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        return None
    try:
        return int(client.count(index=alias, query=rescore_query(since))["count"])
    except BadRequestError as exc:  # a bad date: the rescore itself says so
        LOG.debug("no total for the progress bar: %s", es_reason(exc.body))
        return None


def rescore_seeds(
    settings: Settings,
    client: Elasticsearch,
    seed: str | None = None,
    since: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RescoreReport:
    """Load the seeds and the model named in settings and rescore (`rescore_articles`); a full rescore (no `seed`,
    no `since`) records the stories' fingerprint, so the maintenance DAG does not repeat it."""
    from enrich.annotate import load_enricher

    digest = stories_digest(settings.seeds_dir)  # before the seeds are read: a change meanwhile is seen next time
    report = rescore_articles(client, settings, load_enricher(settings), seed, since, progress)
    if seed is None and since is None:
        record_fingerprint(settings, digest)
    return report


def _fingerprints_path(settings: Settings) -> Path:
    return settings.data_dir / FINGERPRINTS


def recorded_fingerprint(settings: Settings) -> str | None:
    """The fingerprint of the seed stories the articles of this deployment were last scored with, if recorded."""
    path = _fingerprints_path(settings)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        LOG.warning("%s unreadable (%s): taken as no fingerprint", path, exc)
        return None
    value = recorded.get(articles_alias(settings)) if isinstance(recorded, dict) else None
    return value if isinstance(value, str) else None


def record_fingerprint(settings: Settings, digest: str) -> None:
    """Record `digest` as the stories' fingerprint of this deployment's articles (atomically: write, then rename)."""
    path = _fingerprints_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    if not isinstance(recorded, dict):
        recorded = {}
    recorded[articles_alias(settings)] = digest
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)
