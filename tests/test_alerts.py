"""Alert emails against the real local Elasticsearch and a real SMTP conversation (aiosmtpd on 127.0.0.1):
what arrives, grouping and escaping, and exactly-once delivery through reruns, SMTP failures and overlapping
runs."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from mediamon.alerts.match import Candidate, group_stories
from mediamon.alerts.outlets import UnknownOutlet, unknown_outlets
from mediamon.alerts.records import acquire_lease, load_state
from mediamon.alerts.run import AlertRun, RunStatus, run_alerts
from mediamon.alerts.subscriptions import Subscription, load_subscriptions
from mediamon.cli import app
from mediamon.core.feeds import FeedState, FetchOutcome
from mediamon.core.settings import Settings, get_settings
from search.feed_records import save_states
from search.index_versions import alerts_alias, ensure_alerts_index, ensure_articles_index, ensure_feeds_index
from search.write import bulk_create
from tests.smtp_fixtures import SmtpServer, free_port, self_signed, smtp_server

DIMS = 384
SEED = "belarus-2020-09"
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday
RECIPIENTS = ["desk@example.org", "lead@example.org"]
SOURCES = {  # id: (name, language, affiliation)
    "reuters": ("Reuters", "en", "wire"),
    "bbc": ("BBC News", "en", "foreign"),
    "dw": ("Deutsche Welle", "de", "foreign"),
    "meduza": ("Meduza", "ru", "independent"),
    "nashaniva": ("Наша Ніва", "be", "independent"),
    "belta": ("BelTA", "ru", "state"),
}
HOSTILE_TITLE = '<script>alert("x")</script> Minsk <b>crackdown</b> & more'
HOSTILE_SUMMARY = "<img src=x onerror=alert(1)> Riot police detained students at the university."
_prefixes = itertools.count()
_rng = np.random.default_rng(7)


def _vector() -> list[float]:
    v = _rng.standard_normal(DIMS).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


def article(
    key: str,
    title: str,
    fetched: datetime,
    *,
    published: datetime | None = None,
    source: str = "reuters",
    language: str | None = None,
    seed: float | None = None,
    topics: tuple[str, ...] = ("belarus",),
    scores: dict[str, float] | None = None,
    terms: dict[str, list[str]] | None = None,
    dup_group: str | None = None,
    summary: str = "",
    body: str = "",
    url: str | None = None,
) -> tuple[str, dict]:
    """An enriched article document as the pipeline indexes it."""
    name, source_language, affiliation = SOURCES[source]
    reasons = {"score": seed, "cosine": 0.61, "embedding_used": True, "entities": ["lukashenko", "putin"],
               "topics": ["belarus.russia"], "time": 1.0}  # fmt: skip
    return f"id-{key}", {
        "url": url or f"https://{source}.example/{key}",
        "title": title,
        "summary": summary,
        "body": body or f"{title}. " * 5,
        "outlet": name,
        "source_id": source,
        "affiliation": affiliation,
        "language": language or source_language,
        "published_at": (published or fetched).isoformat(),
        "fetched_at": fetched.isoformat(),
        "topics": list(topics),
        "topic_scores": scores or {t: 12.0 for t in topics},
        "topic_terms": terms or {},
        "entities": ["lukashenko", "minsk"],
        "matched_seeds": [SEED] if seed is not None and seed >= 0.5 else [],
        "seed_similarity": {SEED: seed} if seed is not None else {},
        "seed_reasons": {SEED: reasons} if seed is not None else {},
        "dup_group": dup_group,
        "embedding": _vector(),
    }


def subscription(sub_id: str, frequency: str = "immediate", max_items: int = 20, **follows: object) -> dict:
    return {
        "id": sub_id,
        "name": f"Desk {sub_id}",
        "recipients": RECIPIENTS,
        "follows": follows,
        "frequency": frequency,
        "max_items": max_items,
    }


@dataclass
class Bench:
    """One test's world: its own indices, subscriptions and feeds files."""

    settings: Settings
    es: Elasticsearch

    def subscribe(self, *entries: dict) -> None:
        text = yaml.safe_dump({"subscriptions": list(entries)}, allow_unicode=True)
        self.settings.subscriptions_path.write_text(text, encoding="utf-8")

    def index(self, *documents: tuple[str, dict]) -> None:
        report = bulk_create(self.es, self.settings.index_name("media-articles"), documents)
        assert report.created == len(documents), report
        self.es.indices.refresh(index=self.settings.index_name("media-articles"))

    def run(self, now: datetime, port: int | None = None, **options) -> AlertRun:
        settings = self.settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port or 1}"})
        return run_alerts(settings, now=now, **options)

    def records(self, subscription_id: str) -> dict[str, str]:
        """The sent records of a subscription: article id to outcome."""
        reply = self.es.search(
            index=alerts_alias(self.settings),
            query={"bool": {"filter": [{"term": {"kind": "sent"}}, {"term": {"subscription": subscription_id}}]}},
            size=1000,
        )
        return {hit["_source"]["article_id"]: hit["_source"]["outcome"] for hit in reply["hits"]["hits"]}


@pytest.fixture
def bench(settings: Settings, es: Elasticsearch, tmp_path: Path) -> Bench:
    feeds = [
        {
            "id": sid,
            "name": name,
            "feeds": [f"https://{sid}.example/rss"],
            "language": lang,
            "affiliation": aff,
        }
        for sid, (name, lang, aff) in SOURCES.items()
    ]
    feeds_path = tmp_path / "feeds.yaml"
    feeds_path.write_text(yaml.safe_dump({"sources": feeds}, allow_unicode=True), encoding="utf-8")
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}alerts{next(_prefixes)}-",
            "subscriptions_path": tmp_path / "subscriptions.yaml",
            "feeds_path": feeds_path,
        }
    )
    ensure_articles_index(es, local, DIMS, "test-model")
    return Bench(local, es)


