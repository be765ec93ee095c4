"""Kibana saved objects for analysts (data views, saved searches, Lens charts, a dashboard): built here from our
mappings for an index prefix, written as the NDJSON Kibana imports, and imported over HTTP. The shipped file
(`search/kibana/saved_objects.ndjson`) holds them for unprefixed indices.

Ids are stable and readable (`mediamon-…`), so a re-import with `overwrite=true` updates the objects in place.
Built for an index prefix (`prod-`), every id starts with it (`prod-mediamon-articles`) and every title or name
ends with it in brackets, so the objects of several prefixes live side by side in one Kibana.
"""

from __future__ import annotations

import fnmatch
import json
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from mediamon.core.errors import MediamonError, UsageError
from mediamon.core.tls import ca_file_problem
from search.index_versions import ARTICLES, FEEDS, MAPPINGS_DIR

SAVED_OBJECTS_PATH = Path(__file__).parent / "saved_objects.ndjson"
SEED = "belarus-2020-09"

# Stable ids.
ARTICLES_VIEW = "mediamon-articles"
FEEDS_VIEW = "mediamon-feeds"
BELARUS_SEARCH = "mediamon-search-belarus-coverage"
SEED_SEARCH = f"mediamon-search-seed-{SEED}"
TOPIC_CHART = "mediamon-lens-coverage-by-topic"
LANGUAGE_CHART = "mediamon-lens-coverage-by-language"
OUTLET_CHART = "mediamon-lens-coverage-by-outlet"
FEED_HEALTH_CHART = "mediamon-lens-feed-health"
DASHBOARD = "mediamon-dashboard-coverage"

# The object format versions the objects are written in; Kibana 9 migrates them forward on import.
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSIONS = {
    "index-pattern": "8.0.0",
    "search": "8.0.0",  # the single-tab saved search; Kibana 9.1+ turns it into a Discover session with one tab
    "lens": "8.9.0",
    "dashboard": "10.1.0",
}
RECORDS = "___records___"  # Lens's pseudo-field for "count of documents"
LAYER = "articles"


def _json(value: object) -> str:
    """JSON inside an attribute (Kibana stores some attributes as JSON strings)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _mapping(name: str) -> dict:
    return json.loads((MAPPINGS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def field_exists(mapping: dict, name: str) -> bool:
    """Whether `name` (dotted) is a field of `mapping`: a property, a multi-field, or a dynamic template's path."""
    templates = [rule for template in mapping.get("dynamic_templates", []) for rule in template.values()]
    if any(fnmatch.fnmatchcase(name, rule["path_match"]) for rule in templates if "path_match" in rule):
        return True
    properties = mapping.get("properties", {})
    *parents, leaf = name.split(".")
    for part in parents:
        prop = properties.get(part, {})
        properties = prop.get("properties") or prop.get("fields") or {}
    return leaf in properties


class _Fields:
    """Field names checked against one mapping at build time, so a renamed field fails the export."""

    def __init__(self, mapping: dict) -> None:
        self._mapping = mapping

    def __call__(self, name: str) -> str:
        if not field_exists(self._mapping, name):
            raise KeyError(f"field {name!r} is not in the mapping")
        return name


def _object(type_: str, id_: str, attributes: dict, references: Iterable[dict] = ()) -> dict:
    return {
        "type": type_,
        "id": id_,
        "attributes": attributes,
        "references": list(references),
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[type_],
        "managed": False,
    }


def _ref(type_: str, id_: str, name: str) -> dict:
    return {"type": type_, "id": id_, "name": name}


def _data_view(id_: str, title: str, name: str, time_field: str | None, formats: dict) -> dict:
    attributes = {
        "title": title,
        "name": name,
        "fieldFormatMap": _json(formats),
        "fieldAttrs": "{}",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
        "fields": "[]",
        "allowHidden": False,
    }
    if time_field:
        attributes["timeFieldName"] = time_field
    return _object("index-pattern", id_, attributes)


