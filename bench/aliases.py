"""False hits of generated aliases on the real news of the seeds' weeks (`../shared/bench/news`).

    .venv/bin/python -m bench.aliases [--worst 12] [--json out.json]

Two checks, each alias counted by the articles it matches (title, standfirst and body):
- Belarus: the seed's people and places are written out by hand in `seeds/entities.yaml`. Here they are generated
  instead, from their labels alone (`Alexander Lukashenko`), as for a new seed, and every article a generated
  alias finds is checked against the hand-written entity: found by both (agreed), by the generated alias alone
  (a false hit, unless the hand-written list misses a true form) or by the hand-written aliases alone (a miss).
- Karabakh (`karabakh-2020-09`): its plain names get generated aliases as in production. There is no hand-written
  truth, so each alias's hits are shown by surface form, with how many of its articles the labels grade 0 (every
  article naming the war's places, people or look-alikes was read and graded, `bench/labels/`), and the contexts
  of the forms to read.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from bench.news_data import BenchArticle, load_articles, news_dir
from enrich.gazetteer import Gazetteer, load_gazetteer
from enrich.phrases import PhraseMatcher
from enrich.seed_aliases import load_seed_tagger
from enrich.seeds import load_seeds
from mediamon.core.settings import Settings

LABELS = Path(__file__).parent / "labels"
# The Belarus gazetteer's people and places whose aliases are generated from their labels for the check.
BELARUS_NAMES = {
    "lukashenko": "Alexander Lukashenko",
    "tsikhanouskaya": "Sviatlana Tsikhanouskaya",
    "kolesnikova": "Maria Kolesnikova",
    "babariko": "Viktor Babariko",
    "tsepkalo": "Valery Tsepkalo",
    "latushko": "Pavel Latushko",
    "alexievich": "Svetlana Alexievich",
    "makei": "Vladimir Makei",
    "yermoshina": "Lidia Yermoshina",
    "lavrov": "Sergei Lavrov",
    "mishustin": "Mikhail Mishustin",
    "putin": "Vladimir Putin",
    "zelensky": "Volodymyr Zelensky",
    "belarus": "Belarus",
    "minsk": "Minsk",
    "vilnius": "Vilnius",
    "russia": "Russia",
    "ukraine": "Ukraine",
    "lithuania": "Lithuania",
    "poland": "Poland",
}


def article_text(article: BenchArticle) -> str:
    return f"{article.title}\n{article.description}\n{article.body}"


def grades(seed_id: str) -> dict[str, int]:
    """The labels of a seed kept in the repository (`bench/labels/<seed>.jsonl`)."""
    path = LABELS / f"{seed_id}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: int(row["grade"]) for row in rows}


def context(text: str, start: int, end: int, width: int = 40) -> str:
    return " ".join(f"{text[max(0, start - width) : start]}[{text[start:end]}]{text[end : end + width]}".split())


def belarus_check(articles: list[BenchArticle], gazetteer: Gazetteer, settings: Settings) -> list[dict]:
    """Generated aliases of the Belarus entities against their hand-written ones, article by article."""
    from enrich.seed_aliases import AliasCache

    cache = AliasCache(settings.data_dir / "aliases")
    generated = {eid: cache.get(name, None) for eid, name in BELARUS_NAMES.items() if eid in gazetteer.entities}
    cache.save()
    matcher = PhraseMatcher({eid: made.all_aliases() for eid, made in generated.items()}, capitalised=set(generated))
    rows = []
    by_generated: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(dict)
    by_hand: dict[str, set[str]] = defaultdict(set)
    for a in articles:
        text = article_text(a)
        for hit in matcher.hits(text):
            by_generated[hit.keys[0]].setdefault(a.id, []).append((hit.phrases[0], context(text, hit.start, hit.end)))
        for entity in gazetteer.find_entities(text):
            by_hand[entity].add(a.id)
    for eid, made in generated.items():
        found = by_generated.get(eid, {})
        false = {aid: hits for aid, hits in found.items() if aid not in by_hand[eid]}
        per_alias = Counter(alias for hits in false.values() for alias, _ in hits)
        rows.append(
            {
                "entity": eid,
                "name": made.name,
                "aliases": len(made.all_aliases()),
                "articles": len(found),
                "agreed": len(set(found) & by_hand[eid]),
                "false": len(false),
                "missed": len(by_hand[eid] - set(found)),
                "false_by_alias": per_alias.most_common(),
                "false_examples": [hits[0][1] for hits in list(false.values())[:5]],
                "missed_examples": sorted(by_hand[eid] - set(found))[:5],
            }
        )
    return rows


def karabakh_check(articles: list[BenchArticle], settings: Settings, seed_id: str) -> list[dict]:
    """Each generated alias of the seed: articles it matches, its surface forms, its hits in grade-0 articles."""
    seeds = load_seeds(settings.seeds_dir)
    tagger, entities = load_seed_tagger(settings.seeds_dir, seeds, settings.data_dir)
    made = entities.generated[seed_id]
    labels = grades(seed_id)
    ids = {m.id: name for name, m in made.items()}
    found: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(dict)
    surfaces_of: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for a in articles:
        text = article_text(a)
        for mention in tagger.gazetteer.mentions(text):
            if mention.entity in ids:
                found[(mention.entity, mention.alias)].setdefault(a.id, []).append(
                    context(text, mention.start, mention.end)
                )
                surfaces_of[(mention.entity, mention.alias)][mention.surface] += 1
    rows = []
    for (eid, alias), hits in sorted(found.items(), key=lambda kv: -len(kv[1])):
        surfaces = surfaces_of[(eid, alias)]
        rows.append(
            {
                "entity": eid,
                "alias": alias,
                "articles": len(hits),
                "graded": sum(1 for aid in hits if aid in labels),
                "graded_0": sum(1 for aid in hits if labels.get(aid) == 0),
                "graded_2_plus": sum(1 for aid in hits if labels.get(aid, 0) >= 2),
                "forms": surfaces.most_common(8),
                "examples": [cs[0] for cs in list(hits.values())[:4]],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worst", type=int, default=12, help="how many aliases to show with examples")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    settings = Settings()
    articles = load_articles(news_dir(settings))
    gazetteer = load_gazetteer(settings.seeds_dir / "entities.yaml")
    belarus = belarus_check(articles, gazetteer, settings)
    print(f"Belarus entities, aliases generated from their labels, on {len(articles)} articles:")
    print(f"{'entity':16} {'aliases':>7} {'articles':>8} {'agreed':>6} {'false':>5} {'missed':>6}  false hits by alias")
    for r in belarus:
        shown = ", ".join(f"{a} {n}" for a, n in r["false_by_alias"][:4])
        print(
            f"{r['entity']:16} {r['aliases']:7} {r['articles']:8} {r['agreed']:6} {r['false']:5} {r['missed']:6}  "
            f"{shown}"
        )
    for r in sorted(belarus, key=lambda r: -r["false"])[: args.worst]:
        for example in r["false_examples"][:3]:
            print(f"  false {r['entity']}: {example}")
    karabakh = karabakh_check(articles, settings, "karabakh-2020-09")
    print(f"\nkarabakh-2020-09, generated aliases on {len(articles)} articles (graded: listed in the seed's labels):")
    print(f"{'entity':22} {'alias':24} {'articles':>8} {'graded 0':>8} {'graded 2+':>9}  forms")
    for r in karabakh:
        forms = ", ".join(f"{f} {n}" for f, n in r["forms"][:5])
        print(f"{r['entity']:22} {r['alias']:24} {r['articles']:8} {r['graded_0']:8} {r['graded_2_plus']:9}  {forms}")
    for r in karabakh[: args.worst]:
        for example in r["examples"][:2]:
            print(f"  {r['alias']}: {example}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"belarus": belarus, "karabakh": karabakh}, handle, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
