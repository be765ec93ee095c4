"""Belarus topic tags from weighted multilingual rules (`seeds/topics.yaml`), in the manner of EMM categories.

A topic scores the sum of its rules' `weight * min(count, max)`, and is tagged when the score reaches its
threshold and every topic it `requires` is tagged too; with `length_norm: N` the score of a text longer than
N words is scaled by sqrt(N / words), so that a few mentions in a long article weigh less; with
`short: {words: W, threshold: T}` a text under W words (a headline and lead, as many feeds carry) needs only T.
A rule counts the words where its terms occur:
- `any: [terms]` — occurrences of any term;
- `all: [[terms], [terms], ...]` — the smallest occurrence count among the groups (0 unless each occurs);
- `near: [[terms], [terms]]` with `within: N` — occurrences of a first-group term with a second-group term
  at most N words away;
and `not: [terms]` switches the rule off wherever one of those terms occurs in the article. An occurrence in
the title counts `title_weight` times. A term is a phrase (syntax in enrich/phrases.py) or `entity:<id>`, a
mention of a gazetteer entity (seeds/entities.yaml).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enrich.gazetteer import Gazetteer, load_gazetteer
from enrich.phrases import PhraseError, PhraseMatcher, tokenize
from mediamon.core.entry_files import UnreadableFile, read_yaml
from mediamon.core.errors import ConfigError

ENTITY_PREFIX = "entity:"
TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")
_WORD_RE = re.compile(r"\w+")


class TopicsError(ConfigError):
    """A topics file that cannot be used; the message names the file and the topic."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One weighted rule of a topic (see the module docstring for `kind`)."""

    name: str
    kind: str  # "any", "all" or "near"
    groups: tuple[frozenset[str], ...]
    weight: float
    cap: float | None = None
    within: int = 0
    unless: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic: its rules, the score that tags it and the topics it needs."""

    id: str
    label: str
    threshold: float
    rules: tuple[Rule, ...]
    requires: tuple[str, ...] = ()
    length_norm: int | None = None
    short_words: int | None = None
    short_threshold: float | None = None

    def threshold_for(self, words: int) -> float:
        """The score that tags a text of `words` words: a headline-and-lead item needs less than an article."""
        if self.short_words is not None and self.short_threshold is not None and words < self.short_words:
            return self.short_threshold
        return self.threshold


@dataclass(frozen=True, slots=True)
class TopicTags:
    """Tags of one article: topics over threshold, every topic's score and the terms that scored, and the
    gazetteer's entities the same pass found (entity id -> mentions in title and text)."""

    topics: list[str]
    scores: dict[str, float]
    matched: dict[str, list[str]]
    entities: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"topics": list(self.topics), "scores": dict(self.scores), "matched": dict(self.matched)}


# Term -> word positions, for the title and for the body.
_Positions = dict[str, list[int]]