def _saved_search(id_: str, title: str, description: str, kql: str, columns: list[str], sort: list) -> dict:
    source = {
        "query": {"query": kql, "language": "kuery"},
        "filter": [],
        "highlightAll": True,
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    attributes = {
        "title": title,
        "description": description,
        "columns": columns,
        "sort": sort,
        "grid": {},
        "hideChart": False,
        "isTextBasedQuery": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _json(source)},
    }
    refs = [_ref("index-pattern", ARTICLES_VIEW, "kibanaSavedObjectMeta.searchSourceJSON.index")]
    return _object("search", id_, attributes, refs)


def _count_column() -> dict:
    return {
        "label": "Articles",
        "customLabel": True,
        "dataType": "number",
        "operationType": "count",
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": RECORDS,
        "params": {"emptyAsNull": True},
    }


def _terms_column(field: str, size: int, label: str) -> dict:
    return {
        "label": label,
        "customLabel": True,
        "dataType": "string",
        "operationType": "terms",
        "isBucketed": True,
        "scale": "ordinal",
        "sourceField": field,
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": "count"},
            "orderDirection": "desc",
            "otherBucket": True,
            "missingBucket": False,
            "parentFormat": {"id": "terms"},
        },
    }


def _lens(id_: str, title: str, view: str, vis_type: str, columns: dict, visualization: dict) -> dict:
    state = {
        "datasourceStates": {
            "formBased": {
                "layers": {LAYER: {"columns": columns, "columnOrder": list(columns), "incompleteColumns": {}}}
            }
        },
        "visualization": visualization,
        "query": {"query": "", "language": "kuery"},
        "filters": [],
        "internalReferences": [],
        "adHocDataViews": {},
    }
    attributes = {"title": title, "description": "", "visualizationType": vis_type, "state": state}
    return _object("lens", id_, attributes, [_ref("index-pattern", view, f"indexpattern-datasource-layer-{LAYER}")])


def _coverage_chart(id_: str, title: str, time_field: str, split_field: str, label: str, size: int) -> dict:
    """Stacked bars: articles per time bucket, split by the top values of one field."""
    columns = {
        "split": _terms_column(split_field, size, label),
        "time": {
            "label": "Published (undated: fetched)",
            "customLabel": True,
            "dataType": "date",
            "operationType": "date_histogram",
            "isBucketed": True,
            "scale": "interval",
            "sourceField": time_field,
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
        },
        "count": _count_column(),
    }
    visualization = {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "preferredSeriesType": "bar_stacked",
        "layers": [
            {
                "layerId": LAYER,
                "layerType": "data",
                "seriesType": "bar_stacked",
                "xAccessor": "time",
                "accessors": ["count"],
                "splitAccessor": "split",
            }
        ],
    }
    return _lens(id_, title, ARTICLES_VIEW, "lnsXY", columns, visualization)


def _feed_health_chart(status_field: str) -> dict:
    """A donut of feeds by the status of their last poll."""
    columns = {"status": _terms_column(status_field, 20, "Last poll"), "count": _count_column() | {"label": "Feeds"}}
    visualization = {
        "shape": "donut",
        "layers": [
            {
                "layerId": LAYER,
                "layerType": "data",
                "primaryGroups": ["status"],
                "metrics": ["count"],
                "numberDisplay": "value",
                "categoryDisplay": "default",
                "legendDisplay": "show",
                "nestedLegend": False,
            }
        ],
    }
    return _lens(FEED_HEALTH_CHART, "Feed health by status", FEEDS_VIEW, "lnsPie", columns, visualization)


