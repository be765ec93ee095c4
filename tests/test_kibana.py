"""The Kibana saved objects: the file matches what the code builds, references resolve, fields exist in our
mappings, data views point at our aliases (the index prefix's, with ids of its own); the import posts the file the
way Kibana's API wants it; bad paths are one line, exit 2, and the shipped file is never overwritten."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from mediamon.core.errors import UsageError
from search.index_versions import ARTICLES, FEEDS, MAPPINGS_DIR
from search.kibana.objects import (
    ARTICLES_VIEW,
    DASHBOARD,
    FEEDS_VIEW,
    SAVED_OBJECTS_PATH,
    SEED_SEARCH,
    KibanaImportError,
    export_saved_objects,
    field_exists,
    import_saved_objects,
    saved_objects,
    to_ndjson,
)

MAPPINGS = {
    ARTICLES_VIEW: json.loads((MAPPINGS_DIR / "articles.json").read_text()),
    FEEDS_VIEW: json.loads((MAPPINGS_DIR / "feeds.json").read_text()),
}
KQL_FIELD = re.compile(r"([A-Za-z_][\w.\-]*)\s*:")


def load(path: Path = SAVED_OBJECTS_PATH) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


OBJECTS = load()
BY_KEY = {(obj["type"], obj["id"]): obj for obj in OBJECTS}


def of_type(type_: str) -> list[dict]:
    return [obj for obj in OBJECTS if obj["type"] == type_]


def data_view_of(obj: dict) -> str:
    (view,) = {ref["id"] for ref in obj["references"] if ref["type"] == "index-pattern"}
    return view


def test_file_is_what_the_code_builds() -> None:
    assert SAVED_OBJECTS_PATH.read_text(encoding="utf-8") == to_ndjson(saved_objects()), (
        "search/kibana/saved_objects.ndjson is stale: run "
        "`MEDIAMON_INDEX_PREFIX= mediamon kibana export search/kibana/saved_objects.ndjson`"
    )


def test_objects_are_well_formed_with_unique_readable_ids() -> None:
    assert len(BY_KEY) == len(OBJECTS) == 9
    assert {obj["type"] for obj in OBJECTS} == {"index-pattern", "search", "lens", "dashboard"}
    for obj in OBJECTS:
        assert re.fullmatch(r"mediamon-[a-z0-9-]+", obj["id"]), obj["id"]
        assert obj["coreMigrationVersion"] and obj["typeMigrationVersion"]
        assert obj["attributes"]["title"]


def test_every_reference_resolves_to_an_earlier_object() -> None:
    seen: set[tuple[str, str]] = set()
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in seen, f"{obj['id']} refers to missing {ref}"
        seen.add((obj["type"], obj["id"]))


def test_named_references_are_where_kibana_looks_for_them() -> None:
    for obj in of_type("search"):
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["indexRefName"] in {ref["name"] for ref in obj["references"]}
    for obj in of_type("lens"):
        layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
        names = {ref["name"] for ref in obj["references"]}
        assert {f"indexpattern-datasource-layer-{layer}" for layer in layers} == names
    (dashboard,) = of_type("dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    names = {ref["name"]: ref for ref in dashboard["references"]}
    assert len(names) == len(panels) == 5
    for panel in panels:
        ref = names[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert ref["type"] == panel["type"] and panel["gridData"]["i"] == panel["panelIndex"]


def _fields_used(obj: dict) -> set[str]:
    attrs = obj["attributes"]
    used: set[str] = set()
    if obj["type"] == "index-pattern":
        used |= set(json.loads(attrs["fieldFormatMap"]))
        used |= {attrs["timeFieldName"]} if "timeFieldName" in attrs else set()
    elif obj["type"] == "search":
        used |= set(attrs["columns"]) | {field for field, _ in attrs["sort"]}
        query = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
        used |= set(KQL_FIELD.findall(query))
    elif obj["type"] == "lens":
        for layer in obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
            used |= {col["sourceField"] for col in layer["columns"].values()} - {"___records___"}
        used |= set(KQL_FIELD.findall(obj["attributes"]["state"]["query"]["query"]))
    return used


def test_every_field_used_is_in_our_mappings() -> None:
    used: dict[str, set[str]] = {ARTICLES_VIEW: set(), FEEDS_VIEW: set()}
    for obj in OBJECTS:
        if obj["type"] == "dashboard":
            continue
        view = obj["id"] if obj["type"] == "index-pattern" else data_view_of(obj)
        for field in _fields_used(obj):
            assert field_exists(MAPPINGS[view], field), f"{obj['id']} uses {field}, not in the {view} mapping"
            used[view].add(field)
    assert used == {
        ARTICLES_VIEW: {"dated_at", "published_at", "url", "title", "outlet", "language", "topics", "matched_seeds"}
        | {"seed_similarity.belarus-2020-09"},
        FEEDS_VIEW: {"feed_url", "status"},
    }


def test_field_exists_follows_multi_fields_and_dynamic_templates() -> None:
    articles = MAPPINGS[ARTICLES_VIEW]
    assert field_exists(articles, "title.raw") and field_exists(articles, "seed_similarity.belarus-2020-09")
    assert not field_exists(articles, "title.keyword") and not field_exists(articles, "status")
    assert field_exists(MAPPINGS[FEEDS_VIEW], "status") and not field_exists(MAPPINGS[FEEDS_VIEW], "published_at")


def test_data_views_match_our_aliases() -> None:
    views = {obj["id"]: obj["attributes"] for obj in of_type("index-pattern")}
    assert views[ARTICLES_VIEW]["title"] == ARTICLES == "media-articles"
    assert views[ARTICLES_VIEW]["timeFieldName"] == "dated_at"  # undated articles carry it too (test_dates.py)
    assert json.loads(views[ARTICLES_VIEW]["fieldFormatMap"])["url"]["id"] == "url"
    assert views[FEEDS_VIEW]["title"] == FEEDS == "mediamon-feeds"


def test_saved_searches() -> None:
    searches = {obj["attributes"]["title"]: obj["attributes"] for obj in of_type("search")}
    belarus = searches["Belarus coverage"]
    assert json.loads(belarus["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"] == {
        "query": 'topics : "belarus"',
        "language": "kuery",
    }
    seed = searches["Matches for seed belarus-2020-09"]
    assert seed["sort"] == [["seed_similarity.belarus-2020-09", "desc"]]
    assert "matched_seeds" in json.loads(seed["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]


def test_dashboard_shows_coverage_matches_and_feed_health() -> None:
    dashboard = BY_KEY[("dashboard", DASHBOARD)]
    panels = [BY_KEY[(ref["type"], ref["id"])] for ref in dashboard["references"]]
    splits: dict[tuple[str, str], set[str]] = {}
    for lens in (p for p in panels if p["type"] == "lens"):
        layer = lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["articles"]
        key = (lens["attributes"]["visualizationType"], data_view_of(lens))
        splits.setdefault(key, set()).update(c["sourceField"] for c in layer["columns"].values() if c["isBucketed"])
    assert splits[("lnsXY", ARTICLES_VIEW)] == {"dated_at", "topics", "language", "outlet"}
    assert splits[("lnsPie", FEEDS_VIEW)] == {"status"}
    assert ("search", SEED_SEARCH) in {(p["type"], p["id"]) for p in panels}


def test_export_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "objects.ndjson"
    assert export_saved_objects(target, "demo-") == 9
    assert {o["attributes"]["title"] for o in load(target) if o["type"] == "index-pattern"} == {
        "demo-media-articles",
        "demo-mediamon-feeds",
    }


class _Kibana:
    """A local stand-in for Kibana's import endpoint: records each request and answers a set reply."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.reply: dict = {}
        kibana = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                kibana.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                )
                payload = json.dumps(kibana.reply).encode()
                self.send_response(kibana.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def succeed(self) -> None:
        self.status = 200
        results = [{"type": o["type"], "id": o["id"]} for o in OBJECTS]
        self.reply = {"success": True, "successCount": len(results), "successResults": results}


@pytest.fixture
def kibana() -> Iterator[_Kibana]:
    stub = _Kibana()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def _multipart(request: dict) -> list:
    content_type = request["headers"]["Content-Type"]
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + request["body"])
    assert message.is_multipart()
    return list(message.iter_parts())


