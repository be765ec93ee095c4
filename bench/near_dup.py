"""Near-duplicate grouping on the news set (`../shared/bench/news`): SimHash distance thresholds and shingle sizes.

    .venv/bin/python -m bench.near_dup [--json out.json]

For each shingle size and distance threshold the articles are grouped as the pipeline groups them (in publication
order, in batches of 200, each joining the group of its closest earlier article within the threshold) and scored:
- precision: pairs sharing a group that a strict proxy calls one story: the bodies' word sets have Jaccard >= 0.5,
  or the titles are equal after normalisation (>= 5 words, digits kept);
- recall: re-posts that share a group: body Jaccard >= 0.8, or equal titles, both bodies >= `MIN_WORDS` words;
- chance matches: all pairs within the threshold that the proxy rejects (the tail a bigger index multiplies), next
  to the number expected of independent random hashes.
Then what a lookup costs (candidates per article per 100k indexed articles), how many words a synthetic copy may
change, what short bodies do, and the time.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table

from bench.news_data import BenchArticle, load_articles, news_dir
from enrich.near_dup import (
    BITS,
    BLOCKS,
    MAX_DISTANCE,
    MIN_WORDS,
    SHINGLE_SIZE,
    assign_groups,
    hamming,
    shingles,
    simhash,
    words,
)
from mediamon.core.settings import Settings

SHINGLE_SIZES = (2, 3, 4)
DISTANCES = range(13)
LOOKUP_DISTANCES = range(9)
BATCH = 200
SAME_STORY = 0.5  # body Jaccard of the precision proxy
REPOST = 0.8  # body Jaccard of a re-post (recall)
TITLE_MIN_WORDS = 5  # shorter titles ("America's Immigration Voice.") name a site or column, not a story
PRECISION_SAMPLE = 10_000
SHORT_BUCKETS = (0, 25, 50, 100, 200)
EDIT_RATES = (0.005, 0.01, 0.02, 0.05)  # share of words replaced in a synthetic copy
EDIT_DISTANCES = (3, 6, 9, 12)
JACCARD_BUCKETS = (0.8, 0.9, 0.95, 0.99)
MARGIN = 3  # bits between the threshold and the first chance match, for the suggested threshold
Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Corpus:
    """The benchmark articles as grouping and judging see them (indices are positions in `articles`)."""

    articles: list[BenchArticle]
    tokens: list[list[str]]
    sets: list[frozenset[str]]
    titles: list[str | None]
    order: list[int]  # publication order, undated first, ties by id


def load_corpus(articles: list[BenchArticle]) -> Corpus:
    """Body words, word sets, normalised titles and publication order."""
    tokens = [words(a.body) for a in articles]
    titles = [" ".join(w) if len(w := words(a.title)) >= TITLE_MIN_WORDS else None for a in articles]
    order = sorted(range(len(articles)), key=lambda i: (articles[i].published or "", articles[i].id))
    return Corpus(articles, tokens, [frozenset(t) for t in tokens], titles, order)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def same_story(corpus: Corpus, i: int, j: int) -> bool:
    """The precision proxy: body Jaccard >= 0.5, or equal normalised titles."""
    title = corpus.titles[i]
    return (title is not None and title == corpus.titles[j]) or jaccard(corpus.sets[i], corpus.sets[j]) >= SAME_STORY


def similar_pairs(sets: list[frozenset[str]], threshold: float) -> set[Pair]:
    """Every pair with Jaccard >= threshold, exactly: candidates share a word of their rarest-words prefix."""
    df = collections.Counter(w for s in sets for w in s)
    vocabulary: dict[str, int] = {}
    rows, cols, prefix_rows, prefix_cols = [], [], [], []
    for i, s in enumerate(sets):
        ranked = sorted(s, key=lambda w: (df[w], w))
        prefix = len(ranked) - math.ceil(threshold * len(ranked)) + 1
        for k, w in enumerate(ranked):
            col = vocabulary.setdefault(w, len(vocabulary))
            rows.append(i)
            cols.append(col)
            if k < prefix:
                prefix_rows.append(i)
                prefix_cols.append(col)
    shape = (len(sets), len(vocabulary))
    x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    prefixes = sp.csr_matrix((np.ones(len(prefix_rows), np.float32), (prefix_rows, prefix_cols)), shape=shape)
    pairs = sp.triu(prefixes @ prefixes.T, 1).tocoo()
    size = np.diff(x.indptr)
    keep = np.minimum(size[pairs.row], size[pairs.col]) >= threshold * np.maximum(size[pairs.row], size[pairs.col])
    first, second = pairs.row[keep], pairs.col[keep]
    found: set[Pair] = set()
    for start in range(0, len(first), 100_000):
        a, b = first[start : start + 100_000], second[start : start + 100_000]
        common = np.asarray(x[a].multiply(x[b]).sum(axis=1)).ravel()
        hit = common / (size[a] + size[b] - common) >= threshold
        found.update(zip(a[hit].tolist(), b[hit].tolist(), strict=True))
    return found


def reposts(corpus: Corpus) -> dict[str, set[Pair]]:
    """Re-post pairs by kind: `body` (Jaccard >= 0.8), `title` (equal titles), `all`; bodies >= MIN_WORDS words."""
    long_enough = [len(t) >= MIN_WORDS for t in corpus.tokens]
    body = {(i, j) for i, j in similar_pairs(corpus.sets, REPOST) if long_enough[i] and long_enough[j]}
    by_title = collections.defaultdict(list)
    for i, title in enumerate(corpus.titles):
        if title is not None and long_enough[i]:
            by_title[title].append(i)
    title = {pair for members in by_title.values() for pair in combinations(members, 2)}
    return {"body": body, "title": title, "all": body | title}


def fingerprints(corpus: Corpus, size: int) -> tuple[list[int | None], float]:
    """The SimHash of every non-empty body (short ones too) and the seconds per 1,000 articles, words included."""
    started = time.perf_counter()
    values = [simhash(shingles(words(a.body), size)) if a.body.strip() else None for a in corpus.articles]
    return values, (time.perf_counter() - started) / len(values) * 1000


def with_min_words(corpus: Corpus, values: list[int | None], min_words: int) -> list[int | None]:
    """The fingerprints `enrich.near_dup.fingerprint` would give: none for bodies under `min_words` words."""
    return [v if len(t) >= max(min_words, 1) else None for v, t in zip(values, corpus.tokens, strict=True)]


def group(corpus: Corpus, values: list[int | None], max_distance: int) -> tuple[list[str], float]:
    """Each article's group, assigned batch by batch in publication order, and the seconds per 1,000 articles.

    Every earlier article is passed as a candidate: the band keys guarantee that the index returns all those within
    the threshold (tests/test_near_dup.py checks it), so the groups are the same as with the lookup.
    """
    ids = [a.id for a in corpus.articles]
    indexed: list[tuple[str, int, str | None]] = []
    groups: dict[str, str] = {}
    started = time.perf_counter()
    for start in range(0, len(corpus.order), BATCH):
        batch = [(ids[i], values[i]) for i in corpus.order[start : start + BATCH]]
        assigned = assign_groups(batch, indexed, max_distance)
        groups.update(assigned)
        indexed.extend((doc_id, value, assigned[doc_id]) for doc_id, value in batch if value is not None)
    seconds = time.perf_counter() - started
    return [groups[doc_id] for doc_id in ids], seconds / len(ids) * 1000


def group_pairs(groups: list[str]) -> list[Pair]:
    """Every pair of articles sharing a group."""
    members = collections.defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    return [pair for m in members.values() for pair in combinations(sorted(m), 2)]


def close_pairs(values: list[int | None], max_distance: int) -> dict[Pair, int]:
    """All pairs within `max_distance` bits, with their distance."""
    index = np.array([i for i, v in enumerate(values) if v is not None])
    hashes = np.array([values[i] for i in index], dtype=np.uint64)
    found: dict[Pair, int] = {}
    for start in range(0, len(hashes), 500):
        block = np.bitwise_count(hashes[start : start + 500, None] ^ hashes[None, :])
        rows, cols = np.nonzero(block <= max_distance)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if start + r < c:
                found[(int(index[start + r]), int(index[c]))] = int(block[r, c])
    return found


def grouping_row(
    corpus: Corpus, truth: dict[str, set[Pair]], values: list[int | None], close: dict[Pair, int], d: int
) -> dict[str, float | int]:
    """Groups, precision (proxy on up to 10,000 sampled pairs), recall of each re-post kind and chance matches."""
    groups, group_ms = group(corpus, values, d)
    pairs = group_pairs(groups)
    sample = random.Random(0).sample(pairs, min(len(pairs), PRECISION_SAMPLE))
    sizes = collections.Counter(groups)
    row: dict[str, float | int] = {
        "distance": d,
        "groups": sum(1 for n in sizes.values() if n > 1),
        "grouped": sum(n for n in sizes.values() if n > 1),
        "largest": max(sizes.values()),
        "pairs": len(pairs),
        "precision": sum(same_story(corpus, i, j) for i, j in sample) / len(sample) if sample else 1.0,
    }
    for kind, wanted in truth.items():
        row[f"recall_{kind}"] = sum(groups[i] == groups[j] for i, j in wanted) / len(wanted)
    row["chance_pairs"] = sum(1 for (i, j), dist in close.items() if dist <= d and not same_story(corpus, i, j))
    fingerprinted = sum(1 for v in values if v is not None)
    row["random_expectation"] = round(math.comb(fingerprinted, 2) * random_match(d), 2)
    row["group_ms_per_1000"] = round(group_ms * 1000, 1)
    return row


def random_match(max_distance: int) -> float:
    """Chance that two independent random 64-bit hashes differ in at most `max_distance` bits."""
    return sum(math.comb(BITS, k) for k in range(max_distance + 1)) / 2**BITS


def edited_copy(tokens: list[str], rate: float, rng: random.Random) -> str:
    """A copy with `rate` of its words replaced by new ones (at least one)."""
    copy = list(tokens)
    for i in rng.sample(range(len(copy)), max(1, round(rate * len(copy)))):
        copy[i] = f"edit{rng.randrange(10**9)}"
    return " ".join(copy)


def edit_rows(corpus: Corpus, sample: int = 300) -> list[dict[str, float | int]]:
    """Synthetic syndicated copies: the share still within d of the original, per shingle size and edit rate."""
    rng = random.Random(0)
    originals = rng.sample([t for t in corpus.tokens if len(t) >= 200], sample)
    rows = []
    for size in SHINGLE_SIZES:
        for rate in EDIT_RATES:
            distances = [
                hamming(simhash(shingles(t, size)), simhash(shingles(words(edited_copy(t, rate, rng)), size)))
                for t in originals
            ]
            row: dict[str, float | int] = {"shingle": size, "edit_rate": rate}
            row.update({f"within_{d}": sum(x <= d for x in distances) / len(distances) for d in EDIT_DISTANCES})
            rows.append(row)
    return rows


def lookup_candidates(
    values: list[int | None], max_distance: int, blocks: int, queries: int = 300
) -> tuple[int, float]:
    """Keys per article, and articles sharing a key with one (what the `terms` query returns), per 100k indexed.

    Averaged over `queries` sampled articles, each against all the others.
    """
    hashes = np.array([v for v in values if v is not None], dtype=np.uint64)
    widths = [BITS // blocks + (b < BITS % blocks) for b in range(blocks)]
    starts = np.cumsum([0, *widths[:-1]])
    bands = [(hashes >> np.uint64(s)) & np.uint64((1 << w) - 1) for s, w in zip(starts, widths, strict=True)]
    keys = []
    for chosen in combinations(range(blocks), blocks - max_distance):
        key = np.zeros(len(hashes), dtype=np.uint64)
        for b in chosen:
            key = (key << np.uint64(widths[b])) | bands[b]
        keys.append(key)
    table = np.stack(keys)
    sample = random.Random(0).sample(range(len(hashes)), min(queries, len(hashes)))
    found = [int((table == table[:, [q]]).any(axis=0).sum()) - 1 for q in sample]
    return len(keys), float(np.mean(found) / (len(hashes) - 1) * 100_000)


def lookup_rows(values: list[int | None]) -> list[dict[str, int | dict[str, float | int]]]:
    """Lookup cost per threshold with d + 1 blocks (the plain pigeonhole), d + 2 and d + 3 blocks."""
    rows: list[dict[str, int | dict[str, float | int]]] = []
    for d in LOOKUP_DISTANCES:
        row: dict[str, int | dict[str, float | int]] = {"distance": d}
        for extra in (1, 2, 3):
            keys, found = lookup_candidates(values, d, d + extra)
            row[f"d+{extra}"] = {"blocks": d + extra, "keys": keys, "candidates_per_100k": round(found, 1)}
        rows.append(row)
    return rows


def similarity_rows(corpus: Corpus, pairs: set[Pair], values: list[int | None]) -> list[dict[str, float | int]]:
    """Re-posts by body Jaccard: how many, and the share within `MAX_DISTANCE` bits of each other."""
    rows = []
    for low, high in zip(JACCARD_BUCKETS, (*JACCARD_BUCKETS[1:], 1.01), strict=True):
        bucket = [(i, j) for i, j in pairs if low <= jaccard(corpus.sets[i], corpus.sets[j]) < high]
        close = sum(1 for i, j in bucket if hamming(values[i], values[j]) <= MAX_DISTANCE)
        rows.append({"jaccard": f"{low:.2f}-{min(high, 1):.2f}", "pairs": len(bucket), "within": close / len(bucket)})
    return rows


def time_gaps(corpus: Corpus, pairs: set[Pair]) -> dict[str, float | int]:
    """How far apart the two copies of dated re-posts were published: the share within 1, 7 and 30 days."""
    gaps = []
    for i, j in pairs:
        first, second = corpus.articles[i].published, corpus.articles[j].published
        if first and second:
            gaps.append(abs(datetime.fromisoformat(first) - datetime.fromisoformat(second)).total_seconds() / 86400)
    shares = {f"within_{days}_days": round(sum(g <= days for g in gaps) / len(gaps), 3) for days in (1, 7, 30)}
    return {"dated_pairs": len(gaps), **shares}


def title_overlap(corpus: Corpus, i: int, j: int) -> float:
    """Jaccard of the two titles' word sets."""
    return jaccard(*(frozenset(words(corpus.articles[k].title)) for k in (i, j)))


