"""Enrichment that scales out: the `mediamon_ingest` DAG under `airflow standalone` (LocalExecutor, SQLite metadata),
its mapped enrich tasks one at a time, then two at a time, on disjoint feeds of the news benchmark.

    .venv/bin/python -m bench.scaleout [--chunks 8] [--chunk-size 256] [--threads 1] [--json out.json]

A separate process serves the benchmark's articles as RSS feeds of `--chunk-size` items on 4 ports of 127.0.0.1
(`bench.news_site`). Airflow runs from a temporary AIRFLOW_HOME: LocalExecutor with 2 worker processes
(`parallelism` 2), the DAG of this checkout's `dags/` with no schedule (triggered runs only), on a free port of
127.0.0.1. Its workers' `MEDIAMON_*` environment: index prefix `bench-scaleout-`, data under the temporary folder,
127.0.0.1 allowed with no politeness wait, chunks of `--chunk-size` entries, and `MEDIAMON_EMBED_THREADS` =
`--threads`, so that each enrich task stands for one worker with that many cores. The model's OpenVINO build is made
before Airflow starts, as a deployment's model cache would hold it.

Two runs, each on `--chunks` feeds of its own (so `--chunks` chunks): Airflow's default pool at 1 slot (one task at
a time), then at 2 slots (two workers). Each chunk goes through fetch → enrich → index in a mapped task group, so
with 2 slots a chunk's fetch or index can run beside another chunk's enrichment: the run's span is the figure that
counts, the enrich span and its peak parallelism say how the slots were used. From Airflow's REST API: each task
instance's start and end; from the run's enrich stats files (read while the run goes: the run removes its folder at
the end), each task's seconds spent loading the enricher and its CPU seconds. Reported per run: the span of each
stage (first start to last end), enriched articles per hour over the enrich span and over the run's, the speed-ups
of 2 slots over 1, the enrich tasks' wall time, load time and cores kept busy (CPU over wall), enriched articles per
hour of CPU, and whether every article was indexed once (run records and the count in Elasticsearch). Only the
ingest DAG is unpaused. The index prefix is deleted, Airflow stopped and the temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from bench.news_data import news_dir
from bench.news_site import ServedFeed, serve_bench_news
from enrich.embed import load_embedder, settings_embedder
from mediamon.core.settings import Settings
from mediamon.flows.batches import read_json, run_dir
from search.client import make_client
from search.index_versions import articles_alias, delete_prefixed
from search.run_records import recent_runs

PREFIX = "bench-scaleout-"
DAG_ID = "mediamon_ingest"
REPO = Path(__file__).resolve().parents[1]
STAGES = ("chunk.fetch_articles", "chunk.enrich", "chunk.index")  # the mapped task group of each chunk
ENRICH = "chunk.enrich"
# The settings the workers get from their environment, beside the defaults.
WORKER_FIELDS = (
    "index_prefix",
    "data_dir",
    "feeds_path",
    "allow_hosts",
    "host_min_interval",
    "stream_batch_size",
    "embed_threads",
)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_env(settings: Settings, fields: Sequence[str]) -> dict[str, str]:
    """`MEDIAMON_*` variables that give a worker these fields of `settings` (lists as JSON)."""
    env = {}
    for field in fields:
        value = getattr(settings, field)
        env[f"MEDIAMON_{field.upper()}"] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env


def airflow_env(home: Path, port: int, workers: dict[str, str]) -> dict[str, str]:
    """The environment of `airflow standalone`: LocalExecutor with 2 workers, this checkout's DAGs and code, no
    examples, the REST API open to local calls without a login."""
    return (
        os.environ
        | workers
        | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "MEDIAMON_INGEST_SCHEDULE": "",
            "PYTHONPATH": str(REPO),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HF_HUB_OFFLINE": "1",
        }
    )


def _wait(what: str, ready, alive, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not alive():
            raise RuntimeError(f"airflow standalone exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(2)


def _answers(api: httpx.Client, path: str) -> bool:
    try:
        return api.get(path).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def airflow_standalone(home: Path, env: dict[str, str], port: int, timeout: float = 600) -> Iterator[httpx.Client]:
    """`airflow standalone` in its own process group until the block ends; yields a client of its REST API once
    the DAG is parsed. Its log is `standalone.log` in `home`."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "standalone.log").open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive() -> bool:
        return process.poll() is None

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v2", timeout=30) as api:
            try:
                _wait("the API server", lambda: _answers(api, "/monitor/health"), alive, timeout)
                _wait(f"the {DAG_ID} DAG", lambda: _answers(api, f"/dags/{DAG_ID}"), alive, timeout)
            except RuntimeError as exc:
                tail = (home / "standalone.log").read_text(errors="replace").splitlines()[-30:]
                raise RuntimeError("\n".join([str(exc), *tail])) from exc
            yield api
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop the process group: SIGTERM, then SIGKILL after a minute."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def unpause(api: httpx.Client) -> None:
    """Unpause the ingest DAG alone (the maintenance DAG's retention would delete the benchmark's old articles)."""
    api.patch(f"/dags/{DAG_ID}", json={"is_paused": False}, params={"update_mask": "is_paused"}).raise_for_status()


