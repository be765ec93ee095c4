"""Near-duplicate grouping: SimHash of body shingles, lookup keys, group assignment and the index lookup."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from enrich.near_dup import (
    BLOCKS,
    MAX_DISTANCE,
    MIN_WORDS,
    assign_groups,
    band_keys,
    fingerprint,
    from_hex,
    hamming,
    shingles,
    simhash,
    to_hex,
    words,
)
from mediamon.core.settings import Settings
from search.dup_groups import candidates
from search.index_versions import ensure_articles_index

TEXTS = Path(__file__).parent / "fixtures" / "near_dup"


def text(name: str) -> str:
    return (TEXTS / f"{name}.txt").read_text(encoding="utf-8")


def syndicated_copy(body: str, edits: dict[str, str], dateline: str, credit: str) -> str:
    """Another outlet's copy: its own dateline and credit line, and a few words edited."""
    for old, new in edits.items():
        assert old in body
        body = body.replace(old, new, 1)
    return f"{dateline} {body}\n{credit}\n"


MARCH = text("march-minsk")
MARCH_COPY = syndicated_copy(
    MARCH,
    {"more than a hundred": "over 100", "riot police": "special police", "mocked": "ridiculed"},
    "MINSK, Sept 6 (Wire) -",
    "Reporting by Wire News; editing by the Europe desk.",
)
MARCH_RU = text("march-minsk-ru")
MARCH_RU_COPY = syndicated_copy(
    MARCH_RU,
    {"более ста человек": "свыше 100 человек", "высмеивали": "критиковали"},
    "МИНСК, 6 сентября —",
    "Подписывайтесь на наш канал в Telegram.",
)


def test_words_are_casefolded_unicode_words_without_punctuation() -> None:
    assert words("«Ціханоўская» і ЛУКАШЕНКО: 1,000 (or 1000) people — Straße!") == [
        "ціханоўская",
        "і",
        "лукашенко",
        "1000",
        "or",
        "1000",
        "people",
        "strasse",
    ]


def test_shingles_overlap_and_a_short_text_is_one_shingle() -> None:
    assert shingles(["a", "b", "c", "d"], 3) == ["a b c", "b c d"]
    assert shingles(["a", "b"], 3) == ["a b"]
    assert shingles([], 3) == []


def test_simhash_is_stable_across_processes_and_hex_round_trips() -> None:
    value = simhash(["police in minsk", "in minsk detained"])
    assert value == 0x2B44E0051CC08080  # blake2b, not Python's per-process salted hash()
    assert len(to_hex(value)) == 16 and from_hex(to_hex(value)) == value
    assert to_hex(1) == "0000000000000001"


def test_a_syndicated_copy_joins_the_group_of_the_original() -> None:
    original, copy = fingerprint(MARCH), fingerprint(MARCH_COPY)
    assert original is not None and copy is not None and original != copy
    assert hamming(original, copy) <= MAX_DISTANCE
    assert assign_groups([("copy", copy)], [("original", original, "original")]) == {"copy": "original"}