def short_rows(corpus: Corpus, values: list[int | None], d: int) -> list[dict[str, float | int | list]]:
    """Pairs within `d` with no length floor, by the shorter body's word count: proxy failures, different titles."""
    close = close_pairs(values, d)
    rows = []
    for low, high in zip(SHORT_BUCKETS, (*SHORT_BUCKETS[1:], None), strict=True):
        bucket = [
            (i, j) for i, j in close if low <= min(len(corpus.tokens[i]), len(corpus.tokens[j])) < (high or math.inf)
        ]
        titles = [(i, j) for i, j in bucket if title_overlap(corpus, i, j) < 0.5]
        rows.append(
            {
                "words": f"{low}-{high - 1}" if high else f">={low}",
                "pairs": len(bucket),
                "proxy_rejects": sum(1 for i, j in bucket if not same_story(corpus, i, j)),
                "titles_differ": len(titles),
                "examples": [[corpus.articles[k].title for k in pair] for pair in titles[:5]],
            }
        )
    return rows


def suggest(rows: list[dict[str, float | int]]) -> dict[str, float | int] | None:
    """Precision first: the best recall among thresholds with precision 1 and no chance match up to d + MARGIN."""
    chance = {row["distance"]: row["chance_pairs"] for row in rows}
    safe = [
        row
        for row in rows
        if row["precision"] == 1.0
        and all(chance.get(d, 1) == 0 for d in range(row["distance"], row["distance"] + MARGIN + 1))
    ]
    return max(safe, key=lambda row: (row["recall_all"], -row["distance"]), default=None)


