"""Nothing lost, everything accounted for, on the real node: a feed that rotates while Elasticsearch is away, the
index going away mid-run, runs killed with SIGKILL in each stage, a per-run cap, pages that fail and come back,
and a page whose extraction raises."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from ingest.sources import Source
from mediamon.core.runs import Outcome
from mediamon.core.settings import Settings
from mediamon.core.urls import canonical_url
from mediamon.dev.faults import alive, descendants, es_gate, kill_hard, wait_until
from mediamon.flows.batches import batches_root, read_jsonl
from mediamon.flows.feed_polling import fetch_feeds, new_run_id, plan_chunks, select_feeds
from mediamon.flows.ingest_run import run_once
from mediamon.flows.run_report import finish_run
from search.index_versions import articles_alias
from search.run_records import recent_runs
from tests.http_fixtures import LocalServer, Reply

TOPICS = [
    "the potash plant in Salihorsk", "the railway works near Brest", "the library exhibition in Minsk",
    "the harvest in the Homel region", "the new tram line in Vitebsk", "the river cleanup on the Neman",
    "the hospital wing in Mogilev", "the football derby in Grodno", "the textile factory in Baranovichi",
    "the airport terminal in Minsk",
]  # fmt: skip


def story(n: int) -> tuple[str, str]:
    """A distinct article of ours: title and three paragraphs."""
    topic = TOPICS[n % len(TOPICS)]
    title = f"Report {n}: news about {topic}"
    paragraphs = [
        f"Item {n}. Officials said on Monday that {topic} would continue through the autumn, according to a "
        f"statement published by the regional administration, which expects about {100 + n} people to take part.",
        f"Residents interviewed for report {n} described {topic} as long overdue, while critics pointed to the "
        f"cost of {n * 7 + 3} million roubles and asked why the tender had not been published in advance.",
        f"The next update on {topic} is due in {n % 5 + 2} weeks, when the committee meets again to review the "
        f"plans, the budget and the complaints that have been sent in by local groups since the summer began.",
    ]
    return title, "\n".join(f"<p>{p}</p>" for p in paragraphs)


class NewsSite:
    """A local outlet whose feed lists the stories we choose, each with its page (slow or missing on demand)."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.feed_url = server.url("/feed.xml")
        self.missing: set[int] = set()
        self.page_delay = 0.0
        self.listed: list[int] = []

    def link(self, n: int) -> str:
        return self.server.url(f"/news/{n}.html")

    def list(self, numbers: list[int]) -> None:
        self.listed = numbers
        items = "".join(
            f"<item><title>{story(n)[0]}</title><link>{self.link(n)}</link><description>Summary of report {n}."
            f"</description><pubDate>Mon, 14 Sep 2020 08:{n % 60:02d}:00 +0000</pubDate></item>"
            for n in numbers
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet</title>{items}</channel></rss>'
        self.server.route("/feed.xml", Reply(200, feed.encode(), {"Content-Type": "application/rss+xml"}))
        for n in numbers:
            self.server.route(f"/news/{n}.html", lambda seen, n=n: self.page(n))

    def page(self, n: int) -> Reply:
        if n in self.missing:
            return Reply(404, b"gone", {"Content-Type": "text/plain"})
        title, body = story(n)
        html = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>"
        return Reply(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"}, delay=self.page_delay)

    @property
    def source(self) -> Source:
        return Source(id="outlet", name="Outlet", feeds=[self.feed_url], language="en")


@pytest.fixture
def site() -> Iterator[NewsSite]:
    server = LocalServer()
    yield NewsSite(server)
    server.close()


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
    site.list(list(range(10)))
    first = run_once(away, [site.source])
    assert first.index_error and "127.0.0.1:9" in first.index_error
    assert first.entries == 10 and first.spooled == 10 and first.reconciled  # fetched and enriched, kept on disk
    site.list(list(range(10, 20)))  # the feed moves on: the first ten are gone from it
    second = run_once(up, [site.source])
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
    site.list(list(range(12)))
    with es_gate() as gate:
        run_settings = local(settings, tmp_path, "midrun", es_url=gate.url, stream_batch_size=3)
        gate.slow_writes = 0.5
        reports = []
        worker = threading.Thread(target=lambda: reports.append(run_once(run_settings, [site.source])))
        worker.start()
        root = batches_root(run_settings)
        assert wait_until(lambda: any(root.glob("*/outcomes-chunk-*")), timeout=120)
        gate.down()
        worker.join(timeout=300)
        (first,) = reports
        assert first.index_error and 0 < first.indexed < 12 and first.spooled == 12 - first.indexed
        assert first.reconciled
        gate.up()
        second = run_once(run_settings, [site.source])
    assert second.drained["indexed"] == first.spooled and second.duplicates == 12 and second.reconciled
    indexed = urls_indexed(es, run_settings)
    assert len(indexed) == len(set(indexed)) == 12


def mediamon(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-c", "from mediamon.cli import entry_point; entry_point()", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_runs_killed_in_each_stage_lose_and_duplicate_nothing_and_leave_no_process(settings, es, site, tmp_path):
    import os

    site.list(list(range(9)))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [site.source.model_dump(mode="json")]}), encoding="utf-8")
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

        def at(stage: str) -> bool:  # a chunk in this stage: its input written, its output not yet
            before, after = {"fetch": ("chunk", "articles"), "enrich": ("articles", "enriched"),
                             "index": ("enriched", "outcomes-chunk")}[stage]  # fmt: skip
            return any(
                not path.with_name(path.name.replace(before, after, 1)).exists()
                for path in root.glob(f"*/{before}-[0-9]*.jsonl.gz")
            )

        for stage in ("fetch", "enrich", "index"):
            site.page_delay, gate.slow_writes = (1.0 if stage == "fetch" else 0.0), (5.0 if stage == "index" else 0.0)
            run = mediamon(["run", "--feeds", str(feeds)], env)
            assert wait_until(lambda stage=stage: at(stage), timeout=180), stage
            workers = descendants(run.pid)
            assert workers, "the run works in a second process"
            kill_hard(run.pid)
            run.wait()
            gone = wait_until(lambda workers=workers: not any(alive(pid) for pid in workers), timeout=15)
            assert gone, f"processes left after a kill in the {stage} stage"
        site.page_delay, gate.slow_writes = 0.0, 0.0
        final = mediamon(["run", "--feeds", str(feeds), "--json"], env)
        out, err = final.communicate(timeout=600)
        assert final.returncode == 0, err
    indexed = urls_indexed(es, run_settings)
    assert sorted(indexed) == sorted(canonical_url(site.link(n)) for n in range(9))  # each once
    assert all(r["reconciled"] for r in recent_runs(es, run_settings, 20))
    assert not [f for f in root.iterdir() if (f / "run.json").exists()]  # the spool is empty