def set_slots(api: httpx.Client, slots: int) -> None:
    """Tasks at a time, across the deployment: the default pool's slots."""
    api.patch("/pools/default_pool", json={"slots": slots}, params={"update_mask": "slots"}).raise_for_status()


def trigger(api: httpx.Client) -> str:
    """Start a run of the DAG now; returns its run id."""
    reply = api.post(f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
    reply.raise_for_status()
    return reply.json()["dag_run_id"]


def follow_run(api: httpx.Client, run_id: str, stats: Path, timeout: float = 3600) -> tuple[str, list[dict]]:
    """Wait for the run to end; returns its state and its enrich stats, read while they exist."""
    enrich: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]
        for path in stats.glob("enrich-*.json"):
            with suppress(OSError, ValueError):  # removed at the run's end, or half-written: read on the next round
                enrich[path.name] = read_json(path)
        if state in ("success", "failed"):
            return state, [enrich[name] for name in sorted(enrich)]
        time.sleep(1)
    raise RuntimeError(f"run {run_id} did not end within {timeout:.0f} s")


def task_instances(api: httpx.Client, run_id: str) -> list[dict]:
    """Every task instance of the run (mapped ones one by one)."""
    reply = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
    reply.raise_for_status()
    return reply.json()["task_instances"]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def span(instances: Sequence[dict], task_id: str | None = None) -> float:
    """Seconds from the first start to the last end of the task's instances (of every task when None)."""
    chosen = [ti for ti in instances if task_id in (None, ti["task_id"]) and ti["start_date"] and ti["end_date"]]
    return (max(_time(ti["end_date"]) for ti in chosen) - min(_time(ti["start_date"]) for ti in chosen)).total_seconds()