def test_import_posts_the_file_as_kibana_expects(kibana: _Kibana) -> None:
    kibana.succeed()
    result = import_saved_objects(kibana.url, SAVED_OBJECTS_PATH)
    assert result.success_count == 9 and f"dashboard/{DASHBOARD}" in result.objects
    (request,) = kibana.requests
    url = urlsplit(request["path"])
    assert request["method"] == "POST" and url.path == "/api/saved_objects/_import"
    assert parse_qs(url.query) == {"overwrite": ["true"]}
    assert request["headers"]["kbn-xsrf"]
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert "Authorization" not in request["headers"]
    (part,) = _multipart(request)
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "saved_objects.ndjson"
    assert part.get_payload(decode=True) == SAVED_OBJECTS_PATH.read_bytes()


def test_import_into_a_space_with_an_api_key(kibana: _Kibana) -> None:
    kibana.succeed()
    import_saved_objects(kibana.url + "/", SAVED_OBJECTS_PATH, api_key="abc==", space="analysts")
    (request,) = kibana.requests
    assert urlsplit(request["path"]).path == "/s/analysts/api/saved_objects/_import"
    assert request["headers"]["Authorization"] == "ApiKey abc=="


def test_import_with_basic_auth(kibana: _Kibana) -> None:
    kibana.succeed()
    import_saved_objects(kibana.url, SAVED_OBJECTS_PATH, username="elastic", password="s3cret")
    expected = base64.b64encode(b"elastic:s3cret").decode()
    assert kibana.requests[0]["headers"]["Authorization"] == f"Basic {expected}"