def grouping_table(grouping: list[dict], truth: dict[str, set[Pair]]) -> Table:
    """The grouping rows of every shingle size; the setting in use is marked *."""
    table = Table(title=f"Grouping (bodies >= {MIN_WORDS} words; recall of {len(truth['all'])} re-post pairs)")
    columns = ("shingle", "d", "groups", "grouped", "largest", "pairs", "precision", "recall body", "recall title")
    for column in (*columns, "recall all", "chance pairs", "random exp.", "group ms/1k"):
        table.add_column(column, justify="right")
    for entry in grouping:
        for row in entry["rows"]:
            mark = "*" if (entry["shingle"], row["distance"]) == (SHINGLE_SIZE, MAX_DISTANCE) else ""
            table.add_row(
                f"{entry['shingle']}{mark}",
                str(row["distance"]),
                *(str(row[k]) for k in ("groups", "grouped", "largest", "pairs")),
                *(f"{row[k]:.3f}" for k in ("precision", "recall_body", "recall_title", "recall_all")),
                str(row["chance_pairs"]),
                str(row["random_expectation"]),
                f"{row['group_ms_per_1000']:.0f}",
            )
        table.add_section()
    return table


def lookup_table(lookup: list[dict]) -> Table:
    """Keys and candidates per article for each block count."""
    table = Table(title=f"Lookup cost, shingle {SHINGLE_SIZE}: keys and candidates per article per 100k indexed")
    table.add_column("d", justify="right")
    for name in ("d+1 blocks (pigeonhole)", "d+2 blocks", "d+3 blocks"):
        table.add_column(f"{name}: keys", justify="right")
        table.add_column("candidates", justify="right")
    for row in lookup:
        cells = [str(row[f"d+{extra}"][k]) for extra in (1, 2, 3) for k in ("keys", "candidates_per_100k")]
        table.add_row(str(row["distance"]), *cells)
    return table


