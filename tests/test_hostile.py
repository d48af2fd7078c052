"""Hostile input across every endpoint: each request gets the right 4xx problem (or, where
the contract says any input is fine -- `q`, request ids -- a normal answer), never a 5xx, no
stack trace or SQL in any body, and the database is byte for byte unchanged afterwards."""

from __future__ import annotations

import json

import pytest
from factories import dump, make_token

from service import create_app, ingest
from service import store as store_module

WRITE = "tl_hostile-write-0123456789abcdefABCDEFGHIJKL"
READ = "tl_hostile-read-0123456789abcdefABCDEFGHIJKLM"
EVENT = "2021-07-02-international-troops-leave-bagram"
TIMELINE = "afghanistan-2021"
JSON = "application/json"
LEAKS = ("Traceback", "sqlite3", "SELECT ", "INSERT ", 'File "', "OperationalError", "site-packages")


def ok_event(**fields):
    return {"date": "2021-07-02", "title": "Hostile", **fields}


def body(obj) -> bytes:
    return json.dumps(obj).encode()


# (name, method, path, options, expected status or set, expected problem kind or None)
CASES: list[tuple] = []


def case(name, method, path, status, kind=None, **options):
    CASES.append((name, method, path, options, status, kind))


def write(name, method, path, payload, status=422, kind=None, **options):
    if kind is None and status == 422:
        kind = "validation"
    options.setdefault("headers", {})
    options["headers"] = {"Authorization": f"Bearer {WRITE}", "Content-Type": JSON, **options["headers"]}
    case(
        name,
        method,
        path,
        status,
        kind,
        data=payload if isinstance(payload, bytes) else body(payload),
        **options,
    )


# ------------------------------------------------------------- wrong JSON types in each field
WRONG_TYPES = {
    "id": [
        123,
        True,
        [],
        {},
        "UPPER",
        "../../etc/passwd",
        "histogram",
        "a\n",
        "'; DROP TABLE events; --",
        "a" * 121,
        "-x",
    ],
    "date": [
        20210702,
        None,
        [],
        {"y": 2021},
        "2021-02-30",
        "2021-07-05/2021-07-01",
        "not a date",
        "9" * 1000,
        "2021-07-02\x00",
    ],
    "title": [None, 1, ["t"], {"t": 1}, "", "   ", "a" * 201, "a\x00b", "a\x1bb"],
    "summary": [5, ["s"], {"s": 1}, "s" * 5001, "nul\x00"],
    "importance": ["3", 1.5, True, 0, 6, None, [3], -1, 10**30],
    "tags": ["military", [1], [None], ["Has Space"], ["a" * 101], ["t"] * 51, {"a": 1}, [""], ["x/../y"]],
    "actors": ["Taliban", [1], ["a" * 101], ["a"] * 51, [{"n": 1}]],
    "timelines": [TIMELINE, ["does-not-exist"], [1], ["UPPER"]],
    "location": [
        "Kabul",
        [],
        5,
        {"lat": "34", "lon": 69},
        {"lat": 91, "lon": 0},
        {"lat": 1},
        {"name": "x", "extra": 1},
        {"country": "af"},
        {"country": "XX"},
        {},
        {"lat": float("1e308") * 10 if False else 1e308, "lon": 0},
        {"lat": True, "lon": False},
    ],
    "sources": [
        {"url": "https://x.example"},
        [{"url": "javascript:alert(1)"}],
        [{"url": "http://[abc"}],
        [{}],
        [{"title": "t", "bogus": 1}],
        [{"url": "https://x.example"}] * 21,
        ["https://x.example"],
        [{"title": "t", "quote": "q" * 2001}],
        [{"title": "t", "published": "yesterday"}],
    ],
}
for field, values in WRONG_TYPES.items():
    for i, value in enumerate(values):
        write(f"post-{field}-{i}", "POST", "/api/v1/events", ok_event(**{field: value}))