@pytest.mark.parametrize("name", ["march-minsk", "march-minsk-ru"])
def test_copies_with_one_word_in_two_hundred_changed_nearly_always_group(name: str) -> None:
    tokens = text(name).split()
    original = fingerprint(" ".join(tokens))
    assert original is not None
    rng = random.Random(5)
    grouped = 0
    for _ in range(100):
        copy = list(tokens)
        for i in rng.sample(range(len(copy)), max(1, len(copy) // 200)):
            copy[i] = f"edit{rng.randrange(10**6)}"
        value = fingerprint(" ".join(copy))
        grouped += value is not None and hamming(original, value) <= MAX_DISTANCE
    assert grouped >= 90


def test_another_story_about_the_same_people_starts_its_own_group() -> None:
    other = text("sanctions-brussels")
    assert {"tsikhanouskaya", "lukashenko", "minsk", "kolesnikova"} <= set(words(other)) & set(words(MARCH))
    original, different = fingerprint(MARCH), fingerprint(other)
    assert original is not None and different is not None
    assert hamming(original, different) > 3 * MAX_DISTANCE
    assert assign_groups([("other", different)], [("original", original, "original")]) == {"other": "other"}


def test_cyrillic_copies_group_and_other_cyrillic_stories_do_not() -> None:
    original, copy = fingerprint(MARCH_RU), fingerprint(MARCH_RU_COPY)
    other = fingerprint(text("sanctions-brussels-ru"))
    assert original is not None and copy is not None and other is not None
    groups = assign_groups([("ru", original), ("ru-copy", copy), ("ru-other", other)], [])
    assert groups == {"ru": "ru", "ru-copy": "ru", "ru-other": "ru-other"}
    assert hamming(original, fingerprint(MARCH)) > 3 * MAX_DISTANCE  # a translation is not a copy


def test_short_bodies_are_never_merged() -> None:
    caption = "To order a print of this cartoon or one by another of our cartoonists, call the number below."
    assert len(words(caption)) < MIN_WORDS and fingerprint(caption) is None
    groups = assign_groups([("cartoon-1", fingerprint(caption)), ("cartoon-2", fingerprint(caption))], [])
    assert groups == {"cartoon-1": "cartoon-1", "cartoon-2": "cartoon-2"}
    assert fingerprint(" ".join(words(MARCH)[:MIN_WORDS])) is not None


@pytest.mark.parametrize(
    ("max_distance", "blocks"), [(MAX_DISTANCE, BLOCKS), (MAX_DISTANCE, MAX_DISTANCE + 1), (3, 4), (0, 1)]
)
def test_every_pair_within_the_threshold_shares_a_key(max_distance: int, blocks: int) -> None:
    rng = random.Random(20200906)
    for _ in range(2000):
        value = rng.getrandbits(64)
        near = value
        for bit in rng.sample(range(64), rng.randint(0, max_distance)):
            near ^= 1 << bit
        assert set(band_keys(value, max_distance, blocks)) & set(band_keys(near, max_distance, blocks))


def test_pigeonhole_keys_are_tight_and_settings_never_mix() -> None:
    value = random.Random(7).getrandbits(64)
    keys = band_keys(value, 3, 4)
    assert len(keys) == 4 and len(band_keys(value)) == 84  # C(9, 3) combinations of the default 9 blocks
    far = value ^ (1 | 1 << 16 | 1 << 32 | 1 << 48)  # one bit in each of the 4 bands of 16 bits
    assert not set(keys) & set(band_keys(far, 3, 4))
    assert not set(band_keys(value, 3, 4)) & set(band_keys(value, 3, 5))
    with pytest.raises(ValueError):
        band_keys(value, 4, 4)


def test_assign_groups_joins_earlier_groups_and_is_order_stable() -> None:
    base = random.Random(1).getrandbits(64)
    indexed = [
        ("old-b", base ^ 0b11, "story-1"),  # distance 2 from `base`
        ("old-a", base ^ 0b1100, "story-1"),  # distance 2 as well: ties go to the smallest id
        ("old-c", base ^ 0b110000, None),  # indexed before grouping existed: its own group
        ("old-far", base ^ 0xFFFFFFFF00000000, "story-9"),
    ]
    new = [
        ("n1", base),  # joins the closest indexed group
        ("n2", base ^ 0xFFFF0000),  # far from everything: its own group
        ("n3", base ^ 0xFFFF0001),  # one bit from n2, an earlier new article
        ("n4", base ^ 0b110001),  # one bit from old-c
        ("n5", None),  # a short body
        ("old-far", base ^ 0xFFFFFFFF00000000),  # already indexed: keeps its group
    ]
    expected = {"n1": "story-1", "n2": "n2", "n3": "n2", "n4": "old-c", "n5": "n5", "old-far": "story-9"}
    assert assign_groups(new, indexed) == expected
    assert assign_groups(new, list(reversed(indexed))) == expected
    assert assign_groups(new, indexed, max_distance=0) == {**expected, "n1": "n1", "n3": "n3", "n4": "n4"}


def test_index_lookup_finds_the_original_and_groups_its_copy(es: Elasticsearch, settings: Settings) -> None:
    local = settings.model_copy(update={"index_prefix": settings.index_prefix + "neardup-"})
    alias = ensure_articles_index(es, local, 384, "test-model")
    stories = {"march": MARCH, "march-ru": MARCH_RU, "sanctions": text("sanctions-brussels")}
    for doc_id, body in stories.items():
        value = fingerprint(body)
        assert value is not None
        es.index(
            index=alias,
            id=doc_id,
            document={"body": body, "simhash": to_hex(value), "simhash_bands": band_keys(value), "dup_group": doc_id},
        )
    es.index(index=alias, id="short", document={"body": "Too short to group.", "dup_group": "short"})
    es.indices.refresh(index=alias)

    copies = [("march-copy", fingerprint(MARCH_COPY)), ("march-ru-copy", fingerprint(MARCH_RU_COPY))]
    keys = [key for _, value in copies if value is not None for key in band_keys(value)]
    found = candidates(es, alias, keys)
    assert {(doc_id, group) for doc_id, _, group in found} == {("march", "march"), ("march-ru", "march-ru")}
    assert dict((doc_id, value) for doc_id, value, _ in found)["march"] == fingerprint(MARCH)
    assert assign_groups(copies, found) == {"march-copy": "march", "march-ru-copy": "march-ru"}
    assert candidates(es, alias, []) == []