def feed_state(source: str, url: str, status: FetchOutcome, **extra) -> FeedState:
    return FeedState(
        feed_url=url,
        source_id=source,
        status=status,
        last_fetch_at=T0 - timedelta(minutes=20),
        next_due_at=T0 + timedelta(minutes=40),
        interval_minutes=60,
        **extra,
    )


@pytest.fixture
def server() -> SmtpServer:
    with smtp_server() as running:
        yield running


def test_an_alert_groups_orders_escapes_and_names_its_blind_spots(bench: Bench, server: SmtpServer):
    bench.subscribe(subscription("russia", seeds=[{"id": SEED, "min_relevance": 0.5}]))
    minutes = lambda n: T0 + timedelta(minutes=n)  # noqa: E731
    bench.index(
        article("lead", "Putin promises Lukashenko a police reserve", minutes(10), published=minutes(-120),
                seed=0.82, dup_group="story-1", summary="Russia will send police if Belarus needs them."),
        article("copy-bbc", "Putin offers Lukashenko police backup", minutes(5), published=minutes(-60),
                source="bbc", seed=0.80, dup_group="story-1"),
        article("copy-dw", "Putin sichert Lukaschenko Polizeireserve zu", minutes(12), published=minutes(-30),
                source="dw", seed=0.86, dup_group="story-1"),
        article("hostile", HOSTILE_TITLE, minutes(1), published=minutes(-180), source="meduza", seed=0.6,
                summary=HOSTILE_SUMMARY, url="javascript:alert(1)"),
        article("newer", "Lavrov blames Kyiv for Belarus unrest", minutes(2), published=minutes(-20),
                source="bbc", seed=0.6),
        article("weak", "Belarus hockey team wins", minutes(3), seed=0.45),
        article("old", "Lukashenko and Putin meet in Sochi", T0 - timedelta(days=2), seed=0.9),
        article("unrelated", "Minsk weather", minutes(4)),
    )  # fmt: skip
    ensure_feeds_index(bench.es, bench.settings)
    save_states(
        bench.es,
        bench.settings.index_name("mediamon-feeds"),
        [
            feed_state("reuters", "https://reuters.example/rss", FetchOutcome.OK),
            feed_state("nashaniva", "https://nashaniva.example/rss", FetchOutcome.HTTP_4XX,
                       consecutive_failures=4, failing_since=T0 - timedelta(hours=5), http_status=404,
                       error="HTTP 404 Not Found"),
            feed_state("retired", "https://retired.example/rss", FetchOutcome.TIMEOUT,
                       consecutive_failures=9, failing_since=T0 - timedelta(days=30), error="read timeout"),
        ],
    )  # fmt: skip

    run = bench.run(T0 + timedelta(hours=1), server.port)
    [outcome] = run.outcomes
    assert (outcome.status, outcome.stories, outcome.articles) == (RunStatus.SENT, 3, 5)
    [mail] = server.received
    assert sorted(mail.rcpt_tos) == sorted(RECIPIENTS) and mail.mail_from == "mediamon@localhost"
    assert mail.message["Subject"] == "[mediamon] Desk russia: 3 new stories"
    assert mail.message["Message-ID"] == outcome.message_id
    assert mail.message.get_content_type() == "multipart/alternative"

    text = mail.text
    order = [text.index(t) for t in ("Putin promises Lukashenko", "Lavrov blames Kyiv", HOSTILE_TITLE)]
    assert order == sorted(order)  # best relevance first; equal relevance: newest first
    assert "Putin offers Lukashenko" not in text and "Polizeireserve" not in text  # copies fold into the lead
    assert "Also in 2 outlets: BBC News <https://bbc.example/copy-bbc>, Deutsche Welle" in text
    assert "Relevance 0.86" in text  # the best copy's relevance stands for the story
    assert "Reuters (wire) | 2025-03-03 06:00 UTC | en" in text
    assert "shared entities: lukashenko, putin; shared topics: Russia and Belarus" in text
    assert "Russia will send police" in text
    assert "hockey" not in text and "Sochi" not in text and "weather" not in text
    assert "javascript:" not in text  # an unsafe link is not given
    assert "Наша Ніва (nashaniva): http_4xx (HTTP 404), failing since 2025-03-03 03:00 UTC, 4 failed polls" in text
    assert "retired" not in text  # a feed no longer listed is no blind spot
    assert "5 feeds could not be fetched when last polled, or were not polled yet" in text
    assert " - BBC News (bbc): not polled yet\r\n   https://bbc.example/rss" in text  # no poll read it: a blind spot
    assert "Reuters (reuters)" not in text.split("What may be missing")[1]  # read when last polled

    html = mail.html
    assert "<script" not in html and "<b>crackdown" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Minsk &lt;b&gt;crackdown&lt;/b&gt; &amp; more" in html
    assert 'href="javascript:' not in html and 'href="https://reuters.example/lead"' in html
    assert "Наша Ніва" in html and "HTTP 404 Not Found" in html

    records = bench.records("russia")
    assert records == {"id-lead": "shown", "id-copy-bbc": "duplicate", "id-copy-dw": "duplicate",
                       "id-newer": "shown", "id-hostile": "shown"}  # fmt: skip
    assert load_state(bench.es, alerts_alias(bench.settings), "russia").watermark == T0 + timedelta(hours=1)

    rerun = bench.run(T0 + timedelta(minutes=75), server.port)
    assert rerun.outcomes[0].status is RunStatus.NOTHING_NEW and len(server.received) == 1

    bench.index(
        article("late-copy", "Putin backs Lukashenko with police", minutes(80), source="meduza", seed=0.84,
                dup_group="story-1"),
        article("fresh", "EU weighs sanctions on Belarusian officials", minutes(85), source="bbc", seed=0.7),
    )  # fmt: skip
    third = bench.run(T0 + timedelta(minutes=90), server.port)
    assert third.outcomes[0].status is RunStatus.SENT and len(server.received) == 2
    second = server.received[1].text
    assert "EU weighs sanctions" in second and "police" not in second  # a story already sent stays sent
    assert second.startswith("Desk russia: 1 new story (alert)")


