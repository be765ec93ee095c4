"""The fault drill: the ways a monitor loses articles, each run end to end through the CLI (`mediamon run`,
`mediamon import`) against the real local node, and a table of where every entry went.

    .venv/bin/python -m bench.faults [--json out.json] [--only NAME ...]

Each scenario has its own index prefix and data folder. Its feeds are a local outlet of our own stories
(`mediamon/dev/drill_site.py`); Elasticsearch outages are a proxy in front of the real node that closes its port or
holds `_bulk` requests (`mediamon/dev/faults.py`); kills are SIGKILL to the `mediamon run` process. The table sums
the run records of each scenario (entries = indexed + duplicates + spooled + failed, per run) and counts as
**lost** every link a feed listed (or import line) that is neither in the index, nor waiting in the spool, nor
recorded as failed: it must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.table import Table

from mediamon.core.settings import Settings, get_settings
from mediamon.core.urls import canonical_url
from mediamon.dev.drill_site import DrillSite, drill_site
from mediamon.dev.faults import EsGate, descendants, es_gate, kill_hard, wait_until
from mediamon.flows.batches import batches_root
from mediamon.flows.spool import alive, run_folders, unsettled_entries
from search.client import make_client
from search.index_versions import articles_alias, delete_prefixed
from search.run_records import recent_runs

PREFIX = "drill-"


@dataclass
class Drill:
    """One scenario's world: its settings, the outlet, the proxy, and every link it listed."""

    name: str
    settings: Settings
    site: DrillSite
    gate: EsGate
    folder: Path
    listed: set[str] = field(default_factory=set)
    runs: list[int] = field(default_factory=list)  # exit codes of the CLI runs
    imported: dict[str, int] = field(default_factory=dict)  # what `mediamon import --json` said

    def env(self, **extra: str) -> dict[str, str]:
        return os.environ | {
            "MEDIAMON_ES_URL": self.gate.url,
            "MEDIAMON_INDEX_PREFIX": self.settings.index_prefix,
            "MEDIAMON_DATA_DIR": str(self.settings.data_dir),
            "MEDIAMON_ALLOW_HOSTS": '["127.0.0.1"]',
            "MEDIAMON_HOST_MIN_INTERVAL": "0",
            "MEDIAMON_STREAM_BATCH_SIZE": "4",
            "HF_HUB_OFFLINE": "1",
            **extra,
        }

    def list(self, numbers: list[int]) -> None:
        self.site.listed = numbers
        self.listed |= {self.site.link(n) for n in numbers}

    def feeds_file(self, *sites: DrillSite) -> Path:
        path = self.folder / "feeds.yaml"
        sources = [site.source(f"outlet{i}").model_dump(mode="json") for i, site in enumerate(sites or [self.site])]
        path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
        return path

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", *args]
        with open(self.folder / "cli.log", "ab") as log:  # a file, never a pipe nobody reads
            return subprocess.Popen(command, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT)

    def run(self, *args: str, **env: str) -> int:
        process = self.start(*(args or ("run", "--feeds", str(self.feeds_file()))), **env)
        process.wait(timeout=900)
        self.runs.append(process.returncode)
        return process.returncode

    def run_json(self, *args: str) -> dict:
        """A CLI command's JSON output (stderr to the log)."""
        command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", *args, "--json"]
        with open(self.folder / "cli.log", "ab") as log:
            done = subprocess.run(command, env=self.env(), stdout=subprocess.PIPE, stderr=log, timeout=900)
        self.runs.append(done.returncode)
        return json.loads(done.stdout)

    def run_killed_in(self, stage: str, **env: str) -> None:
        """Start a run, wait until one of its chunks is in `stage`, SIGKILL it, and check it leaves no process."""
        before, after = {
            "fetch": ("chunk", "articles"),
            "enrich": ("articles", "enriched"),
            "index": ("enriched", "outcomes-chunk"),
        }[stage]
        root = batches_root(self.settings)

        def in_stage() -> bool:  # a chunk whose input this run wrote and whose output is not there yet
            return any(
                path.stat().st_mtime >= since and not path.with_name(path.name.replace(before, after, 1)).exists()
                for path in root.glob(f"*/{before}-[0-9]*.jsonl.gz")
            ) and bool(descendants(process.pid))

        since = time.time()
        process = self.start("run", "--feeds", str(self.feeds_file()), **env)
        if not wait_until(in_stage, timeout=300):
            raise RuntimeError(f"{self.name}: the run never reached the {stage} stage")
        workers = descendants(process.pid)
        kill_hard(process.pid)
        process.wait()
        self.runs.append(-9)
        if not wait_until(lambda: not any(alive(pid) for pid in workers), timeout=15):
            raise RuntimeError(f"{self.name}: processes left after a kill in the {stage} stage")


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    scenario: str
    runs: int
    listed: int  # distinct links listed by the feeds (or lines imported)
    entries: int  # entries read over all runs (a link listed again counts again)
    indexed: int
    duplicates: int
    spooled: int
    failed: int
    fetched_again: int  # pages stored from their feed entry, read in full on a later run
    lost: int
    seconds: float


