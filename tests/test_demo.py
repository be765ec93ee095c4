"""`mediamon demo` through the real command: the sample news indexed whole into indices of its own, and `--remove`
deleting those alone, whatever prefix a deployment has set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from elasticsearch import Elasticsearch

from mediamon.core.settings import Settings
from mediamon.dev.sample_news import load_items
from search.index_versions import articles_alias


def _mediamon(prefix: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "MEDIAMON_INDEX_PREFIX": prefix,
        "MEDIAMON_DATA_DIR": str(data),
        "MEDIAMON_DEMO_PORT": "0",
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_the_demo_keeps_to_its_own_indices_under_a_deployments_prefix(
    settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    deployment = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}prod-"})
    own = f"{deployment.index_prefix}notes"  # one of the deployment's indices
    es.index(index=own, id="kept", document={"title": "a deployment's note"}, refresh=True)

    done = _mediamon(deployment.index_prefix, tmp_path, "demo")
    assert done.returncode == 0, done.stderr
    demo_alias = f"{deployment.index_prefix}demo-media-articles"
    assert es.count(index=demo_alias)["count"] == len(load_items())
    assert f"MEDIAMON_INDEX_PREFIX={deployment.index_prefix}demo- " in done.stdout
    assert not es.indices.exists(index=articles_alias(deployment))  # nothing of the demo's in the deployment's

    removed = _mediamon(deployment.index_prefix, tmp_path, "demo", "--remove")
    assert removed.returncode == 0, removed.stderr
    assert not es.indices.exists(index=demo_alias)
    assert es.get(index=own, id="kept")["_source"]["title"] == "a deployment's note"