class TopicTagger:
    """Compiled topic rules with the gazetteer they refer to. Build once, then `tag` any number of articles."""

    def __init__(self, topics: Iterable[Topic], gazetteer: Gazetteer, title_weight: float = 3.0) -> None:
        self.topics = tuple(topics)
        self.gazetteer = gazetteer
        self.title_weight = title_weight
        terms = {
            term
            for topic in self.topics
            for rule in topic.rules
            for term in (*(t for group in rule.groups for t in group), *rule.unless)
            if not term.startswith(ENTITY_PREFIX)
        }
        self._terms = PhraseMatcher({term: [term] for term in sorted(terms)}, overlapping=True) if terms else None

    def with_gazetteer(self, gazetteer: Gazetteer) -> TopicTagger:
        """The same rules over another gazetteer (one with more entities: `enrich/seed_aliases.py`)."""
        missing = {e for t in self.topics for r in t.rules for g in r.groups for e in g if e.startswith(ENTITY_PREFIX)}
        missing = {e for e in missing if e[len(ENTITY_PREFIX) :] not in gazetteer.entities}
        if missing:
            raise TopicsError(f"the gazetteer lacks entities the topic rules use: {sorted(missing)}")
        return TopicTagger(self.topics, gazetteer, self.title_weight)

    def _positions(self, text: str) -> _Positions:
        if not text:
            return {}
        starts = [m.start() for m in _WORD_RE.finditer(text)]
        found: _Positions = {}
        for mention in self.gazetteer.mentions(text):
            found.setdefault(ENTITY_PREFIX + mention.entity, []).append(bisect_right(starts, mention.start))
        if self._terms is not None:
            for hit in self._terms.hits(text):
                word = bisect_right(starts, hit.start)
                for key in hit.keys:
                    found.setdefault(key, []).append(word)
        return found

    def _count(self, rule: Rule, fields: list[tuple[float, _Positions]]) -> tuple[float, list[str]]:
        used: set[str] = set()
        total = 0.0
        group_totals = [0.0] * len(rule.groups)
        for field_weight, positions in fields:
            group_words = []
            for g, group in enumerate(rule.groups):
                words: set[int] = set()
                for term in group & positions.keys():
                    words.update(positions[term])
                    if rule.kind != "near" or g == 0:
                        used.add(term)
                group_words.append(words)
                group_totals[g] += field_weight * len(words)
            if rule.kind == "any":
                total += field_weight * len(group_words[0])
            elif rule.kind == "near":
                others = sorted(group_words[1])
                total += field_weight * sum(1 for w in group_words[0] if _has_near(others, w, rule.within))
        if rule.kind == "all":
            total = min(group_totals)
        return total, sorted(used) if total else []

    def tag(self, title: str, text: str) -> TopicTags:
        """Topics of an article from its `title` and `text` (standfirst and body); title matches weigh more."""
        fields = [(self.title_weight, self._positions(title)), (1.0, self._positions(text))]
        words = len(_WORD_RE.findall(text))
        scores: dict[str, float] = {}
        matched: dict[str, list[str]] = {}
        tagged: list[str] = []
        for topic in self.topics:
            score = 0.0
            contributions: dict[str, float] = {}
            for rule in topic.rules:
                if any(rule.unless & positions.keys() for _, positions in fields):
                    continue
                count, used = self._count(rule, fields)
                if not count:
                    continue
                value = rule.weight * (min(count, rule.cap) if rule.cap is not None else count)
                score += value
                if value > 0:
                    for term in used:
                        contributions[term] = contributions.get(term, 0.0) + value
            if topic.length_norm and words > topic.length_norm:
                score *= math.sqrt(topic.length_norm / words)
            scores[topic.id] = round(score, 3)
            matched[topic.id] = sorted(contributions, key=lambda t: (-contributions[t], t))
            if score >= topic.threshold_for(words) and all(req in tagged for req in topic.requires):
                tagged.append(topic.id)
        return TopicTags(tagged, scores, {k: v for k, v in matched.items() if v}, _entity_counts(fields))