def test_an_smtp_outage_then_a_refusal_delay_the_email_which_then_goes_exactly_once(bench: Bench):
    bench.subscribe(subscription("outage", seeds=[SEED]))
    bench.index(article("before", "Lukashenko meets Putin", T0, seed=0.7))
    port = free_port()

    down = bench.run(T0 + timedelta(minutes=15), port)  # nothing listens on the port
    assert down.outcomes[0].status is RunStatus.FAILED and "did not take the email" in down.outcomes[0].error
    assert bench.records("outage") == {}
    assert load_state(bench.es, alerts_alias(bench.settings), "outage").watermark is None

    bench.index(article("during", "Putin promises a loan to Minsk", T0 + timedelta(minutes=20), seed=0.75))
    with smtp_server(port) as server:
        server.handler.refuse_data = 1
        refused = bench.run(T0 + timedelta(minutes=30), port)
        assert refused.outcomes[0].status is RunStatus.FAILED and "451" in refused.outcomes[0].error
        assert server.received == [] and bench.records("outage") == {}

        retried = bench.run(T0 + timedelta(minutes=31), port)
        assert retried.outcomes[0].status is RunStatus.SENT
        [mail] = server.received
        assert "Lukashenko meets Putin" in mail.text and "Putin promises a loan" in mail.text
        assert set(bench.records("outage")) == {"id-before", "id-during"}

        again = bench.run(T0 + timedelta(minutes=45), port)
        assert again.outcomes[0].status is RunStatus.NOTHING_NEW and len(server.received) == 1


def test_a_daily_digest_holds_everything_since_the_last_one(bench: Bench, server: SmtpServer):
    bench.subscribe(subscription("digest", "daily", topics=["belarus.repression"], languages=["ru", "be"]))
    at = lambda hours: T0 + timedelta(hours=hours)  # noqa: E731
    repression = ("belarus", "belarus.repression")
    bench.index(
        article("d0", "Задержаны студенты в Минске", at(-20), source="meduza", topics=repression),
        article("d0-en", "Students detained in Minsk", at(-10), topics=repression),  # English: not followed
    )
    first = bench.run(T0, server.port)
    assert first.outcomes[0].status is RunStatus.SENT and first.outcomes[0].stories == 1
    assert server.received[0].message["Subject"] == "[mediamon] Desk digest: daily digest, 1 new story"

    bench.index(
        article("d1a", "Затрыманні ў Гродне", at(1), source="nashaniva", topics=repression),
        article("d1b", "Обыски у журналистов", at(9), source="belta", topics=repression),
        article("d1c", "Новые аресты в Бресте", at(20), source="meduza", topics=repression),
        article("d1-late", "Суд над активистами", at(-0.5), source="meduza", topics=repression),  # indexed late
        article("d1-protest", "Марш в Минске", at(2), source="meduza", topics=("belarus", "belarus.protests")),
    )
    assert bench.run(at(4), server.port).outcomes[0].status is RunStatus.NOT_DUE
    assert len(server.received) == 1

    second = bench.run(at(24), server.port)
    assert second.outcomes[0].status is RunStatus.SENT and second.outcomes[0].stories == 4
    digest = server.received[1]
    assert digest.message["Subject"] == "[mediamon] Desk digest: daily digest, 4 new stories"
    for title in (
        "Затрыманні ў Гродне",
        "Обыски у журналистов",
        "Новые аресты в Бресте",
        "Суд над активистами",
    ):
        assert title in digest.text and title in digest.html
    assert "Задержаны студенты" not in digest.text and "Марш" not in digest.text
    assert "fetched 2025-03-03 08:00 UTC to 2025-03-04 08:00 UTC" in digest.text

    assert bench.run(at(24.1), server.port).outcomes[0].status is RunStatus.NOT_DUE
    assert bench.run(at(24.1), server.port, force=True).outcomes[0].status is RunStatus.NOTHING_NEW
    assert len(server.received) == 2


def test_overlapping_runs_never_send_an_article_twice(bench: Bench, server: SmtpServer):
    bench.subscribe(subscription("overlap", seeds=[SEED]))
    bench.index(article("a", "Lukashenko meets Putin", T0, seed=0.7))
    alerts = alerts_alias(bench.settings)
    now = T0 + timedelta(minutes=10)
    bench.run(now, server.port, dry_run=True)  # creates the bookkeeping index, writes nothing

    held = acquire_lease(bench.es, alerts, "overlap", "another-run", now, timedelta(minutes=15))
    assert held is not None
    assert bench.run(now, server.port).outcomes[0].status is RunStatus.BUSY and server.received == []

    later = now + timedelta(minutes=20)  # the other run crashed: its lease has expired
    assert bench.run(later, server.port).outcomes[0].status is RunStatus.SENT and len(server.received) == 1

    bench.index(article("b", "Putin promises a loan to Minsk", later + timedelta(minutes=1), seed=0.8))
    start = threading.Barrier(4)
    statuses: list[RunStatus] = []

    def race() -> None:
        start.wait()
        statuses.append(bench.run(later + timedelta(minutes=5), server.port).outcomes[0].status)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(RunStatus.SENT) == 1
    assert set(statuses) <= {RunStatus.SENT, RunStatus.BUSY, RunStatus.NOTHING_NEW}
    assert len(server.received) == 2 and "Putin promises a loan" in server.received[1].text
    assert set(bench.records("overlap")) == {"id-a", "id-b"}