def edit_table(edits: list[dict]) -> Table:
    """Share of synthetic copies within each distance."""
    table = Table(title="Synthetic copies (300 bodies of >= 200 words, words replaced): share within d")
    for column in ("shingle", "words replaced", *(f"d <= {d}" for d in EDIT_DISTANCES)):
        table.add_column(column, justify="right")
    for row in edits:
        cells = [f"{row[f'within_{d}']:.2f}" for d in EDIT_DISTANCES]
        table.add_row(str(row["shingle"]), f"{row['edit_rate']:.1%}", *cells)
    return table


def short_table(short: list[dict]) -> Table:
    """Pairs within the threshold by the shorter body's length."""
    table = Table(title=f"Pairs within d = {MAX_DISTANCE}, no length floor, by the shorter body's words")
    for column in ("words", "pairs", "proxy rejects", "titles differ"):
        table.add_column(column, justify="right")
    for row in short:
        table.add_row(*(str(row[k]) for k in ("words", "pairs", "proxy_rejects", "titles_differ")))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    console = Console(width=150)
    started = time.perf_counter()
    corpus = load_corpus(load_articles(news_dir(Settings())))
    truth = reposts(corpus)
    gaps = time_gaps(corpus, truth["all"])
    console.print(
        f"{len(corpus.articles)} articles; re-post pairs: {len(truth['body'])} by body, {len(truth['title'])} by "
        f"title, {len(truth['all'])} in all ({time.perf_counter() - started:.0f} s); of {gaps['dated_pairs']} "
        f"dated pairs, published within 1, 7, 30 days of each other: {gaps['within_1_days']:.1%}, "
        f"{gaps['within_7_days']:.1%}, {gaps['within_30_days']:.1%}"
    )
    grouping, raw = [], {}
    for size in SHINGLE_SIZES:
        raw[size], seconds = fingerprints(corpus, size)
        values = with_min_words(corpus, raw[size], MIN_WORDS)
        close = close_pairs(values, max(DISTANCES))
        rows = [grouping_row(corpus, truth, values, close, d) for d in DISTANCES]
        timing = round(seconds * 1000)
        grouping.append({"shingle": size, "fingerprint_ms_per_1000": timing, "rows": rows, "suggested": suggest(rows)})
    console.print(grouping_table(grouping, truth))
    for entry in grouping:
        best = entry["suggested"]
        console.print(
            f"shingle {entry['shingle']}: fingerprints {entry['fingerprint_ms_per_1000']} ms per 1,000 articles; "
            + (f"suggested d = {best['distance']} (recall {best['recall_all']:.3f})" if best else "no safe threshold")
        )
    console.print(
        f"in use (enrich/near_dup.py, marked *): shingle {SHINGLE_SIZE}, d = {MAX_DISTANCE}, "
        f"{BLOCKS} blocks, bodies >= {MIN_WORDS} words"
    )
    lookup = lookup_rows(with_min_words(corpus, raw[SHINGLE_SIZE], MIN_WORDS))
    console.print(lookup_table(lookup))
    values = with_min_words(corpus, raw[SHINGLE_SIZE], MIN_WORDS)
    similarity = similarity_rows(corpus, truth["body"], values)
    table = Table(title=f"Re-posts by body Jaccard: share within d = {MAX_DISTANCE} (shingle {SHINGLE_SIZE})")
    for column in ("body Jaccard", "pairs", "share"):
        table.add_column(column, justify="right")
    for row in similarity:
        table.add_row(row["jaccard"], str(row["pairs"]), f"{row['within']:.2f}")
    console.print(table)
    edits = edit_rows(corpus)
    console.print(edit_table(edits))
    short = short_rows(corpus, with_min_words(corpus, raw[SHINGLE_SIZE], 1), MAX_DISTANCE)
    console.print(short_table(short))
    seconds = round(time.perf_counter() - started, 1)
    console.print(f"{seconds:.0f} s in all")
    if args.json:
        results = {
            "articles": len(corpus.articles),
            "reposts": {k: len(v) for k, v in truth.items()},
            "repost_time_gaps": gaps,
            "grouping": grouping,
            "lookup": lookup,
            "reposts_by_jaccard": similarity,
            "edits": edits,
            "short_texts": short,
            "seconds": seconds,
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
