"""Every seed's key entities as gazetteer entities: the gazetteer's own where it knows the name, generated ones
where it does not.

A seed header's `entities` may hold gazetteer ids (`lukashenko`) or plain names (`Nikol Pashinyan`). A name is the
gazetteer's entity when it is its id or label, or when the gazetteer finds that one entity in it, its last word
included (`Vladimir Putin` is `putin`, `OSCE Minsk Group` is `osce-minsk-group`). Any other name becomes an entity
of its own (`nikol-pashinyan`), with the aliases `enrich/aliases.py` generates and the forms the seed's own text
uses, pruned and extended by the header's `aliases` overrides, and without any alias that would name a gazetteer
entity. Generated entities are capitalised (`enrich/phrases.py`): `Baku` does not find the Polish `do baku`.

`generated_aliases(seed, gazetteer)` shows what a seed's names get; `load_seed_tagger` is the topic tagger over the
gazetteer with every seed's entities, which enrichment and `mediamon tag` use. Generating takes a second or more
a name (reading a Latin name in Cyrillic is a search), so what was generated is kept in a JSON file under the data
folder (`aliases/`), keyed by name and the versions of this code and its libraries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from enrich.aliases import NameAliases, name_aliases, seed_forms
from enrich.gazetteer import Entity, Gazetteer
from enrich.phrases import PhraseError, fold, tokenize
from enrich.seeds import AliasOverride, Seed, SeedError, load_seeds
from enrich.topics import TopicTagger, load_tagger
from enrich.translit import dedupe, key

_KIND_TYPE = {"country": "country", "descriptive": "organisation"}


@dataclass(frozen=True, slots=True)
class GeneratedEntity:
    """A key entity the gazetteer did not know: its id and what was generated for it, after the overrides."""

    name: str
    id: str
    kind: str  # "country", "descriptive" or "transliterated" (enrich/aliases.py)
    aliases: dict[str, tuple[str, ...]]
    dropped: tuple[str, ...] = ()
    readings: tuple[str, ...] = ()

    def entity(self) -> Entity:
        """The gazetteer entity."""
        words = self.name.split()
        kind = _KIND_TYPE.get(self.kind) or ("person" if len(words) > 1 else "place")
        flat = dedupe(a for forms in self.aliases.values() for a in forms)
        return Entity(self.id, kind, self.name, tuple(flat), capitalised=True)


@dataclass(frozen=True, slots=True)
class SeedEntities:
    """The gazetteer with every seed's generated entities, and each seed's key entities in it."""

    gazetteer: Gazetteer
    ids: dict[str, tuple[str, ...]]  # seed id -> the entity ids of its key entities, in header order
    universe: dict[str, frozenset[str]]  # seed id -> the entities its relevance counts: the gazetteer's and its own
    generated: dict[str, dict[str, GeneratedEntity]]  # seed id -> name -> what was generated


def entity_slug(name: str) -> str:
    """An entity id for a plain name: `Nikol Pashinyan` -> `nikol-pashinyan` (Cyrillic is romanised)."""
    import iuliia

    text = iuliia.WIKIPEDIA.translate(name) if re.search("[\u0400-\u04ff]", name) else name
    return "-".join(re.findall("[a-z0-9]+", fold(text).lower())) or "entity"


def known_entity(name: str, gazetteer: Gazetteer) -> str | None:
    """The gazetteer's id for `name` (an id, a label, or a name in which the gazetteer finds one entity, its last
    word included), else None."""
    if name in gazetteer.entities:
        return name
    folded = key(name.strip())
    for entity in gazetteer.entities.values():
        if key(entity.label) == folded or key(entity.label.split(" (")[0]) == folded:
            return entity.id
    mentions = gazetteer.mentions(name)
    if len({m.entity for m in mentions}) == 1 and mentions[-1].end >= len(name.rstrip()):
        return mentions[0].entity
    return None


# Bump when a change to enrich/aliases.py, translit.py, inflect.py or wordguard.py changes what is generated.
ALIASES_VERSION = 3


class AliasCache:
    """Generated aliases kept on disk (`directory/aliases-<versions>.json`); no directory: in memory only."""

    def __init__(self, directory: Path | None) -> None:
        from importlib.metadata import version

        libraries = "-".join(version(p) for p in ("iuliia", "translitua", "latynkatar", "wordfreq", "babel"))
        self.path = directory / f"aliases-v{ALIASES_VERSION}-{libraries}.json" if directory else None
        self._entries: dict[str, dict] = {}
        if self.path is not None and self.path.exists():
            try:
                self._entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._entries = {}
        self._dirty = False

    def get(self, name: str, cyrillic: str | None) -> NameAliases:
        """The aliases of `name`, generated once."""
        entry_key = f"{name}\x1f{cyrillic or ''}"
        entry = self._entries.get(entry_key)
        if entry is not None:
            return NameAliases(
                entry["name"],
                entry["kind"],
                {lang: tuple(forms) for lang, forms in entry["aliases"].items()},
                tuple(entry["dropped"]),
                tuple(entry["readings"]),
            )
        try:
            made = name_aliases(name, cyrillic=cyrillic)
        except ValueError as exc:
            made = NameAliases(name, "descriptive", {"xx": (name,)}, (f"xx: {exc}",))
        self._entries[entry_key] = {
            "name": made.name,
            "kind": made.kind,
            "aliases": {lang: list(forms) for lang, forms in made.aliases.items()},
            "dropped": list(made.dropped),
            "readings": list(made.readings),
        }
        self._dirty = True
        return made

    def save(self) -> None:
        """Write what was generated since loading (a cache that cannot be written is only slower)."""
        if self.path is None or not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{id(self)}.tmp")
            temporary.write_text(json.dumps(self._entries, ensure_ascii=False, indent=1), encoding="utf-8")
            temporary.replace(self.path)
            self._dirty = False
        except OSError:
            pass


def _generate(name: str, entity_id: str, seed: Seed, base: Gazetteer, cache: AliasCache) -> GeneratedEntity:
    """What `name` of `seed` gets: generated aliases, the seed text's own forms, the overrides, no clash."""
    override = seed.aliases.get(name, AliasOverride())
    where = f"{seed.path or seed.id}: aliases of {name!r}"
    made = cache.get(name, override.cyrillic)
    aliases = {lang: list(forms) for lang, forms in made.aliases.items()}
    dropped = list(made.dropped)
    text = "\n".join([seed.title, *seed.summaries.values(), seed.text])
    extra = seed_forms(aliases, text)
    if extra:
        aliases[seed.language] = dedupe([*aliases.get(seed.language, []), *extra])
    unwanted = {key(a) for a in override.drop}
    for lang in aliases:
        dropped += [f"{lang}: {a} - dropped in the seed header" for a in aliases[lang] if key(a) in unwanted]
        aliases[lang] = [a for a in aliases[lang] if key(a) not in unwanted]
    for lang, added in override.added().items():
        for alias in added:
            try:
                tokenize(alias)
            except PhraseError as exc:
                raise SeedError(f"{where}: {exc}") from None
        aliases[lang] = dedupe([*aliases.get(lang, []), *added])
    for lang in aliases:  # an alias that names a gazetteer entity would take its mentions
        clashes = {a: base.mentions(a.rstrip("*")) for a in aliases[lang]}
        dropped += [f"{lang}: {a} - names the gazetteer's {m[0].entity!r}" for a, m in clashes.items() if m]
        aliases[lang] = [a for a, m in clashes.items() if not m]
    aliases = {lang: tuple(forms) for lang, forms in aliases.items() if forms}
    if not aliases:
        raise SeedError(f"{where}: every alias was dropped; add some with `add`")
    return GeneratedEntity(name, entity_id, made.kind, aliases, tuple(dropped), made.readings)