def test_the_cap_counts_what_it_leaves_out_and_the_query_says_which_words_matched(bench: Bench, server: SmtpServer):
    bench.subscribe(subscription("capped", max_items=2, topics=["belarus.repression"], query="Kolesnikova OR Babariko"))
    repression = ("belarus", "belarus.repression")
    terms = {"belarus.repression": ["arrested", "sentenced"]}
    bench.index(
        article("k1", "Kolesnikova sentenced to eleven years", T0, topics=repression, terms=terms,
                scores={"belarus": 12.0, "belarus.repression": 30.0}),
        article("k2", "Staff of the Babariko campaign arrested", T0, topics=repression, terms=terms,
                scores={"belarus": 12.0, "belarus.repression": 20.0}),
        article("k3", "Court hearing for Kolesnikova postponed", T0, topics=repression, terms=terms,
                scores={"belarus": 12.0, "belarus.repression": 10.0}),
        article("other", "Journalists detained in Gomel", T0, topics=repression, terms=terms),
    )  # fmt: skip
    run = bench.run(T0 + timedelta(minutes=5), server.port)
    assert (run.outcomes[0].stories, run.outcomes[0].omitted) == (2, 1)
    text = server.received[0].text
    assert text.index("Kolesnikova sentenced") < text.index("Staff of the Babariko")  # by topic score
    assert "Court hearing" not in text and "Gomel" not in text
    assert "1 more matching story was left out: this subscription shows at most 2 an email." in text
    assert "search “Kolesnikova OR Babariko”: kolesnikova" in text and "topic Repression: arrested, sentenced" in text
    assert bench.records("capped") == {"id-k1": "shown", "id-k2": "shown", "id-k3": "over_cap"}
    assert bench.run(T0 + timedelta(minutes=20), server.port).outcomes[0].status is RunStatus.NOTHING_NEW


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd, under implicit TLS
@pytest.mark.parametrize("security", ["starttls", "smtps"])
def test_sending_over_tls_with_auth(bench: Bench, tmp_path: Path, security: str):
    cert, context = self_signed(tmp_path)
    bench.subscribe(subscription("tls", seeds=[SEED]))
    bench.index(article("t", "Lukashenko meets Putin", T0, seed=0.7))
    tls = {"starttls": context} if security == "starttls" else {"implicit_tls": context}
    with smtp_server(users={"mediamon": "p@ss:word"}, **tls) as server:
        scheme = "smtps" if security == "smtps" else "smtp"
        settings = bench.settings.model_copy(
            update={
                "smtp_url": f"{scheme}://mediamon:p%40ss%3Aword@127.0.0.1:{server.port}",
                "smtp_starttls": security == "starttls",
                "smtp_ca_cert": cert,
                "smtp_from": "Mediamon alerts <alerts@example.org>",
            }
        )
        wrong = settings.model_copy(update={"smtp_url": f"{scheme}://mediamon:nope@127.0.0.1:{server.port}"})
        denied = run_alerts(wrong, now=T0 + timedelta(minutes=5)).outcomes[0]
        assert denied.status is RunStatus.FAILED and "535" in denied.error
        assert run_alerts(settings, now=T0 + timedelta(minutes=6)).outcomes[0].status is RunStatus.SENT
        [mail] = server.received
        assert mail.login == "mediamon" and mail.message["From"] == "Mediamon alerts <alerts@example.org>"
        assert mail.message["Message-ID"].endswith("@example.org>")


