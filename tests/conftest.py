"""Shared fixtures: settings isolated per test session, and the real local Elasticsearch node."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest
from elasticsearch import Elasticsearch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One cache of the model's OpenVINO builds for the session and the processes it starts: the tests make many data
# folders, and a build in each (the int8 one calibrates) would cost 15-30 s a folder. Cache tests pass their own.
MODELS_DIR = tempfile.mkdtemp(prefix="mediamon-test-models-")
os.environ["MEDIAMON_MODELS_DIR"] = MODELS_DIR

from mediamon.core.settings import Settings, get_settings  # noqa: E402
from search.client import EsUnavailable, check_health, make_client  # noqa: E402
from search.index_versions import delete_prefixed  # noqa: E402

SESSION_PREFIX = f"test-{uuid.uuid4().hex[:8]}-"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for this test session: its own index prefix and data folder, and 127.0.0.1 allowed for local servers."""
    return Settings(
        index_prefix=SESSION_PREFIX, allow_hosts=["127.0.0.1"], data_dir=tmp_path_factory.mktemp("mediamon-data")
    )


@pytest.fixture(scope="session")
def es(settings: Settings) -> Iterator[Elasticsearch]:
    """The real local node (`make test` starts it). Fails, never skips, when it is not there."""
    client = make_client(settings)
    try:
        check_health(client, settings.es_url)
    except EsUnavailable as exc:
        pytest.fail(f"{exc} (`make test` starts it; by hand: `mediamon es up`)", pytrace=False)
    yield client
    delete_prefixed(client, SESSION_PREFIX)
    client.close()


@pytest.fixture
def cli_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    """Point the CLI's settings (read from `MEDIAMON_*` variables) at these values for one test."""

    def use(**values: str) -> Settings:
        for name, value in values.items():
            monkeypatch.setenv(f"MEDIAMON_{name.upper()}", value)
        get_settings.cache_clear()
        return get_settings()

    yield use
    get_settings.cache_clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(MODELS_DIR, ignore_errors=True)