def test_a_run_takes_at_most_its_budget_and_the_rest_waits(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "budget", max_entries_per_run=4, stream_batch_size=2)
    site.list(list(range(10)))
    reports = [run_once(run_settings, [site.source]) for _ in range(3)]
    assert [r.indexed + r.drained.get("indexed", 0) for r in reports] == [4, 4, 2]
    assert reports[0].spooled == 6 and all(r.reconciled for r in reports)
    assert sorted(urls_indexed(es, run_settings)) == sorted(canonical_url(site.link(n)) for n in range(10))


def test_a_page_that_fails_is_stored_from_its_feed_and_read_in_full_when_it_comes_back(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "retry", page_retry_minutes=0)
    site.list([1, 2])
    site.missing = {2}
    first = run_once(run_settings, [site.source])
    assert first.indexed == 1 and first.reconciled
    (failure,) = first.failures
    assert failure["stage"] == "fetch" and failure["reason"].startswith("http_4xx")
    alias = articles_alias(run_settings)
    teaser = es.search(index=alias, query={"term": {"access": "failed"}})["hits"]["hits"][0]["_source"]
    assert teaser["title"] == story(2)[0] and teaser["body"] == "Summary of report 2."
    assert teaser["seed_similarity"] == {} and teaser["matched_seeds"] == []  # a teaser ranks for no seed
    site.missing = set()
    second = run_once(run_settings, [site.source])  # the feed is the same: only the retry reads the page
    assert second.retried == {"full": 1} and second.duplicates == 2
    doc = es.search(index=alias, query={"term": {"url": canonical_url(site.link(2))}})["hits"]["hits"][0]["_source"]
    assert doc["access"] == "full" and "Item 2." in doc["body"] and doc["seed_similarity"]


def test_one_page_whose_extraction_raises_fails_alone(settings, es, site, tmp_path, monkeypatch):
    from mediamon.flows import chunks

    run_settings = local(settings, tmp_path, "raises")
    site.list([1, 2, 3])
    real = chunks.article_from_page

    def fragile(entry, page, *args, **kwargs):
        if entry.url.endswith("/2.html"):
            raise RecursionError("maximum recursion depth exceeded while parsing")
        return real(entry, page, *args, **kwargs)

    monkeypatch.setattr(chunks, "article_from_page", fragile)
    run_id = new_run_id()  # the stages one by one, in this process (where the patch applies)
    for batch in select_feeds(run_settings, run_id, [site.source], every_feed=True):
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


def test_every_outcome_names_its_rule_or_reason(settings, es, site, tmp_path):
    run_settings = local(settings, tmp_path, "rules")
    site.list([1, 1, 2])  # a link listed twice
    report = run_once(run_settings, [site.source])
    assert report.entries == 3 and report.indexed == 2
    assert report.duplicate_rules == {"link listed twice in this run": 1}
    again = run_once(run_settings, [site.source])
    assert again.duplicate_rules == {"link already indexed": 2, "link listed twice in this run": 1}
    assert again.reconciled
    outcomes = [row for path in batches_root(run_settings).glob("*/outcomes-*") for row in read_jsonl(path)]
    assert outcomes == []  # both runs settled every entry and removed their files
    assert {str(o) for o in Outcome} == {"indexed", "duplicate", "spooled", "failed"}