def test_import_reports_rejected_objects(kibana: _Kibana) -> None:
    kibana.reply = {
        "success": False,
        "successCount": 8,
        "errors": [{"type": "lens", "id": "mediamon-lens-feed-health", "error": {"type": "missing_references"}}],
    }
    with pytest.raises(KibanaImportError, match=r"rejected 1 object\(s\): lens/mediamon-lens-feed-health"):
        import_saved_objects(kibana.url, SAVED_OBJECTS_PATH)


def test_import_reports_http_errors(kibana: _Kibana) -> None:
    kibana.status = 401
    kibana.reply = {"statusCode": 401, "error": "Unauthorized", "message": "missing authentication credentials"}
    with pytest.raises(KibanaImportError, match="answered 401: missing authentication credentials"):
        import_saved_objects(kibana.url, SAVED_OBJECTS_PATH)


def test_import_reports_an_unreachable_kibana(kibana: _Kibana) -> None:
    url = kibana.url
    kibana.server.shutdown()
    kibana.server.server_close()
    with pytest.raises(KibanaImportError, match="unreachable"):
        import_saved_objects(url, SAVED_OBJECTS_PATH, timeout=5)


def test_import_needs_an_ndjson_file(tmp_path: Path) -> None:
    path = tmp_path / "objects.json"
    path.write_text("{}\n")
    with pytest.raises(UsageError, match=r"\*\.ndjson"):
        import_saved_objects("http://127.0.0.1:9", path)


