"""Ingest throughput end to end on real articles (`../shared/bench/news`): mediamon's run against a naive baseline.

    .venv/bin/python -m bench.pipeline [--articles 5000] [--baseline 300] [--pages light|real] [--json out.json]

A separate process serves the benchmark's 13k articles as HTML pages with site chrome and as RSS feeds of 150
items on 4 ports of 127.0.0.1 (`bench.news_site`, rendered in memory). The pages are the bench's own light ones
(8.5 KB of HTML on average), or with `--pages real` each article in the chrome of one of the extraction benchmark's
real pages (`bench.real_chrome`: scripts, navigation, teasers and all, 176 KB on average). In one run, after both
models are loaded once (each run still loads its enricher, from the loaded model):

- the naive baseline polls its feeds and takes one article at a time: fetch the page, extract it, `annotate` it
  alone (one vector per `encode`, the model on torch in fp32 as before the embedding backends), `bulk_create` it
  alone;
- mediamon's `run_once` (the DAG's stage functions, with fetching and extraction in a second process, enrichment
  and indexing overlapped over batches) polls other feeds of the same site and indexes their articles;
- the naive baseline again, on yet other feeds: the speed-up is over the two baselines' mean, as the speed of a
  shared machine drifts.

Each writes to its own index under the prefix `bench-pipeline-` (deleted at the end). Reported: articles per hour
(indexed articles over the run's wall time, feed polling included), seconds per stage (busy time, which overlaps in
mediamon's run), CPU seconds of the process, of its fetching process, of the Elasticsearch node (its own
statistics) and of the page server (which stands in for the news sites, on the same cores), peak resident memory
of the process and its fetching process together, and a profile of `annotate` on one batch (reading the articles:
language detection, tagging; relevance; the model alone). Goals: 150,000 articles/hour and 2.5 times the
baselines' mean.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import torch
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.table import Table

from bench.extraction import extraction_dir
from bench.news_data import news_dir
from bench.news_site import ServedFeed, serve_bench_news
from enrich.annotate import Enricher, annotate, load_enricher
from enrich.embed import embedding_text
from ingest.feed_state import read_feed
from ingest.fetch import Fetcher
from ingest.pages import article_from_page
from ingest.sources import Source
from mediamon.core.records import Article
from mediamon.core.settings import Settings
from mediamon.flows.ingest_run import run_once
from search.client import make_client
from search.documents import article_document
from search.index_versions import articles_alias, delete_prefixed, ensure_articles_index
from search.write import bulk_create

PREFIX = "bench-pipeline-"
GOAL_PER_HOUR = 150_000
GOAL_SPEEDUP = 2.5
# The functions of `annotate` whose cumulative time the profile reports: (file name ends with, function name). The
# model embeds in a thread of its own meanwhile (cProfile sees the calling thread only): reading the articles
# (`_read`: language, topics and entities, near-duplicate digest) includes the time it waits for the GIL.
PROFILED = {
    "reading the articles, while the model embeds": ("enrich/annotate.py", "_read"),
    "language (lingua)": ("enrich/language.py", "detect_language"),
    "topics and entities": ("enrich/annotate.py", "article_signals"),
    "relevance to seeds": ("enrich/relevance.py", "relevance"),
}


@dataclass(frozen=True, slots=True)
class RunResult:
    """One measured run: indexed articles, wall seconds, busy seconds per stage, CPU seconds and peak memory."""

    name: str
    articles: int
    seconds: float
    stages: dict[str, float]
    cpu_seconds: dict[str, float]
    peak_rss_mb: float

    @property
    def per_hour(self) -> float:
        """Indexed articles per hour of wall time."""
        return self.articles / self.seconds * 3600 if self.seconds else 0.0


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int, exclude: int) -> list[int]:
    """`root` and the processes below it, without `exclude` and what is below that."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid != exclude:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


