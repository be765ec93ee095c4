"""Nothing lost, everything accounted for, on the real node: a feed that rotates while Elasticsearch is away, the
index going away mid-run, runs killed with SIGKILL in each stage, a per-run cap, pages that fail and come back,
and a page whose extraction raises."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from mediamon.core.runs import Outcome
from mediamon.core.settings import Settings
from mediamon.core.urls import canonical_url
from mediamon.dev.drill_site import DrillSite, drill_site, story
from mediamon.dev.faults import (
    cli_command,
    descendants,
    es_gate,
    fetch_worker,
    kill_hard,
    wait_until,
)
from mediamon.flows.batches import batch_part, batches_root, read_jsonl, read_stats, run_dir
from mediamon.flows.feed_polling import fetch_feeds, new_run_id, plan_chunks, select_feeds
from mediamon.flows.ingest_run import ENRICH_AHEAD, FIRST_CHUNK, run_once
from mediamon.flows.run_report import finish_run
from mediamon.flows.spool import alive
from search.index_versions import articles_alias
from search.run_records import recent_runs


@pytest.fixture
def site() -> Iterator[DrillSite]:
    with drill_site() as outlet:
        yield outlet


def local(settings: Settings, tmp_path: Path, name: str, **changes) -> Settings:
    update = {
        "index_prefix": f"{settings.index_prefix}{name}-",
        "data_dir": tmp_path / "data",
        "host_min_interval": 0.0,
    }
    return settings.model_copy(update=update | changes)


def urls_indexed(es: Elasticsearch, settings: Settings) -> list[str]:
    alias = articles_alias(settings)
    if not es.indices.exists_alias(name=alias):
        return []
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"match_all": {}}, size=1000, source=["url"])["hits"]["hits"]
    return [hit["_source"]["url"] for hit in hits]


def test_a_feed_that_rotates_while_the_index_is_away_loses_nothing(settings, es, site, tmp_path):
    up = local(settings, tmp_path, "rotate")
    away = up.model_copy(update={"es_url": "http://127.0.0.1:9"})  # a closed port
    site.listed = list(range(10))
    first = run_once(away, [site.source()])
    assert first.index_error and "127.0.0.1:9" in first.index_error
    assert first.entries == 10 and first.spooled == 10 and first.reconciled  # fetched and enriched, kept on disk
    site.listed = list(range(10, 20))  # the feed moves on: the first ten are gone from it
    second = run_once(up, [site.source()])
    assert second.index_error is None and second.indexed == 10 and second.reconciled
    assert second.drained == {"indexed": 10} and second.drained_runs == [first.run_id]
    indexed = urls_indexed(es, up)
    assert sorted(indexed) == sorted(canonical_url(site.link(n)) for n in range(20))
    records = {r["run_id"]: r for r in recent_runs(es, up)}
    assert records[first.run_id]["indexed"] == 10 and records[first.run_id]["spooled"] == 0  # settled later
    assert all(r["reconciled"] for r in records.values())
    assert not list(batches_root(up).iterdir()) or all(
        not (f / "run.json").exists() for f in batches_root(up).iterdir()
    )


def test_the_index_going_away_mid_run_keeps_the_rest_for_the_next_run(settings, es, site, tmp_path):
    site.listed = list(range(12))
    with es_gate() as gate:
        run_settings = local(settings, tmp_path, "midrun", es_url=gate.url, stream_batch_size=3)
        gate.slow_writes = 0.5
        reports = []
        worker = threading.Thread(target=lambda: reports.append(run_once(run_settings, [site.source()])))
        worker.start()
        root = batches_root(run_settings)
        assert wait_until(lambda: any(root.glob("*/outcomes-chunk-*")), timeout=120)
        gate.down()
        worker.join(timeout=300)
        (first,) = reports
        assert first.index_error and 0 < first.indexed < 12 and first.spooled == 12 - first.indexed
        assert first.reconciled
        gate.up()
        second = run_once(run_settings, [site.source()])
    assert second.drained["indexed"] == first.spooled and second.duplicates == 12 and second.reconciled
    indexed = urls_indexed(es, run_settings)
    assert len(indexed) == len(set(indexed)) == 12


def mediamon(args: list[str], env: dict[str, str], log: Path, ctrl_c: str = "stops", **options) -> subprocess.Popen:
    """`mediamon ARGS` in a process of its own, its output appended to `log` (a pipe nobody reads could block it),
    Ctrl-C handled as `cli_command` says; `options` go to Popen."""
    with log.open("ab") as output:
        command = cli_command(*args, ctrl_c=ctrl_c)
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, **options)


def test_runs_killed_in_each_stage_lose_and_duplicate_nothing_and_leave_no_process(settings, es, site, tmp_path):
    import os

    site.listed = list(range(9))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [site.source().model_dump(mode="json")]}), encoding="utf-8")
    with es_gate() as gate:
        run_settings = local(settings, tmp_path, "killed", es_url=gate.url, stream_batch_size=3)
        env = os.environ | {
            "MEDIAMON_ES_URL": gate.url,
            "MEDIAMON_INDEX_PREFIX": run_settings.index_prefix,
            "MEDIAMON_DATA_DIR": str(run_settings.data_dir),
            "MEDIAMON_ALLOW_HOSTS": '["127.0.0.1"]',
            "MEDIAMON_HOST_MIN_INTERVAL": "0",
            "MEDIAMON_STREAM_BATCH_SIZE": "3",
        }
        root = batches_root(run_settings)

        def at(stage: str, since: float) -> bool:  # a chunk in this stage: its input written by this run, no output
            before, after = {"fetch": ("chunk", "articles"), "enrich": ("articles", "enriched"),
                             "index": ("enriched", "outcomes-chunk")}[stage]  # fmt: skip
            return any(
                path.stat().st_mtime >= since and not path.with_name(path.name.replace(before, after, 1)).exists()
                for path in root.glob(f"*/{before}-[0-9]*.jsonl.gz")
            )

        for stage in ("fetch", "enrich", "index"):
            site.page_delay, gate.slow_writes = (1.0 if stage == "fetch" else 0.0), (5.0 if stage == "index" else 0.0)
            since = time.time()
            run = mediamon(["run", "--feeds", str(feeds)], env, tmp_path / "cli.log")
            in_stage = wait_until(lambda s=stage, t=since, p=run.pid: at(s, t) and descendants(p), 300)
            assert in_stage, f"the run never reached the {stage} stage"
            workers = descendants(run.pid)
            assert workers, "the run works in a second process"
            kill_hard(run.pid)
            run.wait()
            gone = wait_until(lambda workers=workers: not any(alive(pid) for pid in workers), timeout=15)
            assert gone, f"processes left after a kill in the {stage} stage"
        site.page_delay, gate.slow_writes = 0.0, 0.0
        final = mediamon(["run", "--feeds", str(feeds), "--json"], env, tmp_path / "cli.log")
        assert final.wait(timeout=600) == 0, (tmp_path / "cli.log").read_text()
    indexed = urls_indexed(es, run_settings)
    assert sorted(indexed) == sorted(canonical_url(site.link(n)) for n in range(9))  # each once
    assert all(r["reconciled"] for r in recent_runs(es, run_settings, 20))
    assert not [f for f in root.iterdir() if (f / "run.json").exists()]  # the spool is empty


def cli_env(run_settings: Settings) -> dict[str, str]:
    """The environment of a `mediamon run` with these settings: chunks of 3, and pages that may take 2 minutes."""
    import os

    return os.environ | {
        "MEDIAMON_ES_URL": run_settings.es_url,
        "MEDIAMON_INDEX_PREFIX": run_settings.index_prefix,
        "MEDIAMON_DATA_DIR": str(run_settings.data_dir),
        "MEDIAMON_ALLOW_HOSTS": '["127.0.0.1"]',
        "MEDIAMON_HOST_MIN_INTERVAL": "0",
        "MEDIAMON_STREAM_BATCH_SIZE": "3",
        "MEDIAMON_HTTP_TIMEOUT": "120",
    }


def test_ctrl_c_stops_a_run_with_one_line_and_the_next_run_finishes_its_entries(settings, es, site, tmp_path):
    import os
    import signal

    site.listed, site.page_delay = list(range(9)), 2.0
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [site.source().model_dump(mode="json")]}), encoding="utf-8")
    run_settings = local(settings, tmp_path, "ctrl-c", stream_batch_size=3)
    env = cli_env(run_settings)
    root, log = batches_root(run_settings), tmp_path / "stopped.log"
    run = mediamon(["run", "--feeds", str(feeds)], env, log, start_new_session=True)
    fetched = wait_until(lambda: any(root.glob("*/articles-*.jsonl.gz")) and descendants(run.pid), 300)
    assert fetched, "the run never fetched its first chunk"
    site.page_delay = 60.0  # the pages still to come hang: a stopped run must not wait for them
    assert wait_until(lambda: any(root.glob("*/enriched-*.jsonl.gz")), 300), "the run never enriched a chunk"
    workers = descendants(run.pid)
    os.killpg(run.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole process group
    assert run.wait(timeout=30) == 130, log.read_text(encoding="utf-8")
    said = log.read_text(encoding="utf-8")
    assert "Traceback" not in said
    assert said.strip().splitlines()[-1].startswith("interrupted: the run stopped; the entries it had polled wait")
    assert wait_until(lambda: not any(alive(pid) for pid in workers), timeout=15), "processes left after Ctrl-C"
    site.page_delay = 0.0
    final = mediamon(["run", "--feeds", str(feeds), "--json"], env, tmp_path / "final.log")
    assert final.wait(timeout=600) == 0, (tmp_path / "final.log").read_text()
    indexed = urls_indexed(es, run_settings)
    assert sorted(indexed) == sorted(canonical_url(site.link(n)) for n in range(9))  # each once
    assert not [f for f in root.iterdir() if (f / "run.json").exists()]  # the spool is empty


def test_a_run_whose_fetching_process_is_killed_says_so_in_one_line_and_the_next_run_finishes(
    settings, es, site, tmp_path
):
    site.listed, site.page_delay = list(range(9)), 60.0  # pages that hang: the fetching process is at work
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [site.source().model_dump(mode="json")]}), encoding="utf-8")
    run_settings = local(settings, tmp_path, "worker-lost", stream_batch_size=3)
    env, log = cli_env(run_settings), tmp_path / "lost.log"
    run = mediamon(["run", "--feeds", str(feeds)], env, log, start_new_session=True)
    assert wait_until(lambda: fetch_worker(run.pid) is not None, 300), "the run never started fetching"
    kill_hard(fetch_worker(run.pid))  # the out-of-memory killer's choice, say
    assert run.wait(timeout=60) == 1, log.read_text(encoding="utf-8")
    said = log.read_text(encoding="utf-8")
    assert "Traceback" not in said
    assert said.strip().splitlines()[-1].startswith("error: the page-fetching process ended abruptly")
    site.page_delay = 0.0
    final = mediamon(["run", "--feeds", str(feeds), "--json"], env, tmp_path / "final.log")
    assert final.wait(timeout=600) == 0, (tmp_path / "final.log").read_text()
    assert sorted(urls_indexed(es, run_settings)) == sorted(canonical_url(site.link(n)) for n in range(9))
    assert not [f for f in batches_root(run_settings).iterdir() if (f / "run.json").exists()]  # the spool is empty


def test_a_run_in_the_background_of_a_script_ignores_ctrl_c_and_so_does_its_fetching_process(
    settings, es, site, tmp_path
):
    import os
    import signal

    site.listed, site.page_delay = list(range(9)), 1.0
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [site.source().model_dump(mode="json")]}), encoding="utf-8")
    run_settings = local(settings, tmp_path, "background", stream_batch_size=3)
    log = tmp_path / "background.log"
    run = mediamon(["run", "--feeds", str(feeds)], cli_env(run_settings), log, "ignored", start_new_session=True)
    root = batches_root(run_settings)
    assert wait_until(lambda: any(root.glob("*/articles-*.jsonl.gz")), 300), "the run never fetched its first chunk"
    os.killpg(run.pid, signal.SIGINT)  # a Ctrl-C meant for the terminal's foreground job
    assert run.wait(timeout=300) == 0, log.read_text(encoding="utf-8")
    assert sorted(urls_indexed(es, run_settings)) == sorted(canonical_url(site.link(n)) for n in range(9))


def test_a_run_takes_at_most_its_budget_and_the_rest_waits(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "budget", max_entries_per_run=4, stream_batch_size=2)
    site.listed = list(range(10))
    reports = [run_once(run_settings, [site.source()]) for _ in range(3)]
    assert [r.indexed + r.drained.get("indexed", 0) for r in reports] == [4, 4, 2]
    assert reports[0].spooled == 6 and all(r.reconciled for r in reports)
    assert sorted(urls_indexed(es, run_settings)) == sorted(canonical_url(site.link(n)) for n in range(10))


def test_a_run_starts_on_a_small_first_chunk_and_indexes_every_entry_once(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "first-chunk")
    site.listed = list(range(40))
    enriched: list[int] = []
    report = run_once(
        run_settings, [site.source()], lambda what, done, _: enriched.append(done) if what == "entries" else None
    )
    assert enriched == [FIRST_CHUNK, 40]  # the first chunk is enriched before the rest of the run's 40
    assert report.indexed == 40 and report.reconciled
    assert sorted(urls_indexed(es, run_settings)) == sorted(canonical_url(site.link(n)) for n in range(40))


def test_two_chunks_are_enriched_at_once_and_indexed_in_their_order(settings, es, site, tmp_path, monkeypatch):
    from mediamon.flows import ingest_run

    run_settings = local(settings, tmp_path, "two-at-once", stream_batch_size=8)
    site.listed = list(range(40))  # five chunks of 8
    together, calls, lock = threading.Barrier(ENRICH_AHEAD, timeout=30), [], threading.Lock()
    indexed_parts: list[int] = []
    enrich, index = ingest_run.enrich_chunk, ingest_run.index_chunk

    def enrich_meeting_the_next(settings, run_id, path, enricher):
        with lock:
            calls.append(path)
            first = len(calls) <= ENRICH_AHEAD
        if first:
            together.wait()  # broken (the run fails) unless the first two chunks are enriched at the same time
        return enrich(settings, run_id, path, enricher)

    def index_recording(settings, run_id, path):
        indexed_parts.append(batch_part(Path(path)))
        return index(settings, run_id, path)

    monkeypatch.setattr(ingest_run, "enrich_chunk", enrich_meeting_the_next)
    monkeypatch.setattr(ingest_run, "index_chunk", index_recording)
    report = run_once(run_settings, [site.source()])
    assert len(calls) == 5 and indexed_parts == sorted(indexed_parts) and len(set(indexed_parts)) == 5
    assert report.indexed == 40 and report.reconciled
    assert sorted(urls_indexed(es, run_settings)) == sorted(canonical_url(site.link(n)) for n in range(40))


def test_a_page_that_fails_is_stored_from_its_feed_and_read_in_full_when_it_comes_back(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "retry", page_retry_minutes=0)
    site.listed = [1, 2]
    site.missing = {2}
    first = run_once(run_settings, [site.source()])
    assert first.indexed == 1 and first.reconciled
    (failure,) = first.failures
    assert failure["stage"] == "fetch" and failure["reason"].startswith("http_4xx")
    alias = articles_alias(run_settings)
    teaser = es.search(index=alias, query={"term": {"access": "failed"}})["hits"]["hits"][0]["_source"]
    assert teaser["title"] == story(2)[0] and teaser["body"] == "Summary of report 2."
    assert teaser["seed_similarity"] == {} and teaser["matched_seeds"] == []  # a teaser ranks for no seed
    site.missing = set()
    second = run_once(run_settings, [site.source()])  # the feed is the same: only the retry reads the page
    assert second.retried == {"full": 1} and second.duplicates == 2
    doc = es.search(index=alias, query={"term": {"url": canonical_url(site.link(2))}})["hits"]["hits"][0]["_source"]
    assert doc["access"] == "full" and "Item 2." in doc["body"] and doc["seed_similarity"]


def test_one_page_whose_extraction_raises_fails_alone(settings, es, site, tmp_path, monkeypatch):
    from mediamon.flows import chunks

    run_settings = local(settings, tmp_path, "raises")
    site.listed = [1, 2, 3]
    real = chunks.article_from_page

    def fragile(entry, page, *args, **kwargs):
        if entry.url.endswith("/2.html"):
            raise RecursionError("maximum recursion depth exceeded while parsing")
        return real(entry, page, *args, **kwargs)

    monkeypatch.setattr(chunks, "article_from_page", fragile)
    run_id = new_run_id()  # the stages one by one, in this process (where the patch applies)
    for batch in select_feeds(run_settings, run_id, [site.source()], every_feed=True):
        fetch_feeds(run_settings, run_id, batch, conditional=False)
    for chunk in plan_chunks(run_settings, run_id):
        chunks.index_chunk(
            run_settings,
            run_id,
            chunks.enrich_chunk(run_settings, run_id, chunks.fetch_chunk(run_settings, run_id, chunk)),
        )
    report = finish_run(run_settings, run_id)
    assert report.indexed == 2 and report.reconciled
    assert report.failures == [
        {
            "stage": "extract",
            "url": site.link(2),
            "reason": "extraction failed: RecursionError: maximum recursion depth exceeded while parsing "
            "(stored from the feed as failed; fetched again later)",
        }
    ]
    assert len(urls_indexed(es, run_settings)) == 3


def test_one_article_whose_enrichment_raises_fails_alone(settings, es, site, tmp_path, monkeypatch):
    from mediamon.flows import chunks

    run_settings = local(settings, tmp_path, "enrich-raises")
    site.listed = [1, 2, 3]
    real = chunks.annotate

    def fragile(articles, enricher):
        if any(article.url.endswith("/2.html") for article in articles):
            raise MemoryError("the tokenizer choked")
        return real(articles, enricher)

    monkeypatch.setattr(chunks, "annotate", fragile)
    run_id = new_run_id()  # the stages one by one, in this process (where the patch applies)
    for batch in select_feeds(run_settings, run_id, [site.source()], every_feed=True):
        fetch_feeds(run_settings, run_id, batch, conditional=False)
    for chunk in plan_chunks(run_settings, run_id):
        articles = chunks.fetch_chunk(run_settings, run_id, chunk)
        chunks.index_chunk(run_settings, run_id, chunks.enrich_chunk(run_settings, run_id, articles))
    (enriched,) = [s for s in read_stats(run_dir(run_settings, run_id)) if s["stage"] == "enrich"]
    assert enriched["enriched"] == 3 and 0 <= enriched["load_seconds"] <= enriched["seconds"]
    assert enriched["cpu_seconds"] > 0  # the cores the chunk kept busy, over its seconds
    report = finish_run(run_settings, run_id)
    assert report.indexed == 2 and report.reconciled
    reason = "enrichment failed: MemoryError: the tokenizer choked"
    assert report.failures == [{"stage": "enrich", "url": site.link(2), "reason": reason}]


def test_every_outcome_names_its_rule_or_reason(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "rules")
    site.listed = [1, 1, 2]  # a link listed twice
    report = run_once(run_settings, [site.source()])
    assert report.entries == 3 and report.indexed == 2
    assert report.duplicate_rules == {"link listed twice in this run": 1}
    again = run_once(run_settings, [site.source()])
    assert again.duplicate_rules == {"link already indexed": 2, "link listed twice in this run": 1}
    assert again.reconciled
    outcomes = [row for path in batches_root(run_settings).glob("*/outcomes-*") for row in read_jsonl(path)]
    assert outcomes == []  # both runs settled every entry and removed their files
    assert {str(o) for o in Outcome} == {"indexed", "duplicate", "spooled", "failed"}