def test_cli_export_and_import(kibana: _Kibana, tmp_path: Path, cli_settings) -> None:
    from mediamon import cli

    cli_settings(index_prefix="")
    app = cli.app
    runner = CliRunner()
    target = tmp_path / "k.ndjson"
    result = runner.invoke(app, ["kibana", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == SAVED_OBJECTS_PATH.read_text()  # the test session has no index prefix
    kibana.succeed()
    result = runner.invoke(app, ["kibana", "import", "--url", kibana.url, "--file", str(target)])
    assert result.exit_code == 0, result.output
    assert "9" in result.output
    assert _multipart(kibana.requests[0])[0].get_payload(decode=True) == target.read_bytes()
    kibana.status, kibana.reply = 403, {"message": "forbidden"}
    result = runner.invoke(app, ["kibana", "import", "--url", kibana.url])
    assert result.exit_code == 1 and "answered 403: forbidden" in result.output


def test_objects_for_a_prefix_have_ids_and_labels_of_their_own() -> None:
    plain, prod = saved_objects(), saved_objects("prod-")
    assert plain == OBJECTS  # no prefix: the shipped objects, ids and titles unchanged
    ids = [obj["id"] for obj in prod]
    assert ids == ["prod-" + obj["id"] for obj in plain] and not set(ids) & {obj["id"] for obj in plain}
    seen: set[tuple[str, str]] = set()
    for obj in prod:
        assert all((ref["type"], ref["id"]) in seen for ref in obj["references"]), obj["id"]
        seen.add((obj["type"], obj["id"]))
        label = obj["attributes"]["name" if obj["type"] == "index-pattern" else "title"]
        assert label.endswith(" [prod-]"), label
    views = {o["id"]: o["attributes"]["title"] for o in prod if o["type"] == "index-pattern"}
    assert views == {"prod-" + ARTICLES_VIEW: "prod-media-articles", "prod-" + FEEDS_VIEW: "prod-mediamon-feeds"}


def test_cli_import_builds_the_objects_for_the_index_prefix(kibana: _Kibana, cli_settings) -> None:
    from mediamon import cli

    cli_settings(index_prefix="prod-")
    shipped = SAVED_OBJECTS_PATH.read_bytes()
    kibana.succeed()
    result = CliRunner().invoke(cli.app, ["kibana", "import", "--url", kibana.url])
    assert result.exit_code == 0, result.output
    posted = _multipart(kibana.requests[0])[0].get_payload(decode=True)
    assert posted == to_ndjson(saved_objects("prod-")).encode()
    views = {o["attributes"]["title"] for o in map(json.loads, posted.splitlines()) if o["type"] == "index-pattern"}
    assert views == {"prod-media-articles", "prod-mediamon-feeds"}
    assert SAVED_OBJECTS_PATH.read_bytes() == shipped


def test_cli_export_without_a_path_writes_standard_output(cli_settings) -> None:
    from mediamon import cli

    cli_settings(index_prefix="prod-")
    shipped = SAVED_OBJECTS_PATH.read_bytes()
    result = CliRunner().invoke(cli.app, ["kibana", "export"])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_ndjson(saved_objects("prod-"))
    assert SAVED_OBJECTS_PATH.read_bytes() == shipped


def _one_line(result) -> str:
    (line,) = result.output.splitlines()
    return line


def test_cli_export_refuses_a_path_it_cannot_use_and_writes_nothing(tmp_path: Path, cli_settings) -> None:
    from mediamon import cli

    cli_settings(index_prefix="prod-")
    shipped = SAVED_OBJECTS_PATH.read_bytes()
    runner = CliRunner()
    result = runner.invoke(cli.app, ["kibana", "export", str(SAVED_OBJECTS_PATH)])
    assert result.exit_code == 2 and _one_line(result) == (
        f"error: {SAVED_OBJECTS_PATH} holds the objects of unprefixed indices: with the index prefix 'prod-', "
        "write them to another file or to standard output"
    )
    assert SAVED_OBJECTS_PATH.read_bytes() == shipped
    result = runner.invoke(cli.app, ["kibana", "export", str(tmp_path / "objects.json")])
    assert result.exit_code == 2 and _one_line(result) == (
        f"error: {tmp_path / 'objects.json'}: Kibana imports only files named *.ndjson; give a name ending in .ndjson"
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(cli.app, ["kibana", "export", str(blocker / "objects.ndjson")])
    assert result.exit_code == 2 and _one_line(result).startswith(f"error: cannot write {blocker / 'objects.ndjson'}: ")
    result = runner.invoke(cli.app, ["kibana", "export", str(tmp_path)])
    assert result.exit_code == 2 and "Invalid value for 'path'" in result.output  # typer's check: a directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cli_import_refuses_a_file_not_named_ndjson_before_calling_kibana(
    kibana: _Kibana, tmp_path: Path, cli_settings
) -> None:
    from mediamon import cli

    cli_settings(index_prefix="")
    path = tmp_path / "objects.bin"
    path.write_bytes(SAVED_OBJECTS_PATH.read_bytes())
    result = CliRunner().invoke(cli.app, ["kibana", "import", "--url", kibana.url, "--file", str(path)])
    assert result.exit_code == 2
    assert (
        _one_line(result) == f"error: {path}: Kibana imports only files named *.ndjson; give a name ending in .ndjson"
    )
    assert kibana.requests == []


def test_cli_import_with_a_ca_file_that_is_no_certificate_is_one_line(kibana: _Kibana, tmp_path: Path, cli_settings):
    from mediamon import cli

    cli_settings(index_prefix="")
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["kibana", "import", "--url", kibana.url, "--ca-cert", str(ca)])
    assert result.exit_code == 2
    assert _one_line(result) == (
        f"error: --ca-cert {ca} cannot be used (no certificate in PEM form in it): give the CA file of Kibana's"
        " certificate"
    )
    assert kibana.requests == []
