"""HTTP hygiene: security headers, frame policy, CORS, gzip, ETag/304, request ids, access
logs, size limits and the per-token write rate limit (shared by every worker)."""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import pytest
from factories import bearer, dump, make_token

from service import create_app, ingest
from service import store as store_module

TOKEN = "tl_hygiene-token-0123456789abcdefABCDEFGHIJ"
OTHER = "tl_hygiene-other-0123456789abcdefABCDEFGHIJ"
ALLOWED = "https://newsroom.example"


def _app(tmp_path, **config):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "timeline.db"),
            "WRITE_ORIGINS": f"{ALLOWED}, https://second.example",
            **config,
        }
    )
    return app


def _seeded(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        ingest.load_seed_dir(app)
    make_token(app, "hygiene", token=TOKEN)
    make_token(app, "other", token=OTHER)
    return app


@pytest.fixture
def app(tmp_path):
    return _seeded(tmp_path)


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """One app shared by the tests that only read or are refused: no write through it succeeds."""
    return _seeded(tmp_path_factory.mktemp("hygiene")).test_client()


@pytest.fixture
def client(app):
    return app.test_client()


def _auth(token=TOKEN, **headers):
    return bearer(token, **headers)


# --------------------------------------------------------------------------- headers

PAGES = [
    "/",
    "/docs",
    "/problems",
    "/problems/not-found",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/api/v1/events",
    "/api/v1/events/histogram",
    "/api/v1/timelines",
    "/api/v1/changes",
    "/api/v1/nowhere",
    "/static/app.js",
    "/static/vendor/redoc/redoc.standalone.js",
]


@pytest.mark.parametrize(
    "request_args",
    [
        *[("GET", path, {}) for path in PAGES],
        ("HEAD", "/api/v1/events", {}),
        ("OPTIONS", "/api/v1/events", {"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}),
        (
            "OPTIONS",
            "/api/v1/events",
            {"Origin": "https://any.example", "Access-Control-Request-Method": "GET"},
        ),
        ("POST", "/api/v1/events", {"Origin": ALLOWED, **_auth()}),
        ("POST", "/api/v1/events", {"Origin": "https://evil.example", **_auth()}),
        ("DELETE", "/api/v1/events/nope", _auth()),
    ],
)
def test_no_header_is_sent_twice(reader, request_args):
    """Headers come from the view, the Flask hooks and the WSGI edge: never twice."""
    method, path, headers = request_args
    response = reader.open(path, method=method, headers=headers, json={} if method == "POST" else None)
    names = [name.lower() for name, _ in response.headers]
    assert len(names) == len(set(names)), sorted(names)
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_on_every_response(reader, path):
    response = reader.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors" in csp
    assert response.headers["X-Request-ID"]
    if path == "/":
        # the widget may be embedded in an iframe anywhere (service/static/EMBED.md)
        assert "frame-ancestors *" in csp and "X-Frame-Options" not in response.headers
        assert "script-src 'self'" in csp and "'unsafe-eval'" not in csp and "'unsafe-inline'" not in csp
    else:
        assert "frame-ancestors 'none'" in csp and response.headers["X-Frame-Options"] == "DENY"


def test_error_and_write_responses_carry_the_headers_too(client):
    for response in (
        client.post("/api/v1/events", json={}),  # 401
        client.delete("/api/v1/events/histogram", headers=_auth()),  # 405
        client.post("/api/v1/events", data="x", headers=_auth()),
    ):  # 415
        assert response.status_code >= 400
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_csp_of_the_pages():
    from service.web.headers import PAGE_CSP, WIDGET_CSP

    for csp in (PAGE_CSP, WIDGET_CSP):
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["connect-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["base-uri"] == "'self'"
        assert directives["img-src"] == "'self' data:"
    assert "style-src 'self' 'unsafe-inline'" in PAGE_CSP  # Redoc injects <style> elements
    assert "style-src 'self';" in WIDGET_CSP + ";"


# --------------------------------------------------------------------------- CORS


def test_reads_allow_any_origin(client):
    response = client.get("/api/v1/events", headers={"Origin": "https://anywhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/v1/events",
        headers={"Origin": "https://anywhere.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_write_preflight_from_a_configured_origin(client):
    response = client.options(
        "/api/v1/events/some-id",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "if-match"} <= {h.strip() for h in allowed_headers.split(",")}
    assert "Origin" in response.headers["Vary"]


def test_write_preflight_from_another_origin_is_refused(client):
    response = client.options(
        "/api/v1/events", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/forbidden"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_for_a_method_the_path_does_not_take(client):
    response = client.options(
        "/api/v1/events/histogram", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 405


def test_a_write_from_an_origin_not_configured_is_403_and_changes_nothing(app, client):
    before = dump(app)
    for method, path in (
        ("post", "/api/v1/events"),
        ("put", "/api/v1/events/x-1"),
        ("patch", "/api/v1/events/x-1"),
        ("delete", "/api/v1/timelines/afghanistan-2021"),
        ("post", "/api/v1/events/import"),
    ):
        response = getattr(client, method)(
            path, json={"date": "2021", "title": "T"}, headers=_auth(Origin="https://evil.example")
        )
        assert response.status_code == 403, (method, path)
        assert response.get_json()["type"] == "/problems/forbidden"
    assert dump(app) == before


def test_a_write_from_a_configured_origin_or_without_origin_works(client):
    response = client.post(
        "/api/v1/events", json={"date": "2021", "title": "From the newsroom"}, headers=_auth(Origin=ALLOWED)
    )
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    assert (
        client.post(
            "/api/v1/events", json={"date": "2021", "title": "From a script"}, headers=_auth()
        ).status_code
        == 201
    )
    same_origin = client.post(
        "/api/v1/events",
        json={"date": "2021", "title": "Same origin"},
        headers=_auth(Origin="http://localhost"),
    )
    assert same_origin.status_code == 201


# --------------------------------------------------------------------------- gzip, ETag


def test_large_responses_are_gzipped_when_accepted(client):
    plain = client.get("/api/v1/events?limit=20")
    assert plain.headers.get("Content-Encoding") is None
    zipped = client.get("/api/v1/events?limit=20", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data)
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    refused = client.get("/api/v1/events?limit=20", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.headers.get("Content-Encoding") is None


def test_small_responses_are_not_gzipped(client):
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert small.headers.get("Content-Encoding") is None


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "geojson"])
def test_streamed_exports_are_gzipped_as_they_stream(client, monkeypatch, fmt):
    from service.api import exports as api_formats

    path = f"/api/v1/events?format={fmt}"
    plain = client.get(path).data
    assert len(plain) > 4 * 2000
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.headers.get("Content-Encoding") is None and refused.data == plain
    monkeypatch.setattr(api_formats, "STREAM_PIECE", 2000)  # several pieces from the seed
    monkeypatch.setattr(api_formats, "STREAM_WAIT", 3600)  # pieces by size only, however slow the machine
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"}, buffered=False)
    assert zipped.is_streamed and zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"] and "Content-Length" not in zipped.headers
    # each piece decodes as it arrives, into whole pieces of the plain body
    z = zlib.decompressobj(31)
    got, sizes = b"", []
    for piece in zipped.response:
        out = z.decompress(piece)
        sizes.append(len(out))
        got += out
        assert plain.startswith(got)
    got += z.flush()
    assert got == plain and z.eof
    assert len([n for n in sizes if n >= 2000]) >= 3
    zipped.close()


def test_static_bundle_is_gzipped(client):
    response = client.get("/static/vendor/redoc/redoc.standalone.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data).startswith(b"/*! For license information")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events",
        "/api/v1/events?limit=3",
        "/api/v1/events/histogram",
        "/api/v1/events/facets",
        "/api/v1/timelines",
        "/api/v1/timelines/afghanistan-2021",
        "/api/v1/timelines/afghanistan-2021/events",
        "/api/v1/changes",
        "/openapi.json",
        "/docs",
        "/problems/validation",
        "/healthz",
    ],
)
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_every_get_has_an_etag_and_answers_304(reader, path, encoding):
    first = reader.get(path, headers={"Accept-Encoding": encoding})
    assert first.status_code == 200, path
    etag = first.headers["ETag"]
    again = reader.get(path, headers={"If-None-Match": etag, "Accept-Encoding": encoding})
    assert again.status_code == 304 and again.data == b""


def test_event_etag_is_the_version_whatever_the_encoding(client):
    long_summary = "words " * 600
    created = client.put(
        "/api/v1/events/long-one",
        json={"date": "2021", "title": "Long", "summary": long_summary},
        headers=_auth(),
    )
    assert created.status_code == 201
    zipped = client.get("/api/v1/events/long-one", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["ETag"] == created.headers["ETag"]
    # so If-Match with the tag of a gzipped read works on a write
    patched = client.patch(
        "/api/v1/events/long-one",
        json={"title": "Longer"},
        headers=_auth(**{"If-Match": zipped.headers["ETag"]}),
    )
    assert patched.status_code == 200


# --------------------------------------------------------------------------- ids, logs, sizes


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\u00e9" * 20}).headers["X-Request-ID"]
    assert made and " " not in made and len(made) <= 64


def test_structured_access_log_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="service.access"):
        client.get("/api/v1/events?limit=1", headers={"X-Request-ID": "log-me-1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "service.access"]
    assert lines and lines[-1]["request_id"] == "log-me-1" and lines[-1]["status"] == 200
    assert {"method", "path", "status", "ms"} <= set(lines[-1])


def test_bodies_over_the_limit_are_413_before_parsing(client):
    body = b'{"date": "2021", "title": "' + b"a" * (1_048_576) + b'"}'
    response = client.post("/api/v1/events", data=body, headers=_auth(**{"Content-Type": "application/json"}))
    assert response.status_code == 413
    assert response.get_json()["type"] == "/problems/payload-too-large"


# --------------------------------------------------------------------------- rate limit


def _limited_app(tmp_path, rate):
    app = _app(tmp_path, WRITE_RATE_PER_MINUTE=rate)
    store = store_module.connect(app.config["DATABASE"])
    for name, token in (("hygiene", TOKEN), ("other", OTHER)):
        if not any(t["name"] == name for t in store.list_tokens()):
            make_token(app, name, token=token)
    return app


def test_writes_over_the_rate_are_429_with_retry_after(tmp_path):
    client = _limited_app(tmp_path, 3).test_client()
    statuses = [
        client.put(f"/api/v1/timelines/t{i}", json={"title": "T"}, headers=_auth()).status_code
        for i in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    refused = client.put("/api/v1/timelines/t9", json={"title": "T"}, headers=_auth())
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["type"] == "/problems/rate-limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/timelines/t9").status_code == 404  # nothing written
    # another token has its own budget; reads are never limited
    assert client.put("/api/v1/timelines/u1", json={"title": "U"}, headers=_auth(OTHER)).status_code == 201
    assert all(client.get("/api/v1/timelines").status_code == 200 for _ in range(10))


def test_the_rate_is_shared_by_every_worker(tmp_path):
    # two apps on one database file stand for two gunicorn workers
    first = _limited_app(tmp_path, 4).test_client()
    second = _limited_app(tmp_path, 4).test_client()
    statuses = [
        (first if i % 2 else second)
        .put(f"/api/v1/timelines/w{i}", json={"title": "W"}, headers=_auth())
        .status_code
        for i in range(6)
    ]
    assert statuses == [201, 201, 201, 201, 429, 429]


def test_a_rate_of_zero_switches_the_limit_off(tmp_path):
    client = _limited_app(tmp_path, 0).test_client()
    assert all(
        client.put(f"/api/v1/timelines/z{i}", json={"title": "Z"}, headers=_auth()).status_code == 201
        for i in range(30)
    )


def test_the_rate_window_is_per_minute(tmp_path, monkeypatch):
    import time as time_module

    from service.web import ratelimit

    app = _limited_app(tmp_path, 2)
    client = app.test_client()
    now = [1_800_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    assert [
        client.put(f"/api/v1/timelines/m{i}", json={"title": "M"}, headers=_auth()).status_code
        for i in range(3)
    ] == [201, 201, 429]
    now[0] += 60
    assert client.put("/api/v1/timelines/m9", json={"title": "M"}, headers=_auth()).status_code == 201
    assert time_module.time is not None