def peak_parallel(instances: Sequence[dict], task_id: str) -> int:
    """The most instances of the task that ran at one moment."""
    events = []
    for ti in instances:
        if ti["task_id"] == task_id and ti["start_date"] and ti["end_date"]:
            events += [(_time(ti["start_date"]), 1), (_time(ti["end_date"]), -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        running += step
        peak = max(peak, running)
    return peak


def run_figures(slots: int, state: str, instances: list[dict], enrich: list[dict], load: float) -> dict:
    """The figures of one run."""
    enriched = sum(stats["enriched"] for stats in enrich)
    tasks = [ti for ti in instances if ti["task_id"] == ENRICH]
    seconds = span(instances, ENRICH)
    return {
        "slots": slots,
        "state": state,
        "load_average": load,
        "enrich_tasks": len(tasks),
        "peak_parallel": peak_parallel(instances, ENRICH),
        "enriched": enriched,
        "spans": {task.removeprefix("chunk."): round(span(instances, task), 1) for task in STAGES}
        | {"run": round(span(instances), 1)},
        "enrich_per_hour": round(enriched / seconds * 3600),
        "run_per_hour": round(enriched / span(instances) * 3600),
        "task_seconds": round(sum(ti["duration"] for ti in tasks) / len(tasks), 1),
        "load_seconds": [round(stats["load_seconds"], 1) for stats in enrich],
        "cores_busy": round(sum(s["cpu_seconds"] for s in enrich) / sum(s["seconds"] for s in enrich), 2),
        "per_cpu_hour": round(enriched / sum(s["cpu_seconds"] for s in enrich) * 3600),
    }


def measure(api: httpx.Client, settings: Settings, feeds: Sequence[ServedFeed], slots: int) -> dict:
    """One run of the DAG on `feeds` (written to the workers' feeds file) with `slots` tasks at a time."""
    settings.feeds_path.write_text(yaml.safe_dump({"sources": [f.source for f in feeds]}), encoding="utf-8")
    set_slots(api, slots)
    load = round(os.getloadavg()[0], 1)
    run_id = trigger(api)
    state, enrich = follow_run(api, run_id, run_dir(settings, run_id) / "stats")
    return run_figures(slots, state, task_instances(api, run_id), enrich, load) | {"run_id": run_id}


def report(console: Console, runs: list[dict], threads: int) -> None:
    table = Table(title=f"Enrichment that scales out, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores")
    columns = ("slots", "articles", "enrich span s", "enrich/hour", "run/hour", "task s", "load s", "cores busy")
    for column in (*columns, "per CPU hour", "fetch / index / run s", "load avg"):
        table.add_column(column, justify="right")
    for r in runs:
        spans = r["spans"]
        loads = r["load_seconds"]
        table.add_row(
            f"{r['slots']} (peak {r['peak_parallel']})",
            f"{r['enriched']:,}",
            f"{spans['enrich']:.0f}",
            f"{r['enrich_per_hour']:,}",
            f"{r['run_per_hour']:,}",
            f"{r['task_seconds']:.0f}",
            f"{min(loads):.1f}–{max(loads):.1f}",
            f"{r['cores_busy']:.2f}",
            f"{r['per_cpu_hour']:,}",
            f"{spans['fetch_articles']:.0f} / {spans['index']:.0f} / {spans['run']:.0f}",
            f"{r['load_average']}",
        )
    console.print(table)
    enrich, run = (runs[1][key] / runs[0][key] for key in ("enrich_per_hour", "run_per_hour"))
    console.print(f"speed-up of 2 slots over 1: enrichment {enrich:.2f}x, the whole run {run:.2f}x", end="")
    console.print(f" (MEDIAMON_EMBED_THREADS={threads} per task)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=8, help="chunks (= feeds) per run")
    parser.add_argument("--chunk-size", type=int, default=256, help="articles per feed and per chunk")
    parser.add_argument("--threads", type=int, default=1, help="MEDIAMON_EMBED_THREADS of each task")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 150))
    base = Settings()
    folder = Path(tempfile.mkdtemp(prefix="mediamon-scaleout-"))
    workers = base.model_copy(
        update={
            "index_prefix": PREFIX,
            "data_dir": folder / "data",
            "feeds_path": folder / "feeds.yaml",
            "allow_hosts": ["127.0.0.1"],
            "host_min_interval": 0.0,
            "stream_batch_size": args.chunk_size,
            "embed_threads": args.threads,
        }
    )
    client = make_client(workers)
    delete_prefixed(client, PREFIX)
    console.print(f"load average {os.getloadavg()}, {os.cpu_count()} cores; temporary folder {folder}")
    try:
        started = time.perf_counter()
        settings_embedder(workers)  # the model's OpenVINO build, made once as a deployment's cache holds it
        load_embedder.cache_clear()
        console.print(f"model build ready ({time.perf_counter() - started:.0f} s); building the site ...")
        with serve_bench_news(news_dir(base), feed_items=args.chunk_size) as served:
            full = [feed for feed in served.feeds if feed.items == args.chunk_size]
            picked = (full[: args.chunks], full[args.chunks : 2 * args.chunks])
            port = free_port()
            env = airflow_env(folder / "airflow", port, settings_env(workers, WORKER_FIELDS))
            with airflow_standalone(folder / "airflow", env, port) as api:
                console.print(f"airflow standalone on port {port}; {args.chunks} chunks of {args.chunk_size} a run")
                unpause(api)
                runs = []
                for slots, chosen in zip((1, 2), picked, strict=True):
                    runs.append(measure(api, workers, chosen, slots))
                    console.print(f"{slots} at a time: {runs[-1]}")
        records = {r["run_id"]: r for r in recent_runs(client, workers, 2)}
        for run in runs:
            record = records[run["run_id"]]
            run["record"] = {key: record[key] for key in ("entries", "indexed", "duplicates", "failed_total")}
        client.indices.refresh(index=articles_alias(workers))
        in_index = client.count(index=articles_alias(workers))["count"]
        served = 2 * args.chunks * args.chunk_size
        report(console, runs, args.threads)
        console.print(f"run records: {[r['record'] for r in runs]}; in the index {in_index:,} of {served:,} served")
        if args.json:
            payload = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "threads": args.threads,
                "chunks": args.chunks,
                "chunk_size": args.chunk_size,
                "runs": runs,
                "served": served,
                "in_index": in_index,
                "speedup": round(runs[1]["enrich_per_hour"] / runs[0]["enrich_per_hour"], 2),
                "run_speedup": round(runs[1]["run_per_hour"] / runs[0]["run_per_hour"], 2),
            }
            Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    finally:
        deleted = delete_prefixed(client, PREFIX)
        shutil.rmtree(folder, ignore_errors=True)
        console.print(f"deleted {', '.join(deleted) or 'no index'}; load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
