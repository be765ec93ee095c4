"""The offline demo behind `make demo`: our sample news set served locally, one pipeline run, the top matches."""

from __future__ import annotations

from collections.abc import Callable

from ingest.sources import Source
from mediamon.core.runs import RunReport
from mediamon.core.settings import Settings
from mediamon.dev.sample_news import feed_list, serve_sample_news
from mediamon.flows.ingest_run import run_once
from search.client import check_health, make_client
from search.index_versions import articles_alias, delete_prefixed
from search.seed_matches import Match, similar_to_seed

DEMO_PREFIX = "demo-"


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings: indices of its own (`demo-` after the prefix set, if any, so that the demo never writes
    into a deployment's indices nor deletes them), the local server allowed, no politeness wait."""
    return settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}{DEMO_PREFIX}",
            "allow_hosts": list(dict.fromkeys([*settings.allow_hosts, "127.0.0.1"])),
            "host_min_interval": 0.0,
        }
    )


def run_demo(
    settings: Settings,
    seed_id: str = "belarus-2020-09",
    top: int = 10,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[RunReport, list[Match]]:
    """Serve the sample news on 127.0.0.1, run the pipeline once over it, and rank the index against the seed."""
    settings = demo_settings(settings)
    with serve_sample_news(port=settings.demo_port) as base_url:
        sources = [Source.model_validate(entry) for entry in feed_list(base_url)]
        report = run_once(settings, sources, progress)
    matches = similar_to_seed(make_client(settings), articles_alias(settings), seed_id, top)
    return report, matches


def remove_demo(settings: Settings) -> list[str]:
    """Delete the demo's indices and templates (its own prefix, `demo_settings`); returns the indices deleted."""
    client = make_client(settings)
    check_health(client, settings.es_url)
    return delete_prefixed(client, demo_settings(settings).index_prefix)
