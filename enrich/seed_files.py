"""Adding a seed story to the seeds folder: the file checked, copied in whole or not at all, and what mediamon will
read of it."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from enrich.relevance import DEFAULT_THRESHOLD
from enrich.seed_aliases import generated_aliases, known_entity
from enrich.seeds import Seed, SeedError, load_seeds, main_topic_problem, parse_seed
from enrich.topics import TopicTagger, load_tagger
from mediamon.core.entry_files import UnreadableFile, decode_utf8
from mediamon.core.errors import UsageError


class SeedRefused(UsageError):
    """A seed file that cannot be added (invalid, or its id taken); the message names the file, line and reason."""


@dataclass(frozen=True, slots=True)
class AddedSeed:
    """A seed story now in the seeds folder: where, whether it replaced one, and what mediamon reads of it."""

    seed: Seed
    path: Path
    replaced: bool
    summary: dict


def add_seed_file(source: Path, seeds_dir: Path, replace: bool = False, alias_cache: Path | None = None) -> AddedSeed:
    """Check the seed file `source` and copy it, byte for byte, into `seeds_dir/stories` as `<id>.txt` (or over
    the file of the seed it replaces). Refuses (SeedRefused) an invalid file, and an id already there unless
    `replace`. The copy is atomic: written beside its place, then renamed, so the folder never holds half a file.
    A broken seeds folder (another seed file, the gazetteer, the topic rules) raises its ConfigError. `alias_cache`:
    where generated aliases are kept (the data folder's `aliases/`)."""
    content = source.read_bytes()
    try:
        seed = parse_seed(decode_utf8(content, source), source)
    except (UnreadableFile, SeedError) as exc:
        raise SeedRefused(str(exc)) from None
    stories = seeds_dir / "stories"
    existing = next((s for s in load_seeds(seeds_dir) if s.id == seed.id), None)
    if existing is not None and not replace:
        raise SeedRefused(f"a seed with id {seed.id!r} is there already ({existing.path}); --replace replaces it")
    target = existing.path if existing is not None and existing.path else stories / f"{seed.id}.txt"
    if existing is None and target.exists():  # a file of that name holding another id (load_seeds read it)
        raise SeedRefused(f"{target} exists and holds another seed; rename {source} or that file")
    tagger = load_tagger(seeds_dir)
    if problem := main_topic_problem(seed, {topic.id for topic in tagger.topics}):
        raise SeedRefused(problem)  # it would stop every run's enrichment and every rescore
    try:
        summary = seed_summary(seed, tagger, alias_cache)
    except SeedError as exc:  # aliases steered for a name the gazetteer knows
        raise SeedRefused(str(exc)) from None
    stories.mkdir(parents=True, exist_ok=True)
    if source.resolve() != target.resolve():
        _write_atomically(target, content)
    return AddedSeed(dataclasses.replace(seed, path=target), target, existing is not None, summary)


def check_seeds_folder(seeds_dir: Path) -> list[Seed]:
    """The seed stories of `seeds_dir`, read and checked as enrichment will use them (a main topic of the rules);
    SeedError (one line) otherwise. Read before a run polls, so that a bad story stops it before anything is
    fetched."""
    seeds = load_seeds(seeds_dir)
    topic_ids = {topic.id for topic in load_tagger(seeds_dir).topics}
    for seed in seeds:
        if problem := main_topic_problem(seed, topic_ids):
            raise SeedError(problem)
    return seeds


def _write_atomically(target: Path, content: bytes) -> None:
    # a name `load_seeds` does not read (it reads *.txt), in the same folder, so the rename is atomic
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def seed_summary(seed: Seed, tagger: TopicTagger, alias_cache: Path | None = None) -> dict:
    """What mediamon will use of a seed, JSON-ready: its header as read, the entities the gazetteer knows (name ->
    id and label) apart from plain names it does not with the aliases generated for them (name -> language ->
    aliases), the topics the rules know apart from unknown ones, and the next step."""
    gazetteer = tagger.gazetteer
    known = {name: known_entity(name, gazetteer) for name in seed.entities}
    known_topics = {topic.id for topic in tagger.topics}
    summary = {
        "id": seed.id,
        "title": seed.title,
        "language": seed.language,
        "date": seed.date.isoformat(),
        "threshold": seed.threshold if seed.threshold is not None else DEFAULT_THRESHOLD,
        "summaries": dict(seed.summaries),
        "entities": {
            "known": {name: {"id": id_, "label": gazetteer.entities[id_].label} for name, id_ in known.items() if id_},
            "plain": [name for name, id_ in known.items() if id_ is None],
            "aliases": generated_aliases(seed, gazetteer, alias_cache),
        },
        "topics": {
            "main": seed.topics[0] if seed.topics else None,
            "known": [t for t in seed.topics if t in known_topics],
            "unknown": [t for t in seed.topics if t not in known_topics],
        },
        "next": f"mediamon rescore --seed {seed.id}",
    }
    return summary
