"""The OpenAPI description: valid, complete, generated from the running app."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from service.errors import KINDS, PROBLEM_TYPE

WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _resolve(spec, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield path, method, op


def test_passes_openapi_spec_validator(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_api_route_is_described_with_its_methods(app, spec):
    missing = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/v1") or rule.rule in ("/healthz", "/readyz")):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing


def test_bearer_security_scheme_and_write_errors(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, method, op in _operations(spec):
        if method in WRITE_METHODS:
            assert op.get("security") == [{"bearerAuth": []}], (method, path)
            for status in ("401", "403", "429"):
                assert status in op["responses"], (method, path, status)
            headers = _resolve(spec, op["responses"]["429"])["headers"]
            assert headers["Retry-After"]["required"] is True
            assert "WWW-Authenticate" in _resolve(spec, op["responses"]["401"])["headers"]
        if "requestBody" in op:
            for status in ("400", "413", "415", "422"):
                assert status in op["responses"], (method, path, status)
        if method in ("put", "patch", "delete"):
            assert "412" in op["responses"], (method, path)
            assert any(p.get("name") == "If-Match" for p in op["parameters"])
        if method == "get":
            assert "304" in op["responses"]
            assert any(p.get("name") == "If-None-Match" for p in op["parameters"])


def test_every_error_is_a_problem(spec):
    assert "Problem" in spec["components"]["schemas"]
    kinds_by_status = {}
    for kind, (status, _t, _m) in KINDS.items():
        kinds_by_status.setdefault(status, set()).add(f"/problems/{kind}")
    for path, method, op in _operations(spec):
        assert "default" not in op["responses"]
        for status, response in op["responses"].items():
            response = _resolve(spec, response)
            if int(status) < 400:
                continue
            assert list(response["content"]) == [PROBLEM_TYPE], (method, path, status)
            schema = response["content"][PROBLEM_TYPE]["schema"]
            assert {"$ref": "#/components/schemas/Problem"} in schema["allOf"]
            types = set(schema["allOf"][1]["properties"]["type"]["enum"])
            assert types <= kinds_by_status[int(status)], (method, path, status)


def test_reserved_ids_are_405_and_formats_are_described(spec):
    item = spec["paths"]["/api/v1/events/{event_id}"]
    for method in ("get", "put", "patch", "delete"):
        assert "405" in item[method]["responses"]
    for path in ("/api/v1/events", "/api/v1/timelines/{slug}/events"):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert {
            "application/json",
            "application/x-ndjson",
            "text/csv",
            "application/geo+json",
            "text/calendar",
        } <= set(content)
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]


def test_parameters_and_bodies_come_from_the_schemas(spec):
    params = {p["name"] for p in spec["paths"]["/api/v1/events"]["get"]["parameters"]}
    assert {
        "from",
        "to",
        "match",
        "q",
        "tag",
        "actor",
        "country",
        "timeline",
        "precision",
        "min_importance",
        "bbox",
        "sort",
        "limit",
        "cursor",
        "count",
        "format",
    } <= params
    event = spec["components"]["schemas"]["Event"]
    assert set(event["required"]) == {"date", "title"}
    assert event["properties"]["importance"]["maximum"] == 5
    body = spec["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Event"}


def test_problem_types_are_described(spec):
    description = spec["info"]["description"]
    for kind, (_status, title, _m) in KINDS.items():
        assert f"/problems/{kind}" in description
        assert title in description


def test_docs_page_is_served_from_the_package(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'src="/static/vendor/redoc/redoc.standalone.js"' in html
    assert 'data-spec-url="/openapi.json"' in html
    assert "https://" not in html and "http://" not in html  # nothing from a CDN
    bundle = client.get("/static/vendor/redoc/redoc.standalone.js")
    assert bundle.status_code == 200 and b"cdn.redoc.ly" not in bundle.data
    for kind in KINDS:  # the problem types, also without JavaScript
        assert f"/problems/{kind}" in html


def test_every_problem_type_uri_resolves(client):
    listing = client.get("/problems").get_data(as_text=True)
    for kind, (status, title, _meaning) in KINDS.items():
        assert f'id="{kind}"' in listing and title in listing
        page = client.get(f"/problems/{kind}")
        assert page.status_code == 200 and page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert title in text and f"/problems/{kind}" in text and str(status) in text
    missing = client.get("/problems/no-such-kind")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM_TYPE


def test_problem_bodies_name_documented_types(client):
    problem = client.get("/api/v1/events?limit=0").get_json()
    assert client.get(problem["type"]).status_code == 200