write("put-unknown-field", "PUT", f"/api/v1/events/{EVENT}", ok_event(admin=True))
write(
    "put-nested-unknown", "PUT", "/api/v1/events/new-one", ok_event(location={"name": "x", "__proto__": {}})
)
write("patch-unknown-null", "PATCH", f"/api/v1/events/{EVENT}", {"is_admin": None})
write("patch-nested-unknown", "PATCH", f"/api/v1/events/{EVENT}", {"location": {"elevation": None}})
write("patch-remove-required", "PATCH", f"/api/v1/events/{EVENT}", {"title": None})
write("patch-array", "PATCH", f"/api/v1/events/{EVENT}", [1, 2])
write("patch-string", "PATCH", f"/api/v1/events/{EVENT}", "x")
write("timeline-bad-slug", "POST", "/api/v1/timelines", {"slug": "Bad Slug", "title": "t"})
write("timeline-no-title", "POST", "/api/v1/timelines", {"slug": "ok-slug"})
write("timeline-title-type", "PUT", "/api/v1/timelines/new-tl", {"title": 5})
write("timeline-slug-mismatch", "PUT", f"/api/v1/timelines/{TIMELINE}", {"slug": "other", "title": "t"})
write("timeline-patch-unknown", "PATCH", f"/api/v1/timelines/{TIMELINE}", {"owner": None})

# ------------------------------------------------------------- malformed bodies
DEEP = b"[" * 100_000
write("deep-brackets", "POST", "/api/v1/events", DEEP, 400, "malformed-body")
write("deep-objects", "POST", "/api/v1/events", b'{"a":' * 50_000, 400, "malformed-body")
write(
    "deep-valid-nesting",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":' + b"[" * 5000 + b"]" * 5000 + b"}",
    {400, 422},
)
write("deep-import", "POST", "/api/v1/events/import", DEEP, 400, "malformed-body")
write(
    "deep-ndjson",
    "POST",
    "/api/v1/events/import",
    DEEP + b"\n",
    400,
    "malformed-body",
    headers={"Content-Type": "application/x-ndjson"},
)
write(
    "duplicate-keys",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":"a","title":"b"}',
    400,
    "malformed-body",
)
write(
    "duplicate-nested-keys",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":"a","location":{"lat":1,"lat":2,"lon":3}}',
    400,
    "malformed-body",
)
write("nan", "POST", "/api/v1/events", b'{"date":"2021","title":"x","importance":NaN}', 400, "malformed-body")
write(
    "infinity",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":"x","location":{"lat":Infinity,"lon":0}}',
    400,
    "malformed-body",
)
write("invalid-utf8", "POST", "/api/v1/events", b'{"date":"2021","title":"\xff\xfe"}', 400, "malformed-body")
write(
    "invalid-utf8-ndjson",
    "POST",
    "/api/v1/events/import",
    b'{"date":"2021","title":"\xc3\x28"}\n',
    400,
    "malformed-body",
    headers={"Content-Type": "application/x-ndjson"},
)
write("lone-surrogate", "POST", "/api/v1/events", b'{"date":"2021","title":"\\ud800"}', 400, "malformed-body")
write(
    "lone-surrogate-key",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":"x","\\udfff":1}',
    400,
    "malformed-body",
)
write(
    "lone-surrogate-import",
    "POST",
    "/api/v1/events/import",
    b'[{"date":"2021","title":"\\udbff x"}]',
    400,
    "malformed-body",
)
write(
    "lone-surrogate-ndjson",
    "POST",
    "/api/v1/events/import",
    b'{"date":"2021","title":"a\\ud834"}\n',
    400,
    "malformed-body",
    headers={"Content-Type": "application/x-ndjson"},
)
write(
    "surrogate-pair-is-fine-but-id-bad",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":"\\ud834\\udd1e","id":"X"}',
)
write("raw-nul-byte", "POST", "/api/v1/events", b'{"date":"2021","title":"a\x00b"}', 400, "malformed-body")
write("escaped-nul", "POST", "/api/v1/events", b'{"date":"2021","title":"a\\u0000b"}', 422, "validation")
write("empty-body", "POST", "/api/v1/events", b"", 400, "malformed-body")
write("truncated", "POST", "/api/v1/events", b'{"date":"2021","ti', 400, "malformed-body")
write("trailing-garbage", "POST", "/api/v1/events", b'{"date":"2021","title":"x"} {}', 400, "malformed-body")
write("json-null", "POST", "/api/v1/events", b"null")
write("json-array", "POST", "/api/v1/events", b"[]")
write("json-number", "POST", "/api/v1/events", b"123")
write("bom", "POST", "/api/v1/events", b'\xef\xbb\xbf{"date":"2021","title":"x","id":"x"}', {400, 422})
write("huge-string", "POST", "/api/v1/events", ok_event(title="a" * 1_000_000))
write("over-limit", "POST", "/api/v1/events", ok_event(summary="a" * 1_048_576), 413, "payload-too-large")
write("huge-array", "POST", "/api/v1/events", ok_event(tags=["a"] * 100_000))
write(
    "huge-number",
    "POST",
    "/api/v1/events",
    b'{"date":"2021","title":"x","importance":1' + b"0" * 5000 + b"}",
    {400, 422},
)
write("import-object", "POST", "/api/v1/events/import", {"events": []}, 400, "malformed-body")
write("import-one-bad", "POST", "/api/v1/events/import", [ok_event(id="fine-one"), ok_event(date="nope")])
write("import-dup-ids", "POST", "/api/v1/events/import", [ok_event(id="same"), ok_event(id="same")])
write(
    "import-bad-line",
    "POST",
    "/api/v1/events/import",
    b'{"date":"2021","title":"ok","id":"ok-1"}\n{oops\n',
    400,
    "malformed-body",
    headers={"Content-Type": "application/x-ndjson"},
)
write("import-dry-run-bad", "POST", "/api/v1/events/import?dry_run=maybe", [], 400, "bad-request")
write("import-items-wrong", "POST", "/api/v1/events/import", [1, "two", None, []])