def settle(drill: Drill, client: Elasticsearch) -> Row:
    """Where every entry went, from the run records, the index and the spool."""
    settings = drill.settings
    alias = articles_alias(settings)
    client.options(ignore_status=404).indices.refresh(index=alias)
    reply = client.options(ignore_status=404).search(index=alias, size=10_000, source=["url", "final_url"])
    hits = reply.get("hits", {}).get("hits", [])
    stored = {u for hit in hits for u in (hit["_source"].get("url"), hit["_source"].get("final_url")) if u}
    waiting = {row["url"] for folder in run_folders(settings) for row in unsettled_entries(folder)}
    records = recent_runs(client, settings, 1000)
    failed = {f["url"] for r in records for f in r.get("failures", [])}
    lost = {url for url in drill.listed if canonical_url(url) not in stored and url not in waiting | failed}
    imported = drill.imported
    return Row(
        scenario=drill.name,
        runs=len(drill.runs),
        listed=len(drill.listed),
        entries=sum(r["entries"] for r in records) + imported.get("entries", 0),
        indexed=sum(r["indexed"] for r in records) + imported.get("indexed", 0),
        duplicates=sum(r["duplicates"] for r in records),
        spooled=sum(r.get("spooled", 0) for r in records),
        failed=sum(r.get("failed_total", 0) for r in records) + imported.get("failed", 0),
        fetched_again=sum(r.get("retried", {}).get("full", 0) for r in records),
        lost=len(lost),
        seconds=0.0,
    )


# --- the scenarios: each takes a fresh Drill and does its runs ---


def baseline(d: Drill) -> None:
    d.list(list(range(20)))
    d.run()


def outage_while_the_feed_rotates(d: Drill) -> None:
    d.list(list(range(10)))
    d.gate.down()
    d.run()  # exits 1: the index is away; everything fetched is spooled
    d.list(list(range(10, 20)))  # the feed moves on
    d.gate.up()
    d.run()


def index_lost_mid_run(d: Drill) -> None:
    d.list(list(range(16)))
    d.gate.slow_writes = 1.0
    process = d.start("run", "--feeds", str(d.feeds_file()))
    wait_until(lambda: any(batches_root(d.settings).glob("*/outcomes-chunk-*")), timeout=300)
    d.gate.down()
    process.wait(timeout=900)
    d.runs.append(process.returncode)
    d.gate.up()
    d.gate.slow_writes = 0.0
    d.run()


def killer(stage: str) -> Callable[[Drill], None]:
    def killed(d: Drill) -> None:
        d.list(list(range(12)))
        d.site.page_delay = 0.5 if stage == "fetch" else 0.0
        d.gate.slow_writes = 3.0 if stage == "index" else 0.0
        d.run_killed_in(stage)
        d.site.page_delay, d.gate.slow_writes = 0.0, 0.0
        d.run()

    killed.__name__ = f"killed_in_{stage}"
    return killed


