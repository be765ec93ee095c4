"""Long articles: which text stands for an article in the embedding, measured on a sample of the dev bench.

    .venv/bin/python -m bench.embedding_strategy [--seed belarus-2020-09] [--unlabelled 600] [--json out.json]

The pool is a sample, so that it runs in a few minutes: every labelled article of `../shared/bench/news` (grades
0-3, the look-alikes included) and a fixed random sample (seed 0) of unlabelled ones, half drawn uniformly and half
from bodies longer than 5,000 characters, so that long articles are well represented. Strategies:

- lead (today): `enrich.embed.embedding_text` (title, standfirst and the first 1,500 characters of the body; the
  model reads at most 256 word pieces of it);
- chunk mean: title + standfirst as the first chunk, then the body cut at paragraph and sentence boundaries into
  chunks of about 1,000 characters (at most 8), each embedded; the mean of the unit chunk vectors, renormalised;
- chunk max: the same chunks, the article's cosine is the best chunk's (the strongest passage counts);
- lead + chunk mean, lead + chunk max: the mean of the two cosines.

Each is measured by the model's raw cosine with the seed's English summary, and by mediamon's relevance with that
cosine fed in (the best over the seed's texts, as `bench/relevance.py` does): with the default cosine bounds
(0.15..0.65, set for the lead's cosines) and with the bounds carried onto the strategy's own cosine scale (a linear
map matching the median and 99th percentile of the two cosine distributions; no labels), since pooled and best-chunk
cosines sit higher than the lead's. nDCG on this smaller pool is not
comparable with the whole-pool figures of `bench/relevance.py`: the comparison between strategies is what counts.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from datetime import date

import numpy as np
from rich.console import Console
from rich.table import Table
from transformers import AutoTokenizer

from bench.news_data import (
    BenchArticle,
    cached_vectors,
    labelled_ids,
    load_articles,
    news_dir,
    ranking_metrics,
    seed_bench_parser,
)
from bench.relevance import bench_signals, mediamon_scores
from enrich.annotate import load_enricher
from enrich.embed import embedding_text, model_source
from enrich.relevance import DEFAULT_MODEL, RelevanceModel
from mediamon.core.settings import Settings

SAMPLE_SEED = 0
LONG_BODY = 5000  # half of the unlabelled sample has bodies longer than this
CHUNK_CHARS = 1000  # about 220 word pieces: under MiniLM's 256-token window
MAX_CHUNKS = 8  # body chunks, after the title + standfirst chunk
TIMED_ARTICLES = 100  # when the vectors come from the cache, encoding is timed on this many sample articles
SENTENCE_END = re.compile(r"(?<=[.!?…\"'»”])\s+")


def sample_pool(articles: list[BenchArticle], labelled: set[str], unlabelled: int, seed: int) -> list[BenchArticle]:
    """Every labelled article, plus `unlabelled` others: half uniform, half among long bodies (file order kept)."""
    rng = np.random.default_rng(seed)
    others = [i for i, a in enumerate(articles) if a.id not in labelled]
    uniform = set(rng.choice(others, size=unlabelled // 2, replace=False).tolist())
    long_bodies = [i for i in others if i not in uniform and len(articles[i].body) > LONG_BODY]
    long_pick = set(rng.choice(long_bodies, size=unlabelled - len(uniform), replace=False).tolist())
    chosen = {i for i, a in enumerate(articles) if a.id in labelled} | uniform | long_pick
    return [articles[i] for i in sorted(chosen)]


def _pieces(body: str, size: int) -> list[str]:
    """Paragraphs, split into sentences when longer than `size`, and cut at a space when a sentence still is."""
    pieces = []
    for paragraph in body.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        for sentence in [paragraph] if len(paragraph) <= size else SENTENCE_END.split(paragraph):
            while len(sentence) > size:
                cut = sentence.rfind(" ", 0, size)
                cut = cut if cut > size // 2 else size
                pieces.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            if sentence:
                pieces.append(sentence)
    return pieces


def body_chunks(body: str, size: int = CHUNK_CHARS, cap: int = MAX_CHUNKS) -> list[str]:
    """The body in chunks of at most about `size` characters at paragraph/sentence boundaries, the first `cap`."""
    chunks: list[str] = []
    current = ""
    for piece in _pieces(body, size):
        if current and len(current) + 1 + len(piece) > size:
            chunks.append(current)
            if len(chunks) == cap:
                return chunks
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    if current and len(chunks) < cap:
        chunks.append(current)
    return chunks


def article_chunks(article: BenchArticle) -> list[str]:
    """Title + standfirst as the first chunk, then the body's chunks."""
    head = "\n".join(p for p in (article.title.strip(), article.description.strip()) if p)
    return [c for c in [head, *body_chunks(article.body)] if c]