# ------------------------------------------------------------- wrong content types
for i, ctype in enumerate(
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "application/jsonp",
        "text/json",
    ]
):
    write(
        f"ctype-{i}",
        "POST",
        "/api/v1/events",
        ok_event(),
        415,
        "unsupported-media-type",
        headers={"Content-Type": ctype},
    )
write(
    "ctype-import",
    "POST",
    "/api/v1/events/import",
    [],
    415,
    "unsupported-media-type",
    headers={"Content-Type": "text/csv"},
)
write(
    "ctype-patch",
    "PATCH",
    f"/api/v1/events/{EVENT}",
    {"title": "x"},
    415,
    "unsupported-media-type",
    headers={"Content-Type": "application/json-patch+json"},
)

# ------------------------------------------------------------- authentication
case("no-token", "POST", "/api/v1/events", 401, "unauthorized", json=ok_event())
case(
    "basic-auth",
    "POST",
    "/api/v1/events",
    401,
    "unauthorized",
    json=ok_event(),
    headers={"Authorization": "Basic YWRtaW46YWRtaW4="},
)
case(
    "empty-bearer",
    "DELETE",
    f"/api/v1/events/{EVENT}",
    401,
    "unauthorized",
    headers={"Authorization": "Bearer "},
)
case(
    "huge-bearer",
    "DELETE",
    f"/api/v1/events/{EVENT}",
    401,
    "unauthorized",
    headers={"Authorization": "Bearer " + "x" * 8000},
)
case(
    "sqli-bearer",
    "DELETE",
    f"/api/v1/events/{EVENT}",
    401,
    "unauthorized",
    headers={"Authorization": "Bearer ' OR '1'='1"},
)
case(
    "unicode-bearer",
    "DELETE",
    f"/api/v1/events/{EVENT}",
    401,
    "unauthorized",
    headers={"Authorization": "Bearer t\u00f6k\u00e9n"},
)
case(
    "read-scope",
    "DELETE",
    f"/api/v1/events/{EVENT}",
    403,
    "forbidden",
    headers={"Authorization": f"Bearer {READ}"},
)
case(
    "stale-if-match",
    "DELETE",
    f"/api/v1/events/{EVENT}",
    412,
    "precondition-failed",
    headers={"Authorization": f"Bearer {WRITE}", "If-Match": '"garbage"'},
)
case(
    "bogus-if-match",
    "PUT",
    f"/api/v1/events/{EVENT}",
    412,
    "precondition-failed",
    json=ok_event(),
    headers={"Authorization": f"Bearer {WRITE}", "If-Match": "W/" + "x" * 5000},
)
case(
    "write-evil-origin",
    "POST",
    "/api/v1/events",
    403,
    "forbidden",
    json=ok_event(),
    headers={"Authorization": f"Bearer {WRITE}", "Origin": "https://evil.example"},
)
case(
    "write-null-origin",
    "POST",
    "/api/v1/events",
    403,
    "forbidden",
    json=ok_event(),
    headers={"Authorization": f"Bearer {WRITE}", "Origin": "null"},
)
case(
    "delete-absent",
    "DELETE",
    "/api/v1/events/not-there",
    404,
    "not-found",
    headers={"Authorization": f"Bearer {WRITE}"},
)
case(
    "patch-absent",
    "PATCH",
    "/api/v1/events/not-there",
    404,
    "not-found",
    json={"title": "x"},
    headers={"Authorization": f"Bearer {WRITE}"},
)
case(
    "delete-timeline-with-events",
    "DELETE",
    f"/api/v1/timelines/{TIMELINE}",
    409,
    "conflict",
    headers={"Authorization": f"Bearer {WRITE}"},
)
case(
    "delete-timeline-cascade-bad",
    "DELETE",
    f"/api/v1/timelines/{TIMELINE}?cascade=yes%00",
    400,
    "bad-request",
    headers={"Authorization": f"Bearer {WRITE}"},
)
case(
    "create-existing",
    "POST",
    "/api/v1/events",
    409,
    "conflict",
    json=ok_event(id=EVENT),
    headers={"Authorization": f"Bearer {WRITE}"},
)

