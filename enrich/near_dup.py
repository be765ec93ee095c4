"""Near-duplicate grouping (`dup_group`): 64-bit SimHash over body word shingles, band keys for the index lookup.

Syndicated copies and re-posts of one story get the same `dup_group`; every copy is kept. An article joins the
group of its closest earlier article within `MAX_DISTANCE` differing bits, else starts a group named by its own id.
The constants were measured on the news benchmark (`python -m bench.near_dup`, docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np

SHINGLE_SIZE = 3  # words per shingle
MAX_DISTANCE = 6  # most differing bits between two copies of one story
BLOCKS = 9  # bands of the lookup keys: C(9, 3) = 84 keys of 21 bits, few chance candidates (docs/benchmarks.md)
MIN_WORDS = 50  # bodies with fewer words get no fuzzy grouping: they stay in a group of their own
BITS = 64

# Runs of letters and digits (any script); separators inside numbers go: "1,000" and "1000" are one token.
_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,'\u00a0\u202f](?=\d)")
_TOKEN = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The text's words: NFKC, casefolded, punctuation dropped (Unicode-aware, so Cyrillic works)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _TOKEN.findall(_NUMBER_SEPARATOR.sub("", text))


def shingles(tokens: Sequence[str], size: int = SHINGLE_SIZE) -> list[str]:
    """Overlapping runs of `size` words (the whole text as one shingle when it is shorter)."""
    if len(tokens) <= size:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def simhash(features: Iterable[str]) -> int:
    """64-bit SimHash of `features`, each counted once per occurrence; stable across runs and machines.

    Each feature's hash is the big-endian 8-byte BLAKE2b digest, read in one go as an array (no int per feature).
    """
    digests = b"".join(hashlib.blake2b(f.encode("utf-8"), digest_size=8).digest() for f in features)
    hashes = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    if not hashes.size:
        return 0
    bits = (hashes[:, None] >> np.arange(BITS, dtype=np.uint64)) & np.uint64(1)
    votes = 2 * bits.sum(axis=0, dtype=np.int64) - hashes.size
    return sum(1 << int(i) for i in np.flatnonzero(votes > 0))


def fingerprint(body: str, shingle_size: int = SHINGLE_SIZE, min_words: int = MIN_WORDS) -> int | None:
    """The SimHash of a body's shingles; None when the body has fewer than `min_words` words."""
    tokens = words(body)
    if len(tokens) < max(min_words, 1):
        return None
    return simhash(shingles(tokens, shingle_size))


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


def band_keys(value: int, max_distance: int = MAX_DISTANCE, blocks: int = BLOCKS) -> list[str]:
    """Lookup keys of a SimHash: any two hashes within `max_distance` bits share at least one key.

    The 64 bits are cut into `blocks` bands; a key is one combination of `blocks - max_distance` bands. Pigeonhole:
    d differing bits touch at most d bands, so `blocks - d` bands are equal and so is their key. `blocks =
    max_distance + 1` is the plain one-band-per-key scheme (d + 1 keys); more blocks give more keys, each with
    more bits, so far fewer chance candidates. A key names both numbers: keys of another setting never match.
    """
    if not 0 <= max_distance < blocks <= BITS:
        raise ValueError(f"need 0 <= max_distance < blocks <= {BITS}, not {max_distance} and {blocks}")
    bands, start = [], 0
    for band in range(blocks):
        width = BITS // blocks + (band < BITS % blocks)
        bands.append((value >> start) & ((1 << width) - 1))
        start += width
    return [
        f"{blocks}.{max_distance}.{number}." + ".".join(f"{bands[b]:x}" for b in chosen)
        for number, chosen in enumerate(combinations(range(blocks), blocks - max_distance))
    ]


def to_hex(value: int) -> str:
    """The 16-digit hex form stored in the index."""
    return f"{value:016x}"


def from_hex(text: str) -> int:
    """The SimHash of a stored hex string."""
    return int(text, 16)


def assign_groups(
    new: Sequence[tuple[str, int | None]],
    candidates: Iterable[tuple[str, int, str | None]],
    max_distance: int = MAX_DISTANCE,
) -> dict[str, str]:
    """The `dup_group` of each new `(id, simhash)`, taken in the given order.

    A new article joins the group of the closest indexed candidate `(id, simhash, dup_group)` or earlier new
    article within `max_distance` bits (ties: candidates first, by id, then earlier new articles), else starts
    its own group named by its id. No simhash (a short body): its own group. An id already among the candidates
    keeps its stored group, so a rerun changes nothing.
    """
    known = sorted((cid, value, group or cid) for cid, value, group in candidates)
    stored = {cid: group for cid, _, group in known}
    pool = np.zeros(len(known) + len(new), dtype=np.uint64)
    pool[: len(known)] = [value for _, value, _ in known]
    pool_groups = [group for _, _, group in known]
    groups: dict[str, str] = {}
    for article_id, value in new:
        if article_id in stored:
            groups[article_id] = stored[article_id]
            continue
        if article_id in groups:
            continue
        group = article_id
        if value is not None:
            size = len(pool_groups)
            if size:
                distances = np.bitwise_count(pool[:size] ^ np.uint64(value))
                best = int(np.argmin(distances))
                if distances[best] <= max_distance:
                    group = pool_groups[best]
            pool[size] = value
            pool_groups.append(group)
        groups[article_id] = group
    return groups