def pooled(vectors: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Mean of each article's unit chunk vectors, renormalised."""
    sums = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, vectors)
    return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)


def best_per_article(values: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """The highest chunk value of each article."""
    best = np.full(n, -np.inf)
    np.maximum.at(best, owners, values)
    return best


def timed(
    encode: Callable[[list[str]], np.ndarray], seconds: dict[str, float], key: str
) -> Callable[[list[str]], np.ndarray]:
    """`encode`, recording its wall time under `key`."""

    def run(texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        vectors = encode(texts)
        seconds[key] = time.perf_counter() - start
        return vectors

    return run


def matched_bounds(reference: np.ndarray, other: np.ndarray, floor: float, ceiling: float) -> tuple[float, float]:
    """`reference`'s cosine bounds carried onto `other`'s scale, on the same articles and without labels: the linear
    map that takes the median and the 99th percentile of one distribution to those of the other (the ceiling lies
    beyond nearly every cosine, where a quantile-quantile map is undefined)."""
    (r50, r99), (o50, o99) = np.percentile(reference, [50, 99]), np.percentile(other, [50, 99])
    scale = (o99 - o50) / (r99 - r50)
    return float(o50 + (floor - r50) * scale), float(o50 + (ceiling - r50) * scale)


def top_grades(scores: np.ndarray, grades: list[int], k: int = 10) -> list[int]:
    """The grades of the k best-scored articles, best first."""
    return [grades[i] for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]]


def main() -> None:
    parser = seed_bench_parser(__doc__)
    parser.add_argument("--unlabelled", type=int, default=600, help="unlabelled articles in the sample")
    args = parser.parse_args()
    settings = Settings()
    console = Console()
    articles = load_articles(news_dir(settings))
    pool = sample_pool(articles, labelled_ids(settings), args.unlabelled, SAMPLE_SEED)
    n = len(pool)
    grades = [a.grade for a in pool]
    enricher = load_enricher(settings)
    embedder = enricher.embedder
    profile = next(p for p in enricher.profiles if p.seed.id == args.seed)
    summary = embedder.encode([profile.seed.summaries["en"]])[0]
    long_count = sum(len(a.body) > LONG_BODY for a in pool)
    console.print(
        f"sample: {n} articles ({sum(g >= 1 for g in grades)} of grade >= 1, {sum(g >= 2 for g in grades)} of grade"
        f" >= 2; {long_count} with bodies over {LONG_BODY} characters) of {len(articles)}; model {embedder.model_id}"
    )

    leads = [embedding_text(a.title, a.description, a.body) for a in pool]
    tokenizer = AutoTokenizer.from_pretrained(model_source(settings.model_name)[0])  # counts past the limit
    limit = embedder.encoder.max_seq_length
    truncated = sum(len(tokenizer(t, verbose=False)["input_ids"]) > limit for t in leads)
    seconds: dict[str, float] = {}
    lead_vectors = cached_vectors(settings, f"{embedder.model_id}-lead", leads, timed(embedder.encode, seconds, "lead"))

    chunk_lists = [article_chunks(a) for a in pool]
    owners = np.array([i for i, chunks in enumerate(chunk_lists) for _ in chunks])
    capped = sum(len(body_chunks(a.body, cap=MAX_CHUNKS + 1)) > MAX_CHUNKS for a in pool)
    chunk_texts = [c for chunks in chunk_lists for c in chunks]
    chunks_truncated = sum(len(tokenizer(t, verbose=False)["input_ids"]) > limit for t in chunk_texts)
    chunk_vectors = cached_vectors(
        settings, f"{embedder.model_id}-chunks", chunk_texts, timed(embedder.encode, seconds, "chunks")
    )
    timed_articles = n
    if len(seconds) < 2:  # vectors from the cache: time the first articles of the sample instead
        timed_articles = min(n, TIMED_ARTICLES)
        timed(embedder.encode, seconds, "lead")(leads[:timed_articles])
        timed(embedder.encode, seconds, "chunks")([c for chunks in chunk_lists[:timed_articles] for c in chunks])
    lead_seconds, chunk_seconds = seconds["lead"] / timed_articles, seconds["chunks"] / timed_articles
    console.print(
        f"lead texts: {n} ({truncated} longer than the model's {limit} tokens, cut there); chunks: {len(owners)}"
        f" ({len(owners) / n:.1f} an article; {capped} bodies cut at {MAX_CHUNKS} chunks; {chunks_truncated} chunks"
        f" longer than {limit} tokens); encoding timed on {timed_articles} articles"
    )

    mean_vectors = pooled(chunk_vectors, owners, n)
    chunk_seed = (chunk_vectors @ profile.vectors.T).max(axis=1)
    cosines = {  # strategy -> (cosine with the English summary, best cosine over the seed's texts, encode seconds)
        "lead (today)": (
            lead_vectors @ summary,
            (lead_vectors @ profile.vectors.T).max(axis=1),
            lead_seconds,
        ),
        "chunk mean": (
            mean_vectors @ summary,
            (mean_vectors @ profile.vectors.T).max(axis=1),
            chunk_seconds,
        ),
        "chunk max": (
            best_per_article(chunk_vectors @ summary, owners, n),
            best_per_article(chunk_seed, owners, n),
            chunk_seconds,
        ),
    }
    names = list(cosines)
    for label, other in (("lead + chunk mean", names[1]), ("lead + chunk max", names[2])):
        cosines[label] = (
            (cosines[names[0]][0] + cosines[other][0]) / 2,
            (cosines[names[0]][1] + cosines[other][1]) / 2,
            lead_seconds + chunk_seconds,
        )

    start = time.perf_counter()
    lead_best = cosines[names[0]][1]
    signals = bench_signals(pool, lead_best, enricher)
    console.print(f"language, entities and topics of {n} articles in {time.perf_counter() - start:.0f} s")
    results = []
    for name, (raw, seed_best, encode_seconds) in cosines.items():
        with_cosine = [dataclasses.replace(s, cosines=np.array([c])) for s, c in zip(signals, seed_best, strict=True)]
        scores = mediamon_scores(profile, with_cosine)
        floor, ceiling = matched_bounds(lead_best, seed_best, DEFAULT_MODEL.cosine_floor, DEFAULT_MODEL.cosine_ceiling)
        rescaled = mediamon_scores(profile, with_cosine, RelevanceModel(cosine_floor=floor, cosine_ceiling=ceiling))
        results.append(
            {
                "strategy": name,
                "model_cosine": ranking_metrics(raw.tolist(), grades),
                "mediamon": ranking_metrics(scores.tolist(), grades),
                "matched_bounds": [floor, ceiling],
                "mediamon_matched_bounds": ranking_metrics(rescaled.tolist(), grades),
                "encode_seconds_per_article": encode_seconds,
                "mediamon_top10_grades": top_grades(scores, grades),
                "model_cosine_top10_grades": top_grades(raw, grades),
            }
        )

    table = Table(title=f"Seed {profile.seed.id}: embedding strategies on a sample of {n} articles (not whole-pool)")
    for column in ("strategy", "cosine nDCG@10", "cosine nDCG@50", "cosine recall@50"):
        table.add_column(column)
    for column in ("mediamon nDCG@10", "mediamon nDCG@50", "mediamon recall@50", "encode s/article"):
        table.add_column(column, justify="right")
    table.add_column("mediamon top-10 grades")
    table.add_column("matched bounds")
    for column in ("nDCG@10", "nDCG@50"):
        table.add_column(f"mediamon, matched bounds: {column}", justify="right")
    for r in results:
        table.add_row(
            r["strategy"],
            *(f"{r['model_cosine'][k]:.3f}" for k in ("ndcg@10", "ndcg@50", "recall@50")),
            *(f"{r['mediamon'][k]:.3f}" for k in ("ndcg@10", "ndcg@50", "recall@50")),
            f"{r['encode_seconds_per_article']:.4f}",
            "".join(map(str, r["mediamon_top10_grades"])),
            "{:.3f}..{:.3f}".format(*r["matched_bounds"]),
            *(f"{r['mediamon_matched_bounds'][k]:.3f}" for k in ("ndcg@10", "ndcg@50")),
        )
    console.print(table)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "model": embedder.model_id,
                    "date": date.today().isoformat(),
                    "pool": {
                        "articles": n,
                        "labelled": n - args.unlabelled,
                        "unlabelled": args.unlabelled,
                        "sample_seed": SAMPLE_SEED,
                        "long_body_chars": LONG_BODY,
                        "long_bodies": long_count,
                        "grade>=1": sum(g >= 1 for g in grades),
                        "grade>=2": sum(g >= 2 for g in grades),
                    },
                    "lead_texts_over_model_window": truncated,
                    "chunks": len(owners),
                    "chunks_over_model_window": chunks_truncated,
                    "bodies_cut_at_max_chunks": capped,
                    "encode_timed_on_articles": timed_articles,
                    "results": results,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