# ------------------------------------------------------------- ids and paths
for i, path in enumerate(
    [
        "/api/v1/events/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/events/' OR 1=1 --",
        "/api/v1/events/%00",
        "/api/v1/events/%2e%2e",
        "/api/v1/events/1;DROP TABLE events",
        "/api/v1/events/%FF%FE",
        "/api/v1/events/" + "a" * 5000,
        "/api/v1/timelines/..%2F..",
        "/api/v1/timelines/%27%3B--/events",
        "/static/../service/config.py",
        "/static/%2e%2e/__init__.py",
        "/static/..%2F..%2Fpyproject.toml",
        "/problems/../../etc/passwd",
        "/problems/%00",
        "/api/v2/events",
        "/api/v1/events/a/b",
        "/.env",
        "/admin",
        "/api/v1/../../etc/passwd",
        "/api/v1/changes/1",
    ]
):
    case(f"path-{i}", "GET", path, 404, "not-found")

# ------------------------------------------------------------- query parameters
for i, q in enumerate(
    [
        "NEAR(a b)",
        '"unbalanced',
        "title:x",
        "a AND OR NOT",
        "*",
        "^a",
        'a"b',
        "'; DROP TABLE events; --",
        "\x00",
        "%",
        "()",
        "{col1 col2}: x",
        "a" * 5000,
        "\u202e\u0000\ufffd",
        "- -- ---",
        "NOT",
    ]
):
    case(f"q-{i}", "GET", "/api/v1/events", 200, query_string={"q": q})
case(
    "q-relevance-syntax", "GET", "/api/v1/events", 200, query_string={"q": 'bagram OR "', "sort": "relevance"}
)
case("q-too-long", "GET", "/api/v1/events", 400, "bad-request", query_string={"q": "a" * 5001})
BAD_PARAMS = [
    ("limit", "-1"),
    ("limit", "0"),
    ("limit", "501"),
    ("limit", "1e9"),
    ("limit", "abc"),
    ("limit", ""),
    ("limit", "1; DROP TABLE events"),
    ("limit", "9" * 40),
    ("cursor", "garbage"),
    ("cursor", ""),
    ("cursor", "eyJhIjoxfQ"),
    ("cursor", "A" * 1001),
    ("bbox", "1,2,3"),
    ("bbox", "a,b,c,d"),
    ("bbox", "nan,0,0,0"),
    ("bbox", "inf,0,0,0"),
    ("bbox", "0,91,0,92"),
    ("bbox", "1e308,0,0,0"),
    ("bbox", ",,,"),
    ("bbox", "0,10,0,-10"),
    ("from", "2021-02-30"),
    ("from", "99999999999"),
    ("from", "../.."),
    ("to", "2021-07-01/2021-07-05"),
    ("precision", "week"),
    ("sort", "random"),
    ("sort", "relevance"),
    ("match", "x"),
    ("format", "exe"),
    ("min_importance", "9"),
    ("min_importance", "1.5"),
    ("count", "maybe"),
    ("country", "AFG"),
    ("group", "password"),
]
for i, (name, value) in enumerate(BAD_PARAMS):
    case(f"param-{name}-{i}", "GET", "/api/v1/events", 400, "bad-request", query_string={name: value})
