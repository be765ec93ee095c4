"""The OpenVINO form of a sentence-transformers model, built offline from its local weights and cached on disk.

`ov.convert_model` traces the model's own forward pass (transformer, pooling, normalisation) into an IR with fp32
weights; int8 is that IR quantized by nncf on texts the caller gives. Each build is keyed by the weights' hash, the
OpenVINO version (and for int8 the nncf version and the calibration texts' hash), made in a temporary folder and
renamed into place, so concurrent tasks never read half a build. A later load reads the folder: no torch, no network.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

LOG = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when what a build writes changes
META = "mediamon_export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


# What `enrich.embed_backends.load_tokenizer` reads of an export.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def weights_hash(folder: Path) -> str:
    """A short sha256 of a model folder's files (names and bytes; READMEs left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name.startswith(".") or name.endswith(".md"):
            continue
        digest.update(name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def texts_hash(texts: Sequence[str]) -> str:
    """A short sha256 of calibration texts, in order."""
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]


def export_dir(cache_dir: Path, model_name: str, weights: str, calibration: str | None = None) -> Path:
    """The cache folder of one build: model, weights, OpenVINO version, and for int8 nncf and the calibration."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "--", model_name)
    key = f"openvino-{importlib.metadata.version('openvino')}-{weights}-v{EXPORT_FORMAT}"
    if calibration is not None:
        key += f"-int8-nncf-{importlib.metadata.version('nncf')}-{calibration}"
    return cache_dir / slug / key


def read_meta(folder: Path) -> dict[str, Any] | None:
    """What a finished build recorded about itself; None when the folder holds no finished build."""
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def _no_telemetry() -> Iterator[None]:
    """OpenVINO's converter and nncf send usage events unless told they run in CI: tell them, for this call only.
    nncf's progress bars (printed to stdout, into a CLI's output and a task's log) are dropped meanwhile too."""
    saved = {name: os.environ.get(name) for name in ("CI", "NNCF_CI")}
    os.environ.update(CI="true", NNCF_CI="1")
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _publish(build: Any, target: Path) -> Path:
    """Run `build(folder)` in a temporary sibling of `target`, then rename it to `target`; a build another process
    finished first wins and ours is dropped."""
    if read_meta(target) is not None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(scratch)
        scratch.chmod(0o755)  # mkdtemp makes it private; other users of the data folder read it too
        os.rename(scratch, target)
    except OSError:
        if read_meta(target) is None:
            raise
        LOG.info("%s was built by another process meanwhile", target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def export_fp32(source: str, model_name: str, revision: str | None, target: Path) -> Path:
    """Build (once) the fp32 IR of the sentence-transformers model at `source` into `target`. `revision` names the
    weights in the model id; None takes what sentence-transformers reports for them (else "unknown")."""

    def build(folder: Path) -> None:
        import openvino as ov
        import torch

        from enrich.st_model import load_sentence_transformer

        st = load_sentence_transformer(source)
        tokenizer = st.tokenizer
        inputs = tuple(name for name in INPUTS if name in tokenizer.model_input_names)

        class Pooled(torch.nn.Module):
            """The model's modules end to end, unit vectors out."""

            def __init__(self) -> None:
                super().__init__()
                self.st = st

            def forward(
                self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
            ) -> torch.Tensor:
                features = {"input_ids": input_ids, "attention_mask": attention_mask}
                if token_type_ids is not None:
                    features["token_type_ids"] = token_type_ids
                vectors = self.st(features)["sentence_embedding"]
                return torch.nn.functional.normalize(vectors, dim=-1)

        # The example must be padded: traced on an all-ones mask, the attention mask can be optimised away.
        example = tokenizer(
            ["a short text", "a longer text, with several more words in it than the first one, to force padding"],
            padding=True,
            return_tensors="pt",
        )
        with torch.no_grad(), _no_telemetry(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the trace's remarks on shapes and masks
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace's deprecation, which ovc uses
            model = ov.convert_model(Pooled().eval(), example_input={name: example[name] for name in inputs})
        ov.save_model(model, str(folder / "openvino_model.xml"), compress_to_fp16=False)  # keep fp32 weights
        tokenizer.save_pretrained(str(folder))
        meta = {
            "format": EXPORT_FORMAT,
            "model": model_name,
            "revision": revision or getattr(st.model_card_data, "base_model_revision", None) or "unknown",
            "openvino": ov.get_version(),
            "precision": "fp32",
            "inputs": list(inputs),
            "max_seq_length": int(st.max_seq_length),
            "dims": int(st.get_embedding_dimension()),
        }
        (folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        LOG.info("exported %s to OpenVINO in %s", model_name, target)

    return _publish(build, target)


def quantize_int8(fp32: Path, calibration: Sequence[str], target: Path) -> Path:
    """Build (once) an int8 IR from the fp32 one: nncf's post-training quantization, calibrated on `calibration`."""

    def build(folder: Path) -> None:
        import openvino as ov

        from enrich.embed_backends import load_tokenizer, model_inputs

        meta = read_meta(fp32)
        assert meta is not None, f"no finished export in {fp32}"
        tokenizer = load_tokenizer(fp32, int(meta["max_seq_length"]))

        def sample(text: str) -> dict[str, np.ndarray]:
            return model_inputs(tokenizer, [text], tuple(meta["inputs"]))

        with _no_telemetry():
            import nncf

            model = nncf.quantize(
                ov.Core().read_model(str(fp32 / "openvino_model.xml")),
                nncf.Dataset(list(calibration), sample),
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(calibration),
            )
        ov.save_model(model, str(folder / "openvino_model.xml"), compress_to_fp16=False)
        for name in TOKENIZER_FILES:
            shutil.copy2(fp32 / name, folder / name)
        meta |= {
            "precision": "int8",
            "nncf": importlib.metadata.version("nncf"),
            "calibration": texts_hash(calibration),
            "calibration_texts": len(calibration),
        }
        (folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        LOG.info("quantized %s to int8 on %d texts in %s", meta["model"], len(calibration), target)

    return _publish(build, target)