def _dashboard(panels: list[tuple[str, str, str, dict]]) -> dict:
    """The dashboard; `panels` are (panel id, saved object type, saved object id, grid position)."""
    panels_json = [
        {
            "version": "8.8.0",
            "type": type_,
            "gridData": grid | {"i": panel},
            "panelIndex": panel,
            "embeddableConfig": {"enhancements": {}},
            "panelRefName": f"panel_{panel}",
        }
        for panel, type_, _, grid in panels
    ]
    attributes = {
        "title": "mediamon: coverage",
        "description": "Coverage over time by topic, language and outlet; the best matches for the seed story "
        f"{SEED}; the health of the feeds.",
        "panelsJSON": _json(panels_json),
        "optionsJSON": _json({"useMargins": True, "syncColors": False, "hidePanelTitles": False}),
        "timeRestore": True,
        "timeFrom": "now-30d",
        "timeTo": "now",
        "refreshInterval": {"pause": True, "value": 60000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": _json({"query": {"query": "", "language": "kuery"}})},
        "version": 1,
    }
    refs = [_ref(type_, id_, f"{panel}:panel_{panel}") for panel, type_, id_, _ in panels]
    return _object("dashboard", DASHBOARD, attributes, refs)


def _for_prefix(obj: dict, prefix: str) -> dict:
    """`obj` for the indices of `prefix`: its id and those it refers to start with the prefix, its label ends with
    it (a data view's `name`, its `title` being the index pattern; any other object's `title`)."""
    if not prefix:
        return obj
    label = "name" if obj["type"] == "index-pattern" else "title"
    return obj | {
        "id": prefix + obj["id"],
        "references": [ref | {"id": prefix + ref["id"]} for ref in obj["references"]],
        "attributes": obj["attributes"] | {label: f"{obj['attributes'][label]} [{prefix}]"},
    }


def saved_objects(index_prefix: str = "") -> list[dict]:
    """Every saved object for the indices of `index_prefix`, referenced objects before those that use them."""
    return [_for_prefix(obj, index_prefix) for obj in _objects(index_prefix)]


def _objects(index_prefix: str) -> list[dict]:
    """Every saved object with our own ids and titles, the data views on `index_prefix` indices."""
    art = _Fields(_mapping("articles"))
    feed = _Fields(_mapping("feeds"))
    url_format = {"id": "url", "params": {"type": "a", "urlTemplate": None, "labelTemplate": None}}
    seed_score = art(f"seed_similarity.{SEED}")
    return [
        _data_view(ARTICLES_VIEW, index_prefix + ARTICLES, "Articles", art("dated_at"), {art("url"): url_format}),
        _data_view(FEEDS_VIEW, index_prefix + FEEDS, "Feeds", None, {feed("feed_url"): url_format}),
        _saved_search(
            BELARUS_SEARCH,
            "Belarus coverage",
            "Articles tagged with the topic belarus, newest first.",
            f'{art("topics")} : "belarus"',
            [art("title"), art("outlet"), art("language"), art("topics"), art("url")],
            [[art("published_at"), "desc"]],
        ),
        _saved_search(
            SEED_SEARCH,
            f"Matches for seed {SEED}",
            f"Articles matching the seed story {SEED}, most similar first.",
            f'{art("matched_seeds")} : "{SEED}"',
            [art("title"), art("outlet"), art("language"), seed_score, art("url")],
            [[seed_score, "desc"]],
        ),
        _coverage_chart(TOPIC_CHART, "Coverage by topic", art("dated_at"), art("topics"), "Topic", 10),
        _coverage_chart(LANGUAGE_CHART, "Coverage by language", art("dated_at"), art("language"), "Language", 10),
        _coverage_chart(OUTLET_CHART, "Coverage by outlet", art("dated_at"), art("outlet"), "Outlet", 15),
        _feed_health_chart(feed("status")),
        _dashboard(
            [
                ("topic", "lens", TOPIC_CHART, {"x": 0, "y": 0, "w": 24, "h": 15}),
                ("language", "lens", LANGUAGE_CHART, {"x": 24, "y": 0, "w": 24, "h": 15}),
                ("outlet", "lens", OUTLET_CHART, {"x": 0, "y": 15, "w": 32, "h": 15}),
                ("feeds", "lens", FEED_HEALTH_CHART, {"x": 32, "y": 15, "w": 16, "h": 15}),
                ("matches", "search", SEED_SEARCH, {"x": 0, "y": 30, "w": 48, "h": 20}),
            ]
        ),
    ]


def to_ndjson(objects: Iterable[dict]) -> str:
    """One JSON object per line, keys sorted (stable diffs)."""
    return "".join(_json(obj) + "\n" for obj in objects)


def ndjson_path(path: Path) -> Path:
    """`path` if it names an NDJSON file, the only kind Kibana imports; UsageError otherwise."""
    if path.suffix != ".ndjson":
        raise UsageError(f"{path}: Kibana imports only files named *.ndjson; give a name ending in .ndjson")
    return path


def export_saved_objects(path: Path = SAVED_OBJECTS_PATH, index_prefix: str = "") -> int:
    """Write the saved objects for `index_prefix` as NDJSON to `path` (its folders made); returns how many.

    UsageError, with nothing written, for a path not named *.ndjson, one that cannot be written, or the shipped
    file with a prefix (it stays the file of unprefixed indices).
    """
    if index_prefix and path.resolve() == SAVED_OBJECTS_PATH.resolve():
        raise UsageError(
            f"{path} holds the objects of unprefixed indices: with the index prefix {index_prefix!r}, "
            "write them to another file or to standard output"
        )
    objects = saved_objects(index_prefix)
    ndjson_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_ndjson(objects), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(objects)


class KibanaImportError(MediamonError):
    """Kibana could not be reached, refused the request, or rejected some objects; the message says which."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What Kibana imported."""

    success_count: int
    objects: list[str]  # "type/id" of each imported object


def _upload(path: Path | None, index_prefix: str) -> tuple[str, bytes]:
    """The file name and NDJSON to post: the file at `path`, else the objects built for `index_prefix`."""
    if path is None:
        return SAVED_OBJECTS_PATH.name, to_ndjson(saved_objects(index_prefix)).encode()
    try:
        return path.name, ndjson_path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _tls_context(ca_cert: Path) -> ssl.SSLContext:
    """A TLS context trusting the CA file `ca_cert`; UsageError naming it when TLS cannot trust it."""
    problem = ca_file_problem(ca_cert)
    if problem:
        raise UsageError(f"--ca-cert {ca_cert} cannot be used ({problem}): give the CA file of Kibana's certificate")
    return ssl.create_default_context(cafile=str(ca_cert))


def import_saved_objects(
    url: str,
    path: Path | None = None,
    *,
    index_prefix: str = "",
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    space: str | None = None,
    ca_cert: Path | None = None,
    timeout: float = 60.0,
) -> ImportResult:
    """POST the NDJSON file at `path` (default: the objects built for `index_prefix`) to Kibana's
    `_import?overwrite=true` (multipart, `kbn-xsrf` header).

    A `path` not named *.ndjson, or unreadable, raises UsageError before anything is sent. Auth is an API key
    (`Authorization: ApiKey …`) or basic auth; `space` imports into that Kibana space.
    Raises KibanaImportError when Kibana is unreachable, answers an error, or reports failed objects.
    """
    name, content = _upload(path, index_prefix)
    endpoint = url.rstrip("/") + (f"/s/{quote(space, safe='')}" if space else "") + "/api/saved_objects/_import"
    headers = {"kbn-xsrf": "true"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    auth = (username, password) if username and password is not None and not api_key else None
    verify = _tls_context(ca_cert) if ca_cert else True
    try:
        response = httpx.post(
            endpoint,
            params={"overwrite": "true"},
            headers=headers,
            auth=auth,
            files={"file": (name, content, "application/ndjson")},
            timeout=timeout,
            verify=verify,
        )
    except httpx.HTTPError as exc:
        raise KibanaImportError(f"Kibana at {url} is unreachable ({exc.__class__.__name__}: {exc})") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if response.status_code != 200:
        reason = body.get("message") or response.text[:300]
        raise KibanaImportError(f"Kibana at {url} answered {response.status_code}: {reason}")
    if not body.get("success"):
        failures = [
            f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type', 'error')}"
            + (f" {e['error']['message']}" if e.get("error", {}).get("message") else "")
            for e in body.get("errors", [])
        ]
        raise KibanaImportError(f"Kibana rejected {len(failures)} object(s): " + "; ".join(failures))
    imported = [f"{r.get('type')}/{r.get('id')}" for r in body.get("successResults", [])]
    return ImportResult(success_count=int(body.get("successCount", len(imported))), objects=imported)