case(
    "from-after-to", "GET", "/api/v1/events", 400, "bad-request", query_string={"from": "2022", "to": "2021"}
)
case("tag-x1000", "GET", "/api/v1/events", 400, "bad-request", query_string=[("tag", "a")] * 1000)
case(
    "histogram-interval",
    "GET",
    "/api/v1/events/histogram",
    400,
    "bad-request",
    query_string={"interval": "week"},
)
case("facets-facet", "GET", "/api/v1/events/facets", 400, "bad-request", query_string={"facet": "password"})
case("facets-size", "GET", "/api/v1/events/facets", 400, "bad-request", query_string={"size": "0"})
case(
    "timeline-events-limit",
    "GET",
    f"/api/v1/timelines/{TIMELINE}/events",
    400,
    "bad-request",
    query_string={"limit": "-5"},
)
for i, since in enumerate(["-1", "abc", str(2**70), "1.5", "0x10"]):
    case(f"since-{i}", "GET", "/api/v1/changes", 400, "bad-request", query_string={"since": since})
case("changes-limit", "GET", "/api/v1/changes", 400, "bad-request", query_string={"limit": "100000"})
case("request-line-too-long", "GET", "/api/v1/events?x=" + "a" * 17000, 414, "uri-too-long")

# ------------------------------------------------------------- headers and methods
case("huge-request-id", "GET", "/healthz", 200, headers={"X-Request-ID": "x" * 10000})
case("bogus-if-none-match", "GET", "/api/v1/events", 200, headers={"If-None-Match": '"\x7f", ,,W/'})
case("bogus-accept", "GET", "/api/v1/events", 200, headers={"Accept": "*/*;q=abc, text/html;;;"})
case("xml-accept", "GET", "/api/v1/events", 200, headers={"Accept": "application/xml"})
case(
    "bogus-accept-encoding",
    "GET",
    "/api/v1/events",
    200,
    headers={"Accept-Encoding": "gzip;q=x, br;;, *;q=-1"},
)
case("bogus-range", "GET", "/api/v1/events", 200, headers={"Range": "bytes=99999999-1"})
case("many-headers", "GET", "/api/v1/events", 200, headers={f"X-Junk-{i}": "v" * 100 for i in range(90)})
case("trace", "TRACE", "/api/v1/events", 405, "method-not-allowed")
case(
    "put-histogram",
    "PUT",
    "/api/v1/events/histogram",
    405,
    "method-not-allowed",
    json=ok_event(),
    headers={"Authorization": f"Bearer {WRITE}"},
)
case("delete-collection", "DELETE", "/api/v1/events", 405, "method-not-allowed")
case("post-changes", "POST", "/api/v1/changes", 405, "method-not-allowed", json={})
case("patch-openapi", "PATCH", "/openapi.json", 405, "method-not-allowed")
case("get-import", "GET", "/api/v1/events/import", 405, "method-not-allowed")
case("post-readyz", "POST", "/readyz", 405, "method-not-allowed")


# ------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "timeline.db"
    app = create_app({"TESTING": True, "DATABASE": str(path), "WRITE_RATE_PER_MINUTE": 0})
    with app.app_context():
        ingest.load_seed_dir(app)
    make_token(app, "hostile-write", "write", WRITE)
    make_token(app, "hostile-read", "read", READ)
    client = app.test_client()
    # Use both tokens once first: a token's last use is recorded at most once a minute, and
    # that bookkeeping is not what the dump below is about.
    client.delete("/api/v1/events/warm-up", headers={"Authorization": f"Bearer {WRITE}"})
    client.delete("/api/v1/events/warm-up", headers={"Authorization": f"Bearer {READ}"})
    return app


@pytest.fixture(scope="module")
def dump_before(hostile_app):
    return dump(hostile_app)


def test_there_are_at_least_a_hundred_cases():
    assert len(CASES) >= 100
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("name,method,path,options,expected,kind", CASES, ids=[c[0] for c in CASES])
def test_hostile_request(hostile_app, dump_before, name, method, path, options, expected, kind):
    client = hostile_app.test_client()
    response = client.open(path, method=method, **options)
    expected = {expected} if isinstance(expected, int) else expected
    assert response.status_code < 500, response.get_data()[:300]
    assert response.status_code in expected, (response.status_code, response.get_data()[:300])
    text = response.get_data(as_text=False)[:100_000].decode("utf-8", "replace")
    assert not any(leak in text for leak in LEAKS), text[:300]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == response.status_code
        if kind:
            assert problem["type"] == f"/problems/{kind}", problem
        assert problem["title"] and problem["type"].startswith("/problems/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_database_is_unchanged(hostile_app, dump_before):
    """Runs after every hostile request above (pytest keeps file order)."""
    assert dump(hostile_app) == dump_before
    assert (
        store_module.connect(hostile_app.config["DATABASE"])
        .conn.execute("PRAGMA integrity_check")
        .fetchone()[0]
        == "ok"
    )