def pages_gone_then_back(d: Drill) -> None:
    d.list(list(range(8)))
    d.site.missing = {1, 4, 6}
    d.run(MEDIAMON_PAGE_RETRY_MINUTES="0")  # fetched again at the next run
    d.site.missing = set()
    d.run(MEDIAMON_PAGE_RETRY_MINUTES="0")


def partial_dates_imported(d: Drill) -> None:
    dates = ["2020", "2020-09", "2020-09-14", "2020-09-14T08:00:00+02:00", "September 2020", "2999-01-01", None]
    lines = []
    for n, published in enumerate(dates * 3):
        url = f"https://archive.example/item/{n}"
        lines.append({"url": url, "title": f"Archived report {n}", "body": f"Item {n} of the archive. " * 40})
        if published:
            lines[-1]["published"] = published
        d.listed.add(url)
    path = d.folder / "archive.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    report = d.run_json("import", str(path))
    d.imported = {"entries": report["read"], "indexed": report["indexed"], "failed": len(report["errors"])}


def recurring_headlines(d: Drill) -> None:
    for n in range(3):
        d.site.titles[n] = "News of the day"
        d.list([n])  # one round-up a day, under one headline, with a new body
        d.run()


def canonical_on_another_site(d: Drill) -> None:
    with drill_site() as original:
        d.list(list(range(4)))
        for n in range(4):
            d.site.canonical[n] = original.link(100 + n)  # each page names another site's article as canonical
        original.listed = [100 + n for n in range(4)]
        d.listed |= {original.link(100 + n) for n in range(4)}
        d.run("run", "--feeds", str(d.feeds_file(d.site, original)))


def first_run_against_a_long_feed(d: Drill) -> None:
    d.list(list(range(120)))
    for _ in range(3):
        d.run(MEDIAMON_MAX_ENTRIES_PER_RUN="50")


SCENARIOS: dict[str, Callable[[Drill], None]] = {
    "normal run": baseline,
    "index away while the feed rotates": outage_while_the_feed_rotates,
    "index lost in the middle of a run": index_lost_mid_run,
    "SIGKILL while fetching": killer("fetch"),
    "SIGKILL while enriching": killer("enrich"),
    "SIGKILL while indexing": killer("index"),
    "pages 404, then back": pages_gone_then_back,
    "import: year, month, day, bad, future dates": partial_dates_imported,
    "three round-ups under one headline": recurring_headlines,
    "canonical link to another site": canonical_on_another_site,
    "first run against a 120-entry feed, budget 50": first_run_against_a_long_feed,
}


def drill(name: str, scenario: Callable[[Drill], None], base: Settings, client: Elasticsearch) -> Row:
    """Run one scenario in a world of its own and settle it."""
    prefix = f"{PREFIX}{len(name)}-{abs(hash(name)) % 10_000}-"
    delete_prefixed(client, prefix)
    with tempfile.TemporaryDirectory() as folder, drill_site() as site, es_gate(base.es_url) as gate:
        settings = base.model_copy(update={"index_prefix": prefix, "data_dir": Path(folder) / "data"})
        d = Drill(name, settings, site, gate, Path(folder))
        started = time.perf_counter()
        scenario(d)
        row = settle(d, client)
    delete_prefixed(client, prefix)
    return Row(**(asdict(row) | {"seconds": round(time.perf_counter() - started, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    parser.add_argument("--only", nargs="*", help="Run only the scenarios whose name contains one of these.")
    args = parser.parse_args()
    base = get_settings()
    client = make_client(base)
    rows = [
        drill(name, scenario, base, client)
        for name, scenario in SCENARIOS.items()
        if not args.only or any(part in name for part in args.only)
    ]
    table = Table(title="Fault drill: where every entry went (lost must be 0)")
    columns = ("scenario", "runs", "links", "entries", "indexed", "dup", "spooled", "failed", "read later", "lost", "s")
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for r in rows:
        cells = (r.runs, r.listed, r.entries, r.indexed, r.duplicates, r.spooled, r.failed, r.fetched_again)
        cells += (r.lost, r.seconds)
        table.add_row(r.scenario, *map(str, cells), style="red" if r.lost else "")
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    if any(r.lost for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
