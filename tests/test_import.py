"""Backfills through `mediamon import`, and `similar` / `tag` on an imported set, against the real local node."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mediamon.cli import app
from mediamon.core.settings import get_settings
from mediamon.flows.backfill import import_jsonl

LINES = [
    {
        "url": "https://archive.example.org/ru/1?utm_source=x",
        "title": "Путин пообещал Лукашенко кредит и поддержку Союзного государства",
        "body": "На встрече в Сочи президент России Владимир Путин пообещал Александру Лукашенко кредит в 1,5 млрд "
        "долларов. Лидеры обсудили интеграцию в рамках Союзного государства, а Москва назвала выборы в Беларуси "
        "законными. Протесты в Минске продолжаются.",
        "published": "2020-09-14T18:00:00+03:00",
        "lang": "ru",
        "source": "archive-ru",
    },
    {
        "url": "https://archive.example.org/en/2",
        "title": "Minsk Group co-chairs urge a ceasefire in Nagorno-Karabakh",
        "body": "The OSCE Minsk Group called on Armenia and Azerbaijan to stop the fighting and return to talks.",
        "published": "2020-09-29",
        "source": "archive-en",
    },
    "not json at all",
    {"url": "https://archive.example.org/en/3", "body": "A line without a title."},
    {
        "url": "https://archive.example.org/en/4",
        "title": "Liverpool win a seven-goal thriller against Leeds",
        "body": "Mohamed Salah scored a hat-trick as the champions began their defence of the title.",
        "id": "given-id-4",
    },
]


@pytest.fixture(scope="module")
def imported(settings, es, tmp_path_factory):
    path = tmp_path_factory.mktemp("import") / "archive.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in LINES) + "\n")
    import_settings = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}import-"})
    return import_settings, path, import_jsonl(import_settings, path), import_jsonl(import_settings, path)


def test_good_lines_are_indexed_and_bad_ones_reported_by_line(imported):
    _, path, first, _ = imported
    assert first.read == 5 and first.indexed == 3
    assert [e.split(": ")[0] for e in first.errors] == [f"{path}:3", f"{path}:4"]
    assert "title" in first.errors[1]


def test_reimport_adds_nothing(imported, es):
    import_settings, _, _, second = imported
    assert second.indexed == 0 and second.duplicates == 3
    assert es.count(index=f"{import_settings.index_prefix}media-articles")["count"] == 3


def test_similar_and_tag_commands_on_the_imported_set(imported, monkeypatch, tmp_path):
    import_settings, _, _, _ = imported
    monkeypatch.setenv("MEDIAMON_INDEX_PREFIX", import_settings.index_prefix)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["similar", "--seed", "belarus-2020-09", "--top", "5", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    matches = json.loads(result.stdout)
    assert matches[0]["language"] == "ru" and matches[0]["url"] == "https://archive.example.org/ru/1"
    assert "belarus-2020-09" in matches[0]["matched_seeds"]
    reasons = matches[0]["reasons"]  # every score comes with its reasons
    assert reasons["score"] == pytest.approx(matches[0]["score"], abs=1e-4)
    assert {"lukashenko", "putin"} <= set(reasons["entities"]) and reasons["embedding_used"] is False
    assert all("belarus-2020-09" not in m["matched_seeds"] for m in matches[1:])

    text = tmp_path / "t.txt"
    text.write_text(LINES[0]["title"] + "\n" + LINES[0]["body"], encoding="utf-8")
    tagged = CliRunner().invoke(app, ["tag", "--text-file", str(text), "--json"])
    assert tagged.exit_code == 0, tagged.output
    result = json.loads(tagged.stdout)
    assert {"belarus", "belarus.russia"} <= set(result["topics"])
    assert {"lukashenko", "putin", "union-state"} <= set(result["entities"])
    assert result["landmarks"] == {}

    text.write_text("Лукашенко о санкциях\nСанкции введены из-за войны в Украине.", encoding="utf-8")
    tagged = CliRunner().invoke(app, ["tag", "--text-file", str(text), "--json"])
    assert json.loads(tagged.stdout)["landmarks"] == {"russia-invasion-of-ukraine": "2022-02-24"}


def test_similar_to_a_text_file_and_to_a_url(imported, monkeypatch, tmp_path):
    from mediamon.dev.sample_news import serve_site

    import_settings, _, _, _ = imported
    monkeypatch.setenv("MEDIAMON_INDEX_PREFIX", import_settings.index_prefix)
    monkeypatch.setenv("MEDIAMON_ALLOW_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("MEDIAMON_HOST_MIN_INTERVAL", "0")
    text = tmp_path / "football.txt"
    text.write_text(
        "Salah hat-trick for Liverpool\nLiverpool beat Leeds; Mohamed Salah scored three.", encoding="utf-8"
    )
    page = (
        "<html><head><title>Karabakh</title></head><body><article><h1>Ceasefire call for Nagorno-Karabakh</h1>"
        "<p>The OSCE Minsk Group co-chairs asked Armenia and Azerbaijan to stop the fighting and return to talks "
        "on Nagorno-Karabakh, as shelling continued for a third day.</p></article></body></html>"
    )
    get_settings.cache_clear()
    try:
        by_text = CliRunner().invoke(app, ["similar", "--text-file", str(text), "--top", "3", "--json"])
        with serve_site({"/karabakh.html": (page.encode(), "text/html; charset=utf-8")}) as base:
            by_url = CliRunner().invoke(app, ["similar", "--url", f"{base}/karabakh.html", "--top", "3", "--json"])
        both = CliRunner().invoke(app, ["similar", "--seed", "belarus-2020-09", "--text-file", str(text)])
    finally:
        get_settings.cache_clear()
    assert by_text.exit_code == 0, by_text.output
    assert json.loads(by_text.stdout)[0]["url"] == "https://archive.example.org/en/4"
    assert by_url.exit_code == 0, by_url.output
    assert json.loads(by_url.stdout)[0]["url"] == "https://archive.example.org/en/2"
    assert both.exit_code == 2 and "exactly one" in both.output  # options that do not go together: usage


def test_syndicated_copies_share_a_dup_group_across_imports(settings, es, tmp_path):
    from mediamon.core.settings import PROJECT_ROOT

    texts = PROJECT_ROOT / "tests" / "fixtures" / "near_dup"
    original = (texts / "march-minsk.txt").read_text(encoding="utf-8")
    other = (texts / "sanctions-brussels.txt").read_text(encoding="utf-8")
    copy = "By our wire correspondent. " + original.replace("Sunday", "Sunday afternoon", 1)
    dup_settings = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}dups-"})
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(
        json.dumps(
            {"url": "https://a.example.org/march", "title": "March", "body": original, "published": "2020-09-06"}
        )
        + "\n"
        + json.dumps({"url": "https://a.example.org/eu", "title": "EU", "body": other, "published": "2020-09-06"}),
        encoding="utf-8",
    )
    second.write_text(
        json.dumps({"url": "https://b.example.org/copy", "title": "Copy", "body": copy, "published": "2020-09-07"}),
        encoding="utf-8",
    )
    assert import_jsonl(dup_settings, first).indexed == 2
    assert import_jsonl(dup_settings, second).indexed == 1
    hits = es.search(index=f"{dup_settings.index_prefix}media-articles", query={"match_all": {}})["hits"]["hits"]
    group = {h["_source"]["url"]: h["_source"]["dup_group"] for h in hits}
    assert group["https://b.example.org/copy"] == group["https://a.example.org/march"]
    assert group["https://a.example.org/eu"] != group["https://a.example.org/march"]


def test_an_undated_import_is_placed_in_time_by_the_landmarks_it_names(settings, es, tmp_path):
    body = "Лукашенко заявил в Минске, что санкции Запада не сломят Беларусь и Россию и их Союзное государство."
    lines = [
        {"url": "https://archive.example.org/ru/speech", "title": "Лукашенко о санкциях", "body": body},
        {
            "url": "https://archive.example.org/ru/speech-later",
            "title": "Лукашенко о санкциях",
            "body": body + " Санкции были введены из-за войны в Украине.",
        },
    ]
    path = tmp_path / "undated.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    undated = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}undated-"})
    assert import_jsonl(undated, path).indexed == 2
    hits = es.search(index=f"{undated.index_prefix}media-articles", query={"match_all": {}})["hits"]["hits"]
    by_url = {h["_source"]["url"]: h["_source"] for h in hits}
    plain, later = by_url[lines[0]["url"]], by_url[lines[1]["url"]]
    assert "published_at" not in plain or plain["published_at"] is None
    assert later["seed_reasons"]["belarus-2020-09"]["landmarks"] == ["russia-invasion-of-ukraine"]
    assert later["seed_reasons"]["belarus-2020-09"]["time"] == 0.0
    assert later["seed_similarity"]["belarus-2020-09"] < plain["seed_similarity"]["belarus-2020-09"]


DATES = {  # published -> (published_at, precision, source, time closeness to the seed of 2020-09-10)
    "2020": ("2020-01-01T00:00:00+00:00", "year", "import", 1.0),  # undated, naming the seed's year
    "2023": ("2023-01-01T00:00:00+00:00", "year", "import", 0.0),  # undated, naming a year long after
    "2020-09": ("2020-09-01T00:00:00+00:00", "month", "import", 1.0),
    # placed mid-month for relevance: 2021-03-15 is 186 days after the seed (the 1st would be 172)
    "2021-03": ("2021-03-01T00:00:00+00:00", "month", "import", pytest.approx(1 - (186 - 60) / 365, abs=1e-3)),
    "2020-09-14": ("2020-09-14T00:00:00+00:00", "day", "import", 1.0),
    "2020-09-14T18:00:00+03:00": ("2020-09-14T15:00:00+00:00", "instant", "import", 1.0),
    "14.09.2020": (None, None, "none", 0.5),  # not a date: imported undated
    "2999-01-01": (None, None, "none", 0.5),  # in the future: not believed
    None: (None, None, "none", 0.5),
}


def test_every_line_is_imported_whatever_its_date_with_precision_and_source(settings, es, tmp_path, caplog):
    body = "Protesters marched in Minsk again on Sunday; Lukashenko's police detained dozens of people."
    lines = [
        {"url": f"https://archive.example.org/dated/{n}", "title": f"March {n}", "body": body}
        | ({"published": published} if published else {})
        for n, published in enumerate(DATES)
    ]
    path = tmp_path / "dates.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    dated = settings.model_copy(update={"index_prefix": f"{settings.index_prefix}dates-"})
    with caplog.at_level("WARNING", logger="mediamon.flows.backfill"), caplog.at_level("WARNING", logger="ingest"):
        report = import_jsonl(dated, path)
    assert (report.read, report.indexed, report.errors) == (len(DATES), len(DATES), [])
    assert report.undated == [
        f"{path}:7: published '14.09.2020' is not a date (ISO 8601 or Unix seconds)",
        f"{path}:8: published '2999-01-01' is in the future",
    ]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"{path}:8: ignored dates in the future (import 2999-01-01T00:00:00+00:00); dated by none",
    ]
    alias = f"{dated.index_prefix}media-articles"
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=20, query={"match_all": {}})["hits"]["hits"]
    by_url = {h["_source"]["url"]: h["_source"] for h in hits}
    for n, (published_at, precision, source, time) in enumerate(DATES.values()):
        doc = by_url[f"https://archive.example.org/dated/{n}"]
        assert (doc["published_at"], doc["published_precision"], doc["published_source"]) == (
            published_at,
            precision,
            source,
        ), n
        assert doc["dated_at"] == (published_at or doc["fetched_at"]), n  # Kibana's time field, undated ones too
        assert doc["seed_reasons"]["belarus-2020-09"]["time"] == time, n
    month_range = {"range": {"published_at": {"gte": "2020-09-01", "lt": "2020-10-01"}}}
    assert es.count(index=alias, query=month_range)["count"] == 3
    assert es.count(index=alias, query={"term": {"published_source": "none"}})["count"] == 3


def test_a_line_in_another_encoding_is_one_bad_line_and_a_byte_order_mark_is_no_bother(settings, es, tmp_path):
    path = tmp_path / "mixed.jsonl"
    line = '{{"url": "https://archive.example.org/enc/{n}", "title": "{title}", "body": "A report from Minsk."}}\n'
    path.write_bytes(
        line.format(n=1, title="Caf\u00e9 in Minsk").encode("latin-1")  # not UTF-8
        + b"\xef\xbb\xbf"  # a byte-order mark, as some editors write
        + line.format(n=2, title="Caf\u00e9 in Minsk").encode("utf-8")
        + line.format(n=3, title="Cafe in Minsk").encode("utf-8")
    )
    prefix = f"{settings.index_prefix}import-encoding-"
    report = import_jsonl(settings.model_copy(update={"index_prefix": prefix}), path)
    assert report.read == 3 and report.indexed == 2
    assert report.errors == [f"{path}:1: not UTF-8 text (invalid continuation byte)"]


def test_ctrl_c_stops_an_import_with_one_line_and_a_second_import_adds_the_rest(settings, es, tmp_path):
    import os
    import signal
    import subprocess

    from mediamon.dev.faults import cli_command, wait_until

    lines = 3000
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(
            json.dumps({"url": f"https://archive.example.org/many/{n}", "title": f"Report {n}", "body": f"Item {n}."})
            + "\n"
            for n in range(lines)
        )
    )
    prefix = f"{settings.index_prefix}import-stopped-"
    env = os.environ | {"MEDIAMON_INDEX_PREFIX": prefix, "MEDIAMON_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "import.log"
    command = cli_command("-v", "import", str(path))
    with log.open("ab") as output:
        run = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    assert wait_until(lambda: "lines read" in log.read_text(encoding="utf-8"), 300), log.read_text()
    os.killpg(run.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    assert run.wait(timeout=120) == 130, log.read_text(encoding="utf-8")
    said = log.read_text(encoding="utf-8")
    assert "Traceback" not in said
    assert said.strip().splitlines()[-1].startswith("interrupted: the import stopped; the articles indexed so far stay")
    again = import_jsonl(settings.model_copy(update={"index_prefix": prefix}), path)
    assert 0 < again.duplicates < lines and again.indexed + again.duplicates == lines  # the rest, once
    es.indices.refresh(index=f"{prefix}media-articles")
    assert es.count(index=f"{prefix}media-articles")["count"] == lines