def test_the_cli_lists_dry_runs_and_previews(bench: Bench, server: SmtpServer, tmp_path: Path, monkeypatch):
    bench.subscribe(subscription("cli", seeds=[SEED]), subscription("weekly", "weekly", affiliations=["state"]))
    now = datetime.now(UTC)
    bench.index(
        article("c1", HOSTILE_TITLE, now - timedelta(hours=2), source="meduza", seed=0.8),
        article("c2", "Государственные СМИ о визите", now - timedelta(hours=3), source="belta"),
    )
    variables = {
        "MEDIAMON_INDEX_PREFIX": bench.settings.index_prefix,
        "MEDIAMON_SUBSCRIPTIONS_PATH": str(bench.settings.subscriptions_path),
        "MEDIAMON_FEEDS_PATH": str(bench.settings.feeds_path),
        "MEDIAMON_SMTP_URL": f"smtp://127.0.0.1:{server.port}",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        listed = runner.invoke(app, ["alerts", "list"])
        assert listed.exit_code == 0 and "cli" in listed.output and "weekly" in listed.output

        dry = runner.invoke(app, ["alerts", "run", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "cli: dry_run, 1 stories" in dry.output and "weekly: dry_run, 1 stories" in dry.output
        assert "Subject: [mediamon] Desk cli: 1 new story" in dry.output and HOSTILE_TITLE in dry.output
        assert "Государственные СМИ о визите" in dry.output and server.received == []
        assert bench.records("cli") == {}

        out = tmp_path / "preview.html"
        preview = runner.invoke(app, ["alerts", "preview", "weekly", "--html", str(out)])
        assert preview.exit_code == 0, preview.output
        assert "Государственные СМИ о визите" in out.read_text(encoding="utf-8")

        sent = runner.invoke(app, ["alerts", "run", "--subscription", "cli"])
        assert sent.exit_code == 0 and "cli: sent" in sent.output and len(server.received) == 1
        nothing = runner.invoke(app, ["alerts", "preview", "cli"])
        assert nothing.exit_code == 0 and "no new matching story" in nothing.output
        again = runner.invoke(app, ["alerts", "preview", "cli", "--days", "1"])
        assert again.exit_code == 0 and HOSTILE_TITLE in again.output

        unknown = runner.invoke(app, ["alerts", "run", "--subscription", "nope"])
        assert unknown.exit_code == 2 and "no valid subscription nope" in unknown.output  # a usage error
    finally:
        get_settings.cache_clear()


# --- subscriptions file ---


def test_the_shipped_subscriptions_are_valid():
    settings = Settings()
    loaded = load_subscriptions(settings.subscriptions_path, settings.seeds_dir)
    assert loaded.errors == ()
    assert {s.frequency for s in loaded.subscriptions} == {"immediate", "daily", "weekly"}


def test_bad_subscriptions_are_reported_with_line_and_reason_and_the_good_ones_kept(tmp_path: Path):
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        """subscriptions:
  - id: good
    name: Good
    recipients: [a@example.org]
    follows: {seeds: [belarus-2020-09]}
    frequency: daily
  - id: no-seed
    name: Unknown seed and topic
    recipients: [a@example.org]
    follows: {seeds: [{id: nowhere, min_relevance: 0.4}], topics: [belarus.sports]}
    frequency: immediate
  - id: bad-fields
    name: Bad fields
    recipients: [not-an-address]
    follows: {topics: [belarus], languages: [Russian]}
    frequency: hourly
    max_items: 0
  - id: nothing
    name: Follows nothing
    recipients: [a@example.org]
    follows: {}
    frequency: daily
  - id: good
    name: Duplicate
    recipients: [a@example.org]
    follows: {topics: [belarus]}
    frequency: weekly
    colour: blue
  - id: good
    name: Duplicate again
    recipients: [a@example.org]
    follows: {topics: [belarus]}
    frequency: weekly
""",
        encoding="utf-8",
    )
    loaded = load_subscriptions(path, Settings().seeds_dir)
    assert [s.id for s in loaded.subscriptions] == ["good"]
    errors = [str(e) for e in loaded.errors]
    assert errors[0].startswith(f"{path}:7: no-seed: follows.seeds: no seed story 'nowhere'")
    assert "follows.topics: no topic 'belarus.sports'" in errors[0]
    assert errors[1].startswith(f"{path}:12: ") and "recipients: Value error, not email addresses" in errors[1]
    assert "follows.languages" in errors[1] and "frequency" in errors[1] and "max_items" in errors[1]
    assert errors[2].startswith(f"{path}:18: ") and "follows nothing" in errors[2]
    assert errors[3].startswith(f"{path}:23: ") and "colour: Extra inputs are not permitted" in errors[3]
    assert errors[4] == f"{path}:29: good: duplicate subscription id 'good'"


def test_outlets_no_known_name_has_are_found_with_the_closest_known_one():
    follows = [
        subscription("a", outlets=["reuters", "meduzza", "meduzza", "belarus-archive"]),
        subscription("b", outlets=["nowhere-press"], seeds=[SEED]),
        subscription("c", topics=["belarus"]),
    ]
    known = {"reuters", "meduza", "belarus-archive"}
    problems = unknown_outlets([Subscription.model_validate(entry) for entry in follows], known)
    assert problems == [UnknownOutlet("a", "meduzza", "meduza"), UnknownOutlet("b", "nowhere-press", None)]
    assert [str(problem) for problem in problems] == [
        "subscription a: no feed and no indexed article has the outlet 'meduzza', so it matches nothing "
        "(did you mean 'meduza'?)",
        "subscription b: no feed and no indexed article has the outlet 'nowhere-press', so it matches nothing",
    ]


def _outlet_warning(sub_id: str, outlet: str, closest: str | None = None) -> str:
    return f"warning: {UnknownOutlet(sub_id, outlet, closest)}"


def test_the_cli_warns_of_outlets_nothing_has_and_goes_on(bench: Bench, cli_settings):
    bench.subscribe(
        subscription("archive", seeds=[SEED], outlets=["belarus-archive"]),
        subscription("typo", seeds=[SEED], outlets=["meduzza", "nowhere-press"]),
    )
    key, imported = article("arch", "Lukashenko meets Putin", datetime.now(UTC) - timedelta(hours=1), seed=0.8)
    bench.index((key, imported | {"source_id": "belarus-archive", "outlet": "belarus-archive"}))  # in no feed
    cli_settings(
        index_prefix=bench.settings.index_prefix,
        subscriptions_path=str(bench.settings.subscriptions_path),
        feeds_path=str(bench.settings.feeds_path),
    )
    warnings = [_outlet_warning("typo", "meduzza", "meduza"), _outlet_warning("typo", "nowhere-press")]
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list"])
    assert listed.exit_code == 0 and "archive" in listed.stdout and "warning" not in listed.stdout
    assert listed.stderr.splitlines() == warnings  # the outlet only the index has is no problem

    dry = runner.invoke(app, ["alerts", "run", "--dry-run"])
    assert dry.exit_code == 0 and dry.stderr.splitlines() == warnings
    assert "archive: dry_run, 1 stories" in dry.stdout and "typo: nothing_new" in dry.stdout
    preview = runner.invoke(app, ["alerts", "preview", "archive"])
    assert preview.exit_code == 0 and preview.stderr == ""


def test_without_an_articles_index_the_feed_list_alone_decides(
    settings: Settings, es: Elasticsearch, tmp_path: Path, cli_settings
):
    prefix = f"{settings.index_prefix}nooutlets-"
    path = tmp_path / "subscriptions.yaml"
    entries = [subscription("archive", outlets=["belarus-archive"]), subscription("bbc", outlets=["bbc"])]
    path.write_text(yaml.safe_dump({"subscriptions": entries}), encoding="utf-8")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [{"id": "bbc", "name": "BBC", "feeds": ["https://bbc.example/rss"]}]}))
    cli_settings(index_prefix=prefix, subscriptions_path=str(path), feeds_path=str(feeds))
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list"])
    assert listed.exit_code == 0 and listed.stderr.splitlines() == [_outlet_warning("archive", "belarus-archive")]
    assert es.indices.get(index=f"{prefix}*", expand_wildcards="all") == {}

    cli_settings(es_url=f"http://127.0.0.1:{free_port()}")  # Elasticsearch down: said in one line, the list goes on
    listed = runner.invoke(app, ["alerts", "list"])
    assert listed.exit_code == 0 and "archive" in listed.stdout
    (line,) = listed.stderr.splitlines()
    assert line.startswith("warning: the subscriptions' outlets were not checked against the indexed articles: ")


