"""Article-body extraction on real pages (`../shared/bench/extraction`): mediamon against bare trafilatura.

    .venv/bin/python -m bench.extraction [--ablation] [--json out.json]

Scores, side by side and in one process, bare `trafilatura.extract(html, url=url)` with its defaults and the body
that mediamon stores (`ingest.extract.extract_page(html, url).body`), with the benchmark's own metric: word tokens
(`\\w+`), 4-token shingles with counts, per-page TP/FP/FN normalised by their sum, precision and recall per page
averaged over pages, F1 of the two averages; an empty prediction scores precision 0 and recall 0 (as the data's
README says; the upstream script instead leaves such pages out of the precision average). The ground truth holds
the article body without its headline (checked and printed on every run), so dropping a repeated headline line is
fair. `--ablation` adds single trafilatura modes for comparison.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

import trafilatura
from rich.console import Console
from rich.table import Table

from ingest.boilerplate import clean_body
from ingest.extract import extract_page
from mediamon.core.settings import Settings

TOKEN = re.compile(r"\w+")
SHINGLE = 4


@dataclass(frozen=True, slots=True)
class BenchPage:
    """One benchmark page: its HTML (decoded as UTF-8), URL and the human-checked article body."""

    id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True, slots=True)
class Scores:
    """One method's result: averaged precision and recall, their F1, speed, and per-page (precision, recall)."""

    method: str
    precision: float
    recall: float
    f1: float
    pages_per_second: float
    per_page: dict[str, tuple[float, float]]


def extraction_dir(settings: Settings) -> Path:
    """The extraction benchmark folder; exits with a clear message when it is absent."""
    path = settings.bench_dir / "extraction"
    if not (path / "ground-truth.json").exists():
        sys.exit(f"benchmark data not found at {path} (set MEDIAMON_BENCH_DIR to the folder holding extraction/)")
    return path


def load_pages(path: Path) -> list[BenchPage]:
    """Every page with its ground truth, in id order."""
    truth = json.loads((path / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, row in sorted(truth.items()):
        html = gzip.decompress((path / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", "replace")
        pages.append(BenchPage(page_id, row["url"], html, row.get("articleBody", "")))
    return pages


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """4-token shingles of `\\w+` tokens with counts (a text of fewer tokens is one shingle)."""
    tokens = TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1)) if tokens)


def page_score(truth: str, predicted: str) -> tuple[float, float]:
    """Precision and recall of one page from its TP/FP/FN shingle counts normalised by their sum."""
    want, got = shingles(truth), shingles(predicted)
    tp, fp, fn = sum((want & got).values()), sum((got - want).values()), sum((want - got).values())
    total = tp + fp + fn
    if total == 0:
        return 1.0, 1.0
    tp, fp, fn = tp / total, fp / total, fn / total
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def evaluate(method: str, extract: Callable[[BenchPage], str], pages: list[BenchPage]) -> Scores:
    """Run one extractor over every page (timed) and score it."""
    start = time.perf_counter()
    predicted = {page.id: extract(page) or "" for page in pages}
    seconds = time.perf_counter() - start
    per_page = {page.id: page_score(page.truth, predicted[page.id]) for page in pages}
    precision = mean(p for p, _ in per_page.values())
    recall = mean(r for _, r in per_page.values())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(method, precision, recall, f1, len(pages) / seconds, per_page)


def _trafilatura_mode(**options: bool) -> Callable[[BenchPage], str]:
    def extract(page: BenchPage) -> str:
        doc = trafilatura.bare_extraction(
            page.html, url=page.url, with_metadata=True, include_comments=False, **options
        )
        return clean_body(doc.text or "", doc.title or "") if doc is not None else ""

    return extract


def methods(ablation: bool) -> dict[str, Callable[[BenchPage], str]]:
    """The extractors to compare: the baseline and mediamon, then (with `ablation`) single trafilatura modes."""
    chosen: dict[str, Callable[[BenchPage], str]] = {
        "trafilatura.extract, defaults": lambda p: trafilatura.extract(p.html, url=p.url),
        "mediamon extract_page().body": lambda p: extract_page(p.html, url=p.url).body,
    }
    if ablation:
        chosen |= {
            "no comments + cleaning": _trafilatura_mode(),
            "favor_precision + cleaning": _trafilatura_mode(favor_precision=True),
            "favor_recall + cleaning": _trafilatura_mode(favor_recall=True),
        }
    return chosen


def headline_in_truth(pages: list[BenchPage]) -> int:
    """How many ground-truth bodies start with the page's headline (as trafilatura reads it)."""
    count = 0
    for page in pages:
        doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
        title = " ".join(TOKEN.findall((doc.title or "") if doc is not None else ""))
        count += bool(title) and " ".join(TOKEN.findall(page.truth)).startswith(title)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ablation", action="store_true", help="also score single trafilatura modes")
    parser.add_argument("--json", help="also write the results (with per-page scores) to this file")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 100))  # whole rows also when piped
    pages = load_pages(extraction_dir(Settings()))
    titled = headline_in_truth(pages)
    console.print(f"{len(pages)} pages; ground-truth bodies that start with the headline: {titled}")
    results = [evaluate(name, extract, pages) for name, extract in methods(args.ablation).items()]
    table = Table(title=f"Article-body extraction, {len(pages)} pages (trafilatura {trafilatura.__version__})")
    for column in ("method", "precision", "recall", "F1", "pages/s"):
        table.add_column(column, justify="left" if column == "method" else "right", no_wrap=True)
    for r in results:
        table.add_row(r.method, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", f"{r.pages_per_second:.1f}")
    console.print(table)
    if args.json:
        rows = [
            {
                "method": r.method,
                "precision": r.precision,
                "recall": r.recall,
                "f1": r.f1,
                "pages_per_second": r.pages_per_second,
                "per_page": {k: {"precision": p, "recall": q} for k, (p, q) in r.per_page.items()},
            }
            for r in results
        ]
        payload = {"pages": len(pages), "headline_in_truth": titled, "trafilatura": trafilatura.__version__}
        Path(args.json).write_text(json.dumps(payload | {"results": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
