"""Index templates, versioned indices and the aliases every reader and writer uses."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from elasticsearch import BadRequestError, Elasticsearch

from mediamon.core.errors import MediamonError
from mediamon.core.settings import Settings
from search.analyzers import language_analyzers, language_properties

MAPPINGS_DIR = Path(__file__).parent / "mappings"
ARTICLES = "media-articles"


class MappingMismatch(MediamonError):
    """The live index was made for another model or mapping; `mediamon reindex` moves it over."""


@cache
def _mapping_file(name: str) -> dict:
    return json.loads((MAPPINGS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def articles_mapping(dims: int, analyzers: dict[str, str] | None = None) -> dict:
    """The articles mapping with the vector size of the model in use and a field per language analyser."""
    mapping = copy.deepcopy(_mapping_file("articles"))
    mapping["properties"]["embedding"]["dims"] = dims
    mapping["properties"]["text_lang"]["properties"] = language_properties(analyzers or {})
    return mapping


def article_fields() -> list[str]:
    """The top-level fields of an article's `_source`, in mapping order (`text_lang`, indexed only, left out)."""
    return [name for name in _mapping_file("articles")["properties"] if name != "text_lang"]


def articles_alias(settings: Settings) -> str:
    """The alias that reads and writes articles (`media-articles` under the deployment's prefix)."""
    return settings.index_name(ARTICLES)


def ensure_articles_index(client: Elasticsearch, settings: Settings, dims: int, model: str) -> str:
    """Create the template, `…-v1` and its alias when missing; when present, check that its vectors are the
    model's and add fields new to the mapping. Returns the alias."""
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        create_articles_index(client, settings, f"{alias}-v1", dims, with_alias=True)
        return alias
    for index, body in client.indices.get_mapping(index=alias).items():
        live_dims = body["mappings"]["properties"]["embedding"]["dims"]
        if live_dims != dims:
            raise MappingMismatch(
                f"index {index} holds {live_dims}-dimension vectors but {model} makes {dims}: "
                "run `mediamon reindex` to re-embed its articles with the new model"
            )
    others = sorted(set(models_in(client, alias)) - {model})
    if others:
        raise MappingMismatch(
            f"{alias} holds vectors of {', '.join(others)}, not of {model}: "
            "run `mediamon reindex` to re-embed its articles with the new model"
        )
    try:  # fields added to the mapping since the index was made (additions only; a changed type is refused)
        client.indices.put_mapping(index=alias, properties=articles_mapping(dims)["properties"])
    except BadRequestError as exc:
        raise MappingMismatch(
            f"the mapping of {alias} cannot take the current fields ({exc}): run `mediamon reindex`"
        ) from exc
    return alias


def create_articles_index(
    client: Elasticsearch, settings: Settings, name: str, dims: int, with_alias: bool = False
) -> dict[str, str]:
    """Put the articles template (current mapping, the cluster's language analysers) and create index `name`
    from it, as the alias's write index in the same call when `with_alias`. Returns the language analysers used."""
    alias = articles_alias(settings)
    analyzers = language_analyzers(client, settings)
    client.indices.put_index_template(
        name=alias,
        index_patterns=[f"{alias}-v*"],
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": articles_mapping(dims, analyzers),
        },
        priority=100,
    )
    client.indices.create(index=name, aliases={alias: {"is_write_index": True}} if with_alias else None)
    client.cluster.health(index=name, wait_for_status="yellow", timeout="30s")
    return analyzers


def models_in(client: Elasticsearch, index: str) -> list[str]:
    """The embedding models (name@revision) whose vectors `index` holds."""
    reply = client.search(index=index, size=0, aggregations={"models": {"terms": {"field": "model", "size": 100}}})
    return [bucket["key"] for bucket in reply["aggregations"]["models"]["buckets"]]


def indices_behind(client: Elasticsearch, alias: str) -> list[str]:
    """The indices the alias points to (the write index first)."""
    reply = client.indices.get_alias(name=alias)
    return sorted(reply, key=lambda index: not reply[index]["aliases"][alias].get("is_write_index", False))


def next_version(client: Elasticsearch, alias: str) -> str:
    """`<alias>-v<n+1>`, n the highest version among the existing `<alias>-v*` indices."""
    versions = [
        int(name.rsplit("-v", 1)[1])
        for name in client.indices.get(index=f"{alias}-v*", allow_no_indices=True)
        if name.rsplit("-v", 1)[1].isdigit()
    ]
    return f"{alias}-v{max(versions, default=0) + 1}"


FEEDS = "mediamon-feeds"
RUNS = "mediamon-runs"
ALERTS = "mediamon-alerts"


def feeds_alias(settings: Settings) -> str:
    """The alias of the feed state index (`mediamon-feeds` under the deployment's prefix)."""
    return settings.index_name(FEEDS)