def _entity_counts(fields: list[tuple[float, _Positions]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, positions in fields:
        for key, words in positions.items():
            if key.startswith(ENTITY_PREFIX):
                entity = key[len(ENTITY_PREFIX) :]
                counts[entity] = counts.get(entity, 0) + len(words)
    return counts


def _has_near(sorted_words: list[int], word: int, within: int) -> bool:
    i = bisect_right(sorted_words, word + within)
    return i > 0 and sorted_words[i - 1] >= word - within


# --- Loading and validation ---------------------------------------------------------------------------------


def _fail(source: str, where: str, problem: str) -> TopicsError:
    return TopicsError(f"{source}: {where}: {problem}")


def _terms(raw: Any, source: str, where: str, gazetteer: Gazetteer) -> frozenset[str]:
    if not isinstance(raw, list) or not raw:
        raise _fail(source, where, "must be a non-empty list of terms")
    seen: dict[tuple[str, ...], str] = {}
    for term in raw:
        if not isinstance(term, str) or not term.strip():
            raise _fail(source, where, f"term {term!r} must be a non-empty string")
        if term.startswith(ENTITY_PREFIX):
            if term[len(ENTITY_PREFIX) :] not in gazetteer.entities:
                raise _fail(source, where, f"{term!r} is not in the gazetteer")
            key: tuple[str, ...] = (term,)
        else:
            try:
                key = tuple(tokenize(term))
            except PhraseError as exc:
                raise _fail(source, where, str(exc)) from None
        if key in seen:
            raise _fail(source, where, f"term {term!r} repeats {seen[key]!r} (the same once case and accents go)")
        seen[key] = term
    return frozenset(raw)


def _number(raw: Any, source: str, where: str, *, positive: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or (positive and raw <= 0):
        raise _fail(source, where, f"{raw!r} must be a {'positive ' if positive else ''}number")
    return float(raw)


def _parse_rule(raw: Any, index: int, source: str, topic_id: str, gazetteer: Gazetteer) -> Rule:
    where = f"topic {topic_id!r}, rule #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(source, where, "must be a mapping")
    name = raw.get("name", f"rule {index + 1}")
    where = f"topic {topic_id!r}, rule #{index + 1} ({name})"
    unknown = set(raw) - {"name", "weight", "max", "any", "all", "near", "within", "not"}
    if unknown:
        raise _fail(source, where, f"unknown keys {sorted(unknown)}")
    kinds = [kind for kind in ("any", "all", "near") if kind in raw]
    if len(kinds) != 1:
        raise _fail(source, where, "needs exactly one of 'any', 'all', 'near'")
    kind = kinds[0]
    if kind == "any":
        groups: tuple[frozenset[str], ...] = (_terms(raw["any"], source, f"{where}, any", gazetteer),)
    else:
        body = raw[kind]
        if not isinstance(body, list) or len(body) < 2 or (kind == "near" and len(body) != 2):
            raise _fail(source, where, f"'{kind}' must be a list of {'two' if kind == 'near' else '2+'} term lists")
        groups = tuple(_terms(g, source, f"{where}, {kind}[{i}]", gazetteer) for i, g in enumerate(body))
    within = raw.get("within", 0)
    if (kind == "near") != ("within" in raw) or isinstance(within, bool) or not isinstance(within, int) or within < 0:
        raise _fail(source, where, "'within' (a word count >= 0) goes with 'near' and only with it")
    weight = _number(raw.get("weight", 1.0), source, f"{where}, weight")
    if weight == 0:
        raise _fail(source, where, "weight must not be 0")
    cap = _number(raw["max"], source, f"{where}, max", positive=True) if "max" in raw else None
    unless = _terms(raw["not"], source, f"{where}, not", gazetteer) if "not" in raw else frozenset()
    return Rule(str(name), kind, groups, weight, cap, within, unless)


def _parse_topic(raw: Any, index: int, source: str, known: list[str], gazetteer: Gazetteer) -> Topic:
    where = f"topic #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(source, where, "must be a mapping")
    topic_id = raw.get("id")
    if not isinstance(topic_id, str) or not TOPIC_ID.match(topic_id):
        raise _fail(source, where, f"id {topic_id!r} must be dotted lower-case words, e.g. `belarus.protests`")
    where = f"topic {topic_id!r}"
    if topic_id in known:
        raise _fail(source, where, "duplicate id")
    unknown = set(raw) - {"id", "label", "description", "threshold", "short", "requires", "length_norm", "rules"}
    if unknown:
        raise _fail(source, where, f"unknown keys {sorted(unknown)}")
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _fail(source, where, "label must be a non-empty string")
    threshold = _number(raw.get("threshold"), source, f"{where}, threshold", positive=True)
    length_norm = raw.get("length_norm")
    if length_norm is not None and (
        isinstance(length_norm, bool) or not isinstance(length_norm, int) or length_norm < 1
    ):
        raise _fail(source, where, f"length_norm {length_norm!r} must be a positive word count")
    short = raw.get("short")
    short_words = short_threshold = None
    if short is not None:
        if not isinstance(short, Mapping) or set(short) != {"words", "threshold"}:
            raise _fail(source, where, "short must be a mapping with `words` and `threshold`")
        short_words = int(_number(short["words"], source, f"{where}, short.words", positive=True))
        short_threshold = _number(short["threshold"], source, f"{where}, short.threshold", positive=True)
    requires = raw.get("requires", [])
    if not isinstance(requires, list) or any(req not in known for req in requires):
        raise _fail(source, where, f"requires {requires!r} must list topics defined above it")
    rules = raw.get("rules")
    if not isinstance(rules, list) or not rules:
        raise _fail(source, where, "rules must be a non-empty list")
    parsed = tuple(_parse_rule(rule, i, source, topic_id, gazetteer) for i, rule in enumerate(rules))
    if not any(rule.weight > 0 for rule in parsed):
        raise _fail(source, where, "needs at least one rule with a positive weight")
    return Topic(topic_id, label.strip(), threshold, parsed, tuple(requires), length_norm, short_words, short_threshold)


def parse_topics(data: Any, gazetteer: Gazetteer, source: str = "<topics>") -> TopicTagger:
    """A tagger from the parsed YAML `data`; entity terms are checked against `gazetteer`."""
    if not isinstance(data, Mapping) or not isinstance(data.get("topics"), list):
        raise TopicsError(f"{source}: must be a mapping with a 'topics' list")
    unknown = set(data) - {"version", "title_weight", "lists", "topics"}
    if unknown:
        raise TopicsError(f"{source}: unknown keys {sorted(unknown)}")
    title_weight = _number(data.get("title_weight", 3.0), source, "title_weight", positive=True)
    topics: list[Topic] = []
    for index, raw in enumerate(data["topics"]):
        topics.append(_parse_topic(raw, index, source, [t.id for t in topics], gazetteer))
    return TopicTagger(topics, gazetteer, title_weight)


def load_topics(path: Path, gazetteer: Gazetteer) -> TopicTagger:
    """Read, validate and compile the topic rules at `path`."""
    try:
        data = read_yaml(path)
    except UnreadableFile as exc:
        raise TopicsError(str(exc)) from None
    return parse_topics(data, gazetteer, str(path))


def load_tagger(seeds_dir: Path) -> TopicTagger:
    """The tagger of a seeds folder: its topic rules (`topics.yaml`) over its gazetteer (`entities.yaml`)."""
    return load_topics(seeds_dir / "topics.yaml", load_gazetteer(seeds_dir / "entities.yaml"))