@contextmanager
def peak_rss(exclude: int, every: float = 0.25) -> Iterator[list[float]]:
    """Samples the summed resident memory of this process and its children (not `exclude`); yields [peak MB]."""
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            total = sum(_rss_kb(pid) for pid in _descendants(os.getpid(), exclude))
            peak[0] = max(peak[0], total / 1024)

    thread = threading.Thread(target=sample, name="rss", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def _cpu(client: Elasticsearch, server_pid: int) -> dict[str, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    nodes = client.nodes.stats(metric="process")["nodes"].values()
    server = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {
        "process": own.ru_utime + own.ru_stime,
        "fetching": children.ru_utime + children.ru_stime,
        "elasticsearch": sum(node["process"]["cpu"]["total_in_millis"] for node in nodes) / 1000,
        "page server": (int(server[11]) + int(server[12])) / os.sysconf("SC_CLK_TCK"),  # utime, stime
    }


@contextmanager
def _timed(stages: Counter[str], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        stages[stage] += time.perf_counter() - started


def naive_run(settings: Settings, sources: Sequence[Source]) -> tuple[int, dict[str, float]]:
    """One article at a time: fetch, extract, annotate alone, index alone. Returns articles indexed, stage seconds."""
    stages: Counter[str] = Counter()
    client = make_client(settings)
    with _timed(stages, "load"):
        enricher = load_enricher(settings)
    alias = ensure_articles_index(client, settings, enricher.embedder.dims, enricher.embedder.model_id)
    indexed = 0
    with Fetcher(settings) as fetcher:
        for source in sources:
            for feed in source.feeds:
                with _timed(stages, "feeds"):
                    _, entries = read_feed(fetcher.fetch(str(feed), kind="feed"), source.id)
                for entry in entries:
                    with _timed(stages, "fetch"):
                        page = fetcher.fetch(entry.url, kind="page")
                    if not page.ok:
                        continue
                    with _timed(stages, "extract"):
                        article = article_from_page(
                            entry,
                            page,
                            source,
                            settings.keep_raw_html,
                            future_skew=timedelta(hours=settings.future_skew_hours),
                        )
                    with _timed(stages, "enrich"):
                        enrichment = annotate([article], enricher)[0]
                    with _timed(stages, "index"):
                        result = bulk_create(client, alias, [(article.id, article_document(article, enrichment))])
                    indexed += result.created
    with _timed(stages, "index"):
        client.indices.refresh(index=alias)
    return indexed, {k: round(v, 2) for k, v in stages.items()}


def measure(
    name: str, run: Callable[[], tuple[int, dict[str, float]]], server_pid: int, client: Elasticsearch
) -> RunResult:
    """Run `run()` (returning indexed articles and stage seconds) and measure it."""
    cpu = _cpu(client, server_pid)
    started = time.perf_counter()
    with peak_rss(exclude=server_pid) as peak:
        articles, stages = run()
    seconds = time.perf_counter() - started
    used = {k: round(v - cpu[k], 1) for k, v in _cpu(client, server_pid).items()}
    return RunResult(name, articles, round(seconds, 2), stages, used, round(peak[0], 1))


def profile_annotate(enricher: Enricher, articles: list[Article]) -> dict[str, float]:
    """Milliseconds per article of `annotate` on one batch, in total and for its parts (under cProfile)."""
    annotate(articles, enricher)  # warm: lingua loads each language's models on first use, a headline's as needed
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(annotate, articles, enricher)
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    costs = {"annotate (total)": total}
    for label, (file_end, function) in PROFILED.items():
        rows = [row for (file, _, func), row in stats.items() if func == function and file.endswith(file_end)]
        costs[label] = sum(row[3] for row in rows)
    return {label: round(seconds / len(articles) * 1000, 2) for label, seconds in costs.items()}


def encode_speeds(enricher: Enricher, articles: list[Article], single: int = 64) -> dict[str, float]:
    """Articles per second that the model embeds in one `encode` call (and its ms per article) and one at a time, on
    the same texts."""
    texts = [embedding_text(a.title, a.summary, a.body) for a in articles]
    started = time.perf_counter()
    enricher.embedder.encode(texts)
    batch = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts[:single]:
        enricher.embedder.encode([text])
    alone = min(single, len(texts)) / (time.perf_counter() - started)
    return {
        "vectors alone (encode), ms per article": round(1000 / batch, 2),
        "encode batch, articles/s": round(batch, 1),
        "encode one at a time, articles/s": round(alone, 1),
    }


def _pick(feeds: Sequence[ServedFeed], articles: int, skip: int = 0) -> list[ServedFeed]:
    """Feeds from the `skip`-th on, enough for `articles` items."""
    picked, total = [], 0
    for feed in feeds[skip:]:
        if total >= articles:
            break
        picked.append(feed)
        total += feed.items
    return picked


def _sample_articles(settings: Settings, sources: Sequence[Source], size: int) -> list[Article]:
    """The first `size` articles of `sources`, fetched and extracted, for the profile."""
    articles: list[Article] = []
    with Fetcher(settings) as fetcher:
        for source in sources:
            _, entries = read_feed(fetcher.fetch(str(source.feeds[0]), kind="feed"), source.id)
            for entry in entries[: size - len(articles)]:
                page = fetcher.fetch(entry.url, kind="page")
                if page.ok:
                    articles.append(
                        article_from_page(
                            entry,
                            page,
                            source,
                            settings.keep_raw_html,
                            future_skew=timedelta(hours=settings.future_skew_hours),
                        )
                    )
            if len(articles) >= size:
                break
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000, help="articles for mediamon's run (whole feeds)")
    parser.add_argument("--baseline", type=int, default=300, help="articles for the naive baseline (whole feeds)")
    parser.add_argument("--batch", type=int, help="stream batch size (default: the setting)")
    parser.add_argument("--torch-threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--profile-batch", type=int, default=256, help="articles in the profiled annotate batch")
    parser.add_argument("--pages", choices=("light", "real"), default="light", help="the article pages' chrome")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))
    base = Settings()
    folder = news_dir(base)
    update: dict = {
        "index_prefix": PREFIX,
        "allow_hosts": ["127.0.0.1"],
        "host_min_interval": 0.0,
        "max_entries_per_run": 2 * args.articles,  # the whole run at once: none of it waits in the spool
    }
    if args.batch is not None:
        update["stream_batch_size"] = args.batch
    ours = base.model_copy(update=update)
    naive = ours.model_copy(
        update={"index_prefix": f"{PREFIX}naive-", "embed_backend": "torch", "embed_precision": "fp32"}
    )
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    client = make_client(ours)
    delete_prefixed(client, PREFIX)
    console.print(f"load average {os.getloadavg()}, {os.cpu_count()} cores; building the site ...")
    started = time.perf_counter()
    chrome_from = extraction_dir(base) if args.pages == "real" else None
    with serve_bench_news(folder, extraction_dir=chrome_from) as site:
        feeds, server_pid = site.feeds, site.server_pid
        served = sum(f.items for f in feeds)
        took = time.perf_counter() - started
        console.print(f"{served} articles in {len(feeds)} feeds served ({took:.0f} s); pages: {site.pages}")
        ours_feeds = _pick(feeds, args.articles)
        before = _pick(feeds, args.baseline, skip=len(ours_feeds))
        after = _pick(feeds, args.baseline, skip=len(ours_feeds) + len(before))
        started = time.perf_counter()
        enricher = load_enricher(ours)  # the model once, for both runs (each still builds its seed profiles)
        cold_load = time.perf_counter() - started
        load_enricher(naive)  # the baseline's model too: no run pays a cold load (torch's took 8 s of 30)
        threads = torch.get_num_threads()
        console.print(f"{enricher.embedder.model_id} on {enricher.embedder.backend}, loaded in {cold_load:.1f} s")
        ours_sources, before_sources, after_sources = (
            [Source.model_validate(f.source) for f in picked] for picked in (ours_feeds, before, after)
        )
        sample = _sample_articles(ours, before_sources, args.profile_batch)
        profile = profile_annotate(enricher, sample) | encode_speeds(enricher, sample)
        results = [measure("naive baseline, before", lambda: naive_run(naive, before_sources), server_pid, client)]
        console.print(f"{results[0].name}: {results[0].articles} articles in {results[0].seconds:.0f} s")

        def streamed() -> tuple[int, dict[str, float]]:
            report = run_once(ours, ours_sources)
            if report.failed:
                console.print(f"failures: {Counter(report.failed_by_stage)}")
            return report.indexed, report.seconds

        results.append(measure("mediamon run_once", streamed, server_pid, client))
        results.append(measure("naive baseline, after", lambda: naive_run(naive, after_sources), server_pid, client))
    in_index = {"naive": client.count(index=articles_alias(naive))["count"]}
    in_index["mediamon"] = client.count(index=articles_alias(ours))["count"]
    deleted = delete_prefixed(client, PREFIX)
    console.print(f"deleted {', '.join(deleted)}; load average now {os.getloadavg()}")

    table = Table(title=f"Ingest throughput, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores")
    for column in ("run", "articles", "seconds", "articles/hour", "stage seconds (busy)", "CPU s", "peak RSS MB"):
        table.add_column(column, justify="left" if column in ("run", "stage seconds (busy)") else "right")
    for r in results:
        stages = ", ".join(f"{k} {v:.0f}" for k, v in r.stages.items())
        cpu = ", ".join(f"{k} {v:.0f}" for k, v in r.cpu_seconds.items())
        cells = (str(r.articles), f"{r.seconds:.0f}", f"{r.per_hour:,.0f}", stages, cpu, f"{r.peak_rss_mb:.0f}")
        table.add_row(r.name, *cells)
    console.print(table)
    baseline = (results[0].per_hour + results[2].per_hour) / 2
    speedup = results[1].per_hour / baseline if baseline else float("inf")
    rate = "met" if results[1].per_hour >= GOAL_PER_HOUR else "MISSED"
    times = "met" if speedup >= GOAL_SPEEDUP else "MISSED"
    console.print(f"speed-up {speedup:.2f}x over the baselines' mean (goal {GOAL_SPEEDUP}x: {times}); ", end="")
    console.print(f"goal {GOAL_PER_HOUR:,} articles/hour: {rate}")
    console.print(f"annotate, ms per article ({args.profile_batch} articles, cProfile); encode speeds: {profile}")
    if args.json:
        payload = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "torch_threads": threads,
            "embedding": {"mediamon": enricher.embedder.backend, "naive baseline": "torch/fp32"},
            "stream_batch_size": ours.stream_batch_size,
            "pages": site.pages,
            "model_load_seconds": round(cold_load, 1),
            "runs": [asdict(r) | {"per_hour": round(r.per_hour)} for r in results],
            "in_index": in_index,
            "speedup": round(speedup, 2),
            "goals": {"per_hour": GOAL_PER_HOUR, "speedup": GOAL_SPEEDUP},
            "annotate_profile": profile,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