def test_stories_lead_with_the_earliest_copy_and_rank_by_best_relevance_then_time():
    def candidate(key: str, group: str, hours: float, score: float) -> Candidate:
        moment = T0 + timedelta(hours=hours)
        return Candidate(key, f"https://x.example/{key}", key, key, key, None, "en", moment, moment, group,
                         seed_scores={SEED: score})  # fmt: skip

    stories = group_stories(
        [candidate("late", "g", 3, 0.9), candidate("first", "g", 1, 0.5),
         candidate("solo-old", "s1", -5, 0.7), candidate("solo-new", "s2", 2, 0.7)]
    )  # fmt: skip
    assert [s.lead.id for s in stories] == ["first", "solo-new", "solo-old"]
    assert stories[0].best.id == "late" and [c.id for c in stories[0].also_in] == ["late"]


@pytest.mark.parametrize("quit", ["stall", "refuse", "drop"])
def test_trouble_closing_the_session_after_the_server_took_the_email_sends_it_once(bench: Bench, quit: str):
    bench.settings = bench.settings.model_copy(update={"smtp_timeout": 1.0})  # a QUIT stalled 3 s times out
    bench.subscribe(subscription("quit", seeds=[SEED]))
    bench.index(article("q", "Lukashenko meets Putin", T0, seed=0.7))
    with smtp_server() as server:
        server.handler.quit = quit
        first = bench.run(T0 + timedelta(minutes=5), server.port)
        assert first.outcomes[0].status is RunStatus.SENT, first.outcomes[0].error
        assert bench.records("quit") == {"id-q": "shown"}
        second = bench.run(T0 + timedelta(minutes=10), server.port)
        assert second.outcomes[0].status is RunStatus.NOTHING_NEW
        [mail] = server.received
        assert mail.message["Message-ID"] == first.outcomes[0].message_id


def test_a_run_whose_lease_another_run_took_stops_before_sending(bench: Bench):
    bench.subscribe(subscription("stolen", seeds=[SEED]))
    bench.index(article("s", "Lukashenko meets Putin", T0, seed=0.7))
    alerts, now = alerts_alias(bench.settings), T0 + timedelta(minutes=5)
    thief = {"kind": "lease", "subscription": "stolen", "owner": "another-run",
             "expires_at": (now + timedelta(minutes=15)).isoformat()}  # fmt: skip

    def steal() -> None:  # while the run connects to the SMTP server, another run writes the lease
        bench.es.index(index=alerts, id="lease:stolen", document=thief, refresh=True)

    with smtp_server() as server:
        server.handler.on_connect = steal
        stopped = bench.run(now, server.port).outcomes[0]
        assert stopped.status is RunStatus.LEASE_LOST and "another run took the lease" in stopped.error
        assert server.received == [] and bench.records("stolen") == {}
        assert bench.es.get(index=alerts, id="lease:stolen")["_source"]["owner"] == "another-run"  # left to it

        server.handler.on_connect = None
        later = bench.run(now + timedelta(minutes=20), server.port)  # the other run's lease has expired
        assert later.outcomes[0].status is RunStatus.SENT and len(server.received) == 1


def test_a_run_slower_than_its_lease_keeps_it(bench: Bench):
    bench.settings = bench.settings.model_copy(update={"alert_lease_seconds": 2.0})  # renewed every 0.67 s
    bench.subscribe(subscription("slow", seeds=[SEED]))
    bench.index(article("s", "Lukashenko meets Putin", datetime.now(UTC) - timedelta(minutes=30), seed=0.7))
    in_data = threading.Event()

    def slow_data() -> None:  # the server takes 5 s, more than twice the lease, to answer DATA
        in_data.set()
        time.sleep(5)

    with smtp_server() as server:
        server.handler.on_data = slow_data
        first: list[AlertRun] = []
        sender = threading.Thread(target=lambda: first.append(bench.run(datetime.now(UTC), server.port)))
        sender.start()
        assert in_data.wait(10)
        time.sleep(2.5)  # past the lease the run took at its start
        overlapping = bench.run(datetime.now(UTC), server.port)
        sender.join()
        assert overlapping.outcomes[0].status is RunStatus.BUSY
        assert first[0].outcomes[0].status is RunStatus.SENT and len(server.received) == 1
        assert bench.records("slow") == {"id-s": "shown"}
        server.handler.on_data = None
        assert bench.run(datetime.now(UTC), server.port).outcomes[0].status is RunStatus.NOTHING_NEW
        assert len(server.received) == 1