def runs_alias(settings: Settings) -> str:
    """The alias of the run record index (`mediamon-runs` under the deployment's prefix)."""
    return settings.index_name(RUNS)


def alerts_alias(settings: Settings) -> str:
    """The alias of the alert bookkeeping index (`mediamon-alerts` under the deployment's prefix)."""
    return settings.index_name(ALERTS)


def _ensure_versioned(client: Elasticsearch, alias: str, mapping: dict) -> str:
    """The template, `…-v1` and its write alias, created when the alias is missing; fields new to the mapping are
    added to a live index. Returns the alias."""
    client.indices.put_index_template(
        name=alias,
        index_patterns=[f"{alias}-v*"],
        template={"settings": {"number_of_shards": 1, "number_of_replicas": 0}, "mappings": mapping},
        priority=100,
    )
    if not client.indices.exists_alias(name=alias):
        client.indices.create(index=f"{alias}-v1", aliases={alias: {"is_write_index": True}})
        client.cluster.health(index=alias, wait_for_status="yellow", timeout="30s")
    else:
        client.indices.put_mapping(index=alias, properties=mapping["properties"])
    return alias


def ensure_feeds_index(client: Elasticsearch, settings: Settings) -> str:
    """Create the feed state index and alias when missing; returns the alias."""
    return _ensure_versioned(client, feeds_alias(settings), _mapping_file("feeds"))


def ensure_runs_index(client: Elasticsearch, settings: Settings) -> str:
    """Create the run record index and alias when missing; returns the alias."""
    return _ensure_versioned(client, runs_alias(settings), _mapping_file("runs"))


def ensure_alerts_index(client: Elasticsearch, settings: Settings) -> str:
    """Create the alert bookkeeping index (sent records, watermarks, leases, outbox) and alias when missing; add
    fields new to its mapping when present. Returns the alias."""
    mapping = _mapping_file("alerts")
    alias = _ensure_versioned(client, alerts_alias(settings), mapping)
    client.indices.put_mapping(index=alias, properties=mapping["properties"])
    return alias


def delete_prefixed(client: Elasticsearch, prefix: str) -> list[str]:
    """Delete the indices and index templates whose names start with `prefix` (by name: the cluster refuses
    wildcard deletes; a few at a time: it refuses a request line over 4,096 bytes). Returns the indices deleted."""
    indices = list(client.indices.get(index=f"{prefix}*", allow_no_indices=True))
    batch: list[str] = []
    for name in indices:
        if batch and len(",".join([*batch, name])) > 3000:
            client.indices.delete(index=",".join(batch))
            batch = []
        batch.append(name)
    if batch:
        client.indices.delete(index=",".join(batch))
    reply = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
    for template in reply.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
    return indices


def move_alias(client: Elasticsearch, alias: str, sources: list[str], target: str) -> None:
    """Point `alias` (as write alias) at `target` instead of `sources`, in one atomic `_aliases` call."""
    client.indices.update_aliases(
        actions=[
            *({"remove": {"index": index, "alias": alias}} for index in sources),
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
        ]
    )


# The `_meta` key of an index version that a reindex switched the alias to before copying what the versions it left
# got during its copy: their names, until that last pass is done.
CATCH_UP = "catch_up_from"


def pending_catch_up(client: Elasticsearch, index: str) -> list[str]:
    """The versions whose last writes `index` has yet to copy (a reindex stopped after its switch), else []."""
    mappings = client.indices.get_mapping(index=index)[index]["mappings"]
    return list(mappings.get("_meta", {}).get(CATCH_UP, []))


def mark_catch_up(client: Elasticsearch, index: str, sources: list[str]) -> None:
    """Record on `index` that it has to copy the last writes of `sources` (none: that it is done)."""
    client.indices.put_mapping(index=index, meta={CATCH_UP: sources} if sources else {})


def reindex_needed(client: Elasticsearch, settings: Settings, model: str) -> str | None:
    """Why the articles must be reindexed for `model` (vectors of another model), or None."""
    alias = articles_alias(settings)
    if not client.indices.exists_alias(name=alias):
        return None
    others = sorted(set(models_in(client, alias)) - {model})
    return f"{alias} holds vectors of {', '.join(others)}, the settings name {model}" if others else None


def delete_unaliased(client: Elasticsearch, settings: Settings) -> list[str]:
    """Delete the article index versions the alias no longer points to (left by reindexing), but those whose last
    writes a stopped reindex has yet to copy; returns their names."""
    alias = articles_alias(settings)
    live = set(indices_behind(client, alias)) if client.indices.exists_alias(name=alias) else set()
    waited_for = {name for index in live for name in pending_catch_up(client, index)}  # the next reindex copies them
    old = sorted(set(client.indices.get(index=f"{alias}-v*", allow_no_indices=True)) - live - waited_for)
    if old:
        client.indices.delete(index=",".join(old))
    return old