def _generated_of(seed: Seed, base: Gazetteer, cache: AliasCache) -> dict[str, GeneratedEntity]:
    out: dict[str, GeneratedEntity] = {}
    for name in seed.entities:
        if known_entity(name, base) is not None:
            if name in seed.aliases:
                raise SeedError(
                    f"{seed.path or seed.id}: {name!r} is the gazetteer's {known_entity(name, base)!r}: change its "
                    "aliases in seeds/entities.yaml, not in the seed header"
                )
            continue
        slug = entity_slug(name)
        if slug in base.entities:
            slug = f"{slug}-{seed.id}"
        out[name] = _generate(name, slug, seed, base, cache)
    return out


def generated_aliases(
    seed: Seed, gazetteer: Gazetteer, cache_dir: Path | None = None
) -> dict[str, dict[str, list[str]]]:
    """Name -> language -> the aliases generated for each of `seed`'s key entities that `gazetteer` does not know,
    after the header's overrides (`xx`: any language): what `mediamon seeds add` shows the analyst. `cache_dir`:
    where generated aliases are kept (the data folder's `aliases/`)."""
    cache = AliasCache(cache_dir)
    try:
        return {
            name: {lang: list(forms) for lang, forms in made.aliases.items()}
            for name, made in _generated_of(seed, gazetteer, cache).items()
        }
    finally:
        cache.save()


def seed_entities(seeds: Sequence[Seed], gazetteer: Gazetteer, cache_dir: Path | None = None) -> SeedEntities:
    """Resolve every seed's key entities against `gazetteer` and add the generated ones to it."""
    cache = AliasCache(cache_dir)
    generated: dict[str, dict[str, GeneratedEntity]] = {}
    by_id: dict[str, GeneratedEntity] = {}
    for seed in seeds:
        mine = _generated_of(seed, gazetteer, cache)
        for made in mine.values():
            other = by_id.setdefault(made.id, made)
            if other.aliases != made.aliases:  # two seeds name it with different overrides: keep them apart
                made = GeneratedEntity(made.name, f"{made.id}-{seed.id}", made.kind, made.aliases, made.dropped)
                by_id[made.id] = made
            mine[made.name] = made
        generated[seed.id] = mine
    cache.save()
    extended = gazetteer.extended([made.entity() for made in by_id.values()]) if by_id else gazetteer
    base_ids = frozenset(gazetteer.entities)
    ids = {
        seed.id: tuple(
            generated[seed.id][name].id if name in generated[seed.id] else str(known_entity(name, gazetteer))
            for name in seed.entities
        )
        for seed in seeds
    }
    universe = {seed.id: base_ids | {made.id for made in generated[seed.id].values()} for seed in seeds}
    return SeedEntities(extended, ids, universe, generated)


def load_seed_tagger(
    seeds_dir: Path, seeds: Sequence[Seed] | None = None, data_dir: Path | None = None
) -> tuple[TopicTagger, SeedEntities]:
    """The topic rules of `seeds_dir` over its gazetteer with every seed's generated entities, and those entities;
    generated aliases are kept under `data_dir/aliases`."""
    tagger = load_tagger(seeds_dir)
    seeds = load_seeds(seeds_dir) if seeds is None else seeds
    entities = seed_entities(seeds, tagger.gazetteer, data_dir / "aliases" if data_dir else None)
    return tagger.with_gazetteer(entities.gazetteer), entities