def test_an_email_sent_but_not_recorded_is_recorded_by_the_next_run_and_not_sent_again(bench: Bench):
    bench.subscribe(subscription("unrecorded", seeds=[SEED]))
    bench.index(
        article("u1", "Lukashenko meets Putin", T0, seed=0.7),
        article("u2", "Putin promises a loan to Minsk", T0, seed=0.8),
    )
    alerts, now = alerts_alias(bench.settings), T0 + timedelta(minutes=5)

    def block_writes() -> None:  # the server takes the email while Elasticsearch stops taking writes
        bench.es.indices.add_block(index=alerts, block="write")

    with smtp_server() as server:
        server.handler.on_data = block_writes
        try:
            failed = bench.run(now, server.port).outcomes[0]
        finally:
            bench.es.indices.remove_block(index=alerts, block="write")
        server.handler.on_data = None
        [mail] = server.received
        assert failed.status is RunStatus.FAILED and "recording it failed" in failed.error
        assert mail.message["Message-ID"] in failed.error and bench.records("unrecorded") == {}
        # the failed run could not release its lease either: it expires
        assert bench.run(now + timedelta(minutes=1), server.port).outcomes[0].status is RunStatus.BUSY

        settled = bench.run(now + timedelta(minutes=20), server.port).outcomes[0]
        assert (settled.status, settled.settled) == (RunStatus.NOTHING_NEW, 1) and len(server.received) == 1
        sent = bench.es.search(
            index=alerts, query={"term": {"subscription": "unrecorded"}}, size=10, sort=[{"kind": "asc"}]
        )["hits"]["hits"]
        kinds = [hit["_source"]["kind"] for hit in sent]
        assert kinds == ["sent", "sent", "state"]  # no outbox entry left
        assert {hit["_source"]["message_id"] for hit in sent[:2]} == {mail.message["Message-ID"]}
        assert set(bench.records("unrecorded")) == {"id-u1", "id-u2"}

        again = bench.run(now + timedelta(minutes=30), server.port).outcomes[0]
        assert (again.status, again.settled) == (RunStatus.NOTHING_NEW, 0) and len(server.received) == 1


def test_an_alerts_index_made_before_the_outbox_gets_its_fields(bench: Bench):
    alias = alerts_alias(bench.settings)
    before = {name: {"type": "keyword"} for name in ("kind", "subscription", "article_id", "dup_group", "outcome")}
    bench.es.indices.create(
        index=f"{alias}-v1",
        mappings={"dynamic": "strict", "properties": before},
        aliases={alias: {"is_write_index": True}},
    )
    ensure_alerts_index(bench.es, bench.settings)
    fields = next(iter(bench.es.indices.get_mapping(index=alias).values()))["mappings"]["properties"]
    assert {"status", "recipients", "items", "message", "created_at"} <= set(fields)


def test_a_recipient_refused_at_rcpt_gets_the_same_email_later_and_the_others_get_it_once(bench: Bench):
    desk, lead = RECIPIENTS
    bench.subscribe(subscription("rcpt", seeds=[SEED]))
    bench.index(article("r1", "Lukashenko meets Putin", T0, seed=0.7))
    with smtp_server() as server:
        server.handler.refuse_rcpt = {lead}
        first = bench.run(T0 + timedelta(minutes=5), server.port).outcomes[0]
        assert first.status is RunStatus.SENT and list(first.refused) == [lead] and "550" in first.refused[lead]
        [mail] = server.received
        assert mail.rcpt_tos == (desk,) and bench.records("rcpt") == {"id-r1": "shown"}

        still = bench.run(T0 + timedelta(minutes=10), server.port).outcomes[0]  # refused again: still owed
        assert (still.status, still.resent) == (RunStatus.NOTHING_NEW, 0) and len(server.received) == 1

        server.handler.refuse_rcpt = set()
        bench.index(article("r2", "Putin promises a loan to Minsk", T0 + timedelta(minutes=12), seed=0.8))
        later = bench.run(T0 + timedelta(minutes=15), server.port).outcomes[0]
        assert (later.status, later.resent, later.refused) == (RunStatus.SENT, 1, {})
        owed, fresh = server.received[1:]
        assert owed.rcpt_tos == (lead,) and owed.message["Message-ID"] == mail.message["Message-ID"]
        assert owed.text == mail.text and owed.message["To"] == f"{desk}, {lead}"
        assert sorted(fresh.rcpt_tos) == RECIPIENTS and "Putin promises a loan" in fresh.text
        assert "Lukashenko meets Putin" not in fresh.text

        final = bench.run(T0 + timedelta(minutes=30), server.port).outcomes[0]
        assert (final.status, final.resent) == (RunStatus.NOTHING_NEW, 0) and len(server.received) == 3
        for who in RECIPIENTS:
            got = [m.text for m in server.received if who in m.rcpt_tos]
            assert [("Lukashenko meets Putin" in t, "Putin promises a loan" in t) for t in got] == [
                (True, False),
                (False, True),
            ]


@pytest.mark.parametrize("why", ["unsubscribed", "refused for days"])
def test_an_email_owed_to_a_refused_recipient_is_given_up(bench: Bench, why: str):
    desk, lead = RECIPIENTS
    bench.subscribe(subscription("owed", seeds=[SEED]))
    bench.index(article("o", "Lukashenko meets Putin", T0, seed=0.7))
    with smtp_server() as server:
        server.handler.refuse_rcpt = {lead}
        assert bench.run(T0 + timedelta(minutes=5), server.port).outcomes[0].refused.keys() == {lead}
        server.handler.refuse_rcpt = set()
        if why == "unsubscribed":
            bench.subscribe(subscription("owed", seeds=[SEED]) | {"recipients": [desk]})
            later = T0 + timedelta(minutes=10)
        else:
            later = T0 + timedelta(days=6)
        outcome = bench.run(later, server.port).outcomes[0]
        assert (outcome.status, outcome.resent) == (RunStatus.NOTHING_NEW, 0) and len(server.received) == 1
        left = bench.es.count(index=alerts_alias(bench.settings), query={"term": {"kind": "outbox"}})["count"]
        assert left == 0


# --- bad inputs: one line, the right exit code, nothing recorded or created ---


def _line(result) -> str:
    (line,) = result.output.splitlines()
    return line


def test_alerts_on_a_prefix_without_articles_say_so_and_create_nothing(
    settings: Settings, es: Elasticsearch, cli_settings
):
    prefix = f"{settings.index_prefix}noarticles-"
    cli_settings(index_prefix=prefix)
    runner = CliRunner()
    for args in (["run", "--dry-run"], ["run"], ["preview", "belarus-2020-09"]):
        result = runner.invoke(app, ["alerts", *args])
        assert result.exit_code == 1, result.output  # as `mediamon search` exits
        assert _line(result) == (
            f"error: no such index {prefix}media-articles: nothing has been indexed under this prefix yet; "
            "run `mediamon run` (or `mediamon demo`) first"
        )
    assert es.indices.get(index=f"{prefix}*", expand_wildcards="all") == {}


SMTP_FORM = "set it to smtp://[user:password@]host[:port] or smtps://…"
CA_FIX = "set it to a CA file in PEM form, or unset it for the system's CAs"
NOT_PEM = __file__  # a text file with no certificate in it
BAD_PORT = f"MEDIAMON_SMTP_URL has a port that is no number from 1 to 65535: {SMTP_FORM}"
CA, CANNOT = "MEDIAMON_SMTP_CA_CERT", "cannot be used"


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({"smtp_url": ""}, f"MEDIAMON_SMTP_URL is empty: {SMTP_FORM}"),
        ({"smtp_url": "garbage"}, f"MEDIAMON_SMTP_URL has no scheme: {SMTP_FORM}"),
        ({"smtp_url": "http://127.0.0.1"}, f"MEDIAMON_SMTP_URL has the scheme 'http', not smtp or smtps: {SMTP_FORM}"),
        ({"smtp_url": "smtp://127.0.0.1:abc"}, BAD_PORT),
        ({"smtp_url": "smtp://me:s3cret@127.0.0.1:99999"}, BAD_PORT),
        ({"smtp_url": "smtp://[::1"}, f"MEDIAMON_SMTP_URL cannot be read (Invalid IPv6 URL): {SMTP_FORM}"),
        (
            {"smtp_ca_cert": "/nonexistent/ca.pem"},
            f"{CA} /nonexistent/ca.pem {CANNOT} (No such file or directory): {CA_FIX}",
        ),
        ({"smtp_ca_cert": "/"}, f"{CA} / {CANNOT} (Is a directory): {CA_FIX}"),
        ({"smtp_ca_cert": NOT_PEM}, f"{CA} {NOT_PEM} {CANNOT} (no certificate in PEM form in it): {CA_FIX}"),
    ],
)
def test_bad_smtp_settings_are_one_configuration_line_and_the_alert_waits(
    bench: Bench, server: SmtpServer, cli_settings, monkeypatch, variables, line
):
    bench.subscribe(subscription("cfg", seeds=[SEED]))
    bench.index(article("cfg", "Lukashenko meets Putin", datetime.now(UTC) - timedelta(hours=1), seed=0.7))
    good = {
        "index_prefix": bench.settings.index_prefix,
        "subscriptions_path": str(bench.settings.subscriptions_path),
        "feeds_path": str(bench.settings.feeds_path),
        "smtp_url": f"smtp://127.0.0.1:{server.port}",
    }
    cli_settings(**good | variables)
    runner = CliRunner()
    result = runner.invoke(app, ["alerts", "run"])
    assert result.exit_code == 2 and _line(result) == f"configuration error: {line}"
    assert "s3cret" not in result.output
    assert not bench.es.indices.exists_alias(name=alerts_alias(bench.settings))  # nothing recorded
    assert server.received == []
    for name in variables:
        monkeypatch.delenv(f"MEDIAMON_{name.upper()}")
    cli_settings(**good)
    fixed = runner.invoke(app, ["alerts", "run"])  # the same alert goes once the setting is fixed
    assert fixed.exit_code == 0 and "cfg: sent" in fixed.output and len(server.received) == 1


def test_preview_checks_its_options_before_the_work(bench: Bench, tmp_path: Path, cli_settings):
    bench.subscribe(subscription("pre", seeds=[SEED]))
    bench.index(article("pre", "Lukashenko meets Putin", datetime.now(UTC) - timedelta(hours=1), seed=0.7))
    cli_settings(
        index_prefix=bench.settings.index_prefix,
        subscriptions_path=str(bench.settings.subscriptions_path),
        feeds_path=str(bench.settings.feeds_path),
    )
    runner = CliRunner()
    out = tmp_path / "nodir" / "x.html"
    result = runner.invoke(app, ["alerts", "preview", "pre", "--html", str(out)])
    assert result.exit_code == 2
    assert _line(result) == f"error: cannot write {out}: there is no folder {out.parent}; create it or write elsewhere"
    assert not out.parent.exists()
    result = runner.invoke(app, ["alerts", "preview", "pre", "--days", "99999999999"])
    assert result.exit_code == 2 and "less than or equal to 36500" in result.output and "Overflow" not in result.output
    result = runner.invoke(app, ["alerts", "preview", "pre", "--days", "36500"])
    assert result.exit_code == 0 and "Lukashenko meets Putin" in result.output
