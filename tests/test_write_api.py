"""Writing events (section 3): every status code, every field rule, merge patch, If-Match, auth.

Real app, real SQLite file; tokens are made through the store exactly as the CLI makes them.
"""

from __future__ import annotations

import json
import time

import pytest
from factories import bearer, make_app, make_token

EVENTS = "/api/v1/events"


class Writer:
    """The test client with a bearer token on every request."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def headers(self, extra=None):
        return bearer(self.token, **(extra or {}))

    def post(self, body, path=EVENTS, headers=None, **kw):
        return self.client.post(path, json=body, headers=self.headers(headers), **kw)

    def put(self, event_id, body, headers=None, path=None, **kw):
        return self.client.put(path or f"{EVENTS}/{event_id}", json=body, headers=self.headers(headers), **kw)

    def patch(self, event_id, body, headers=None, content_type="application/merge-patch+json"):
        return self.client.patch(
            f"{EVENTS}/{event_id}",
            data=json.dumps(body),
            content_type=content_type,
            headers=self.headers(headers),
        )

    def delete(self, event_id, headers=None, path=None):
        return self.client.delete(path or f"{EVENTS}/{event_id}", headers=self.headers(headers))

    def raw(self, method, path, data, content_type="application/json", headers=None):
        return self.client.open(
            path, method=method, data=data, content_type=content_type, headers=self.headers(headers)
        )


@pytest.fixture
def w(app, client):
    return Writer(client, make_token(app, "writer", "write"))


@pytest.fixture
def timeline(w):
    r = w.post({"slug": "afghanistan-2021", "title": "Afghanistan 2021"}, path="/api/v1/timelines")
    assert r.status_code == 201, r.get_data(as_text=True)
    return "afghanistan-2021"


def ev(**kw):
    base = {"id": "e1", "date": "2021-07-02", "title": "All international troops leave Bagram"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def full_event(**kw):
    return ev(
        summary="The largest base is left.",
        importance=4,
        tags=["withdrawal", "military"],
        actors=["United States"],
        location={"name": "Bagram Airfield", "country": "AF", "lat": 34.946, "lon": 69.265},
        sources=[
            {
                "url": "https://www.rferl.org/a/x.html",
                "title": "Report",
                "publisher": "RFE/RL",
                "published": "2021-07-05",
                "quote": "On July 2, all international troops left.",
            }
        ],
        **kw,
    )


def change_count(client) -> int:
    n, since = 0, 0
    while True:
        page = client.get(f"/api/v1/changes?since={since}&limit=1000").json
        n += len(page["changes"])
        if not page["changes"]:
            return n
        since = page["next_since"]


def assert_problem(r, status, *path):
    """``r`` is a problem of ``status`` whose ``errors`` hold the nested key ``path``."""
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    node = r.json.get("errors")
    for key in path:
        assert isinstance(node, dict) and key in node, (path, r.json)
        node = node[key]
    return r.json


# --------------------------------------------------------------------------- POST


def test_post_creates_with_location_and_etag(w, client):
    r = w.post(full_event())
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/api/v1/events/e1")
    assert r.headers["ETag"]
    body = r.json
    assert body["version"] == 1 and body["created_at"] == body["updated_at"]
    assert body["start"] == body["end"] == "2021-07-02" and body["display_date"] == "2 July 2021"
    got = client.get(r.headers["Location"])
    assert got.status_code == 200 and got.json == body
    assert got.headers["ETag"] == r.headers["ETag"]


def test_post_duplicate_id_is_409_and_changes_nothing(w, client):
    assert w.post(ev()).status_code == 201
    r = w.post(ev(title="Something else"))
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert client.get(f"{EVENTS}/e1").json["title"] == "All international troops leave Bagram"


def test_absent_id_is_derived_from_date_and_title_and_unique(w):
    body = ev(id=..., title="All troops leave Bagram!")
    first = w.post(body)
    second = w.post(body)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] == "2021-07-02-all-troops-leave-bagram"
    assert second.json["id"] == "2021-07-02-all-troops-leave-bagram-2"
    assert second.headers["Location"].endswith("/2021-07-02-all-troops-leave-bagram-2")


def test_text_is_stored_trimmed(w):
    r = w.post(
        ev(
            title="  Troops leave  ",
            summary="  words \n",
            actors=["  United States "],
            tags=[" military "],
            location={"name": "  Bagram "},
            sources=[{"title": "  Report ", "quote": "  q  "}],
        )
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    e = r.json
    assert e["title"] == "Troops leave" and e["summary"] == "words"
    assert e["actors"] == ["United States"] and e["tags"] == ["military"]
    assert e["location"]["name"] == "Bagram"
    assert e["sources"][0]["title"] == "Report" and e["sources"][0]["quote"] == "q"


# --------------------------------------------------------------------------- PUT


def test_put_creates_then_replaces(w, client):
    r = w.put("e1", full_event())
    assert r.status_code == 201 and r.json["version"] == 1
    assert r.headers["Location"].endswith("/api/v1/events/e1") and r.headers["ETag"]
    r2 = w.put("e1", ev(title="Replaced"))
    assert r2.status_code == 200
    e = r2.json
    assert e["version"] == 2 and e["title"] == "Replaced"
    # replace, not merge: the optional fields are gone
    assert e["summary"] is None and e["location"] is None and e["tags"] == [] and e["sources"] == []
    assert e["importance"] == 3
    assert r2.headers["ETag"] != r.headers["ETag"]


def test_put_same_content_keeps_version_updated_at_and_feed(w, client):
    first = w.put("e1", full_event()).json
    before = change_count(client)
    again = w.put("e1", full_event())
    assert again.status_code == 200
    assert again.json == first
    assert change_count(client) == before


def test_get_then_put_back_is_a_no_op(w, client):
    w.post(full_event())
    got = client.get(f"{EVENTS}/e1").json
    before = change_count(client)
    r = w.put("e1", got)  # carries start, end, display_date, created_at, version ...
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json == got
    assert change_count(client) == before


def test_put_read_only_fields_are_ignored(w):
    w.post(ev())
    r = w.put(
        "e1",
        ev(version=99, created_at="1999-01-01T00:00:00Z", start="1900-01-01", display_date="x", title="New"),
    )
    assert r.status_code == 200
    assert (
        r.json["version"] == 2
        and r.json["start"] == "2021-07-02"
        and r.json["created_at"] != "1999-01-01T00:00:00Z"
    )


def test_put_body_id_must_match_path(w):
    assert_problem(w.put("e1", ev(id="e2")), 422, "id")


def test_version_plus_one_per_change_created_kept_updated_moves(w, client):
    created = w.post(ev()).json
    time.sleep(1.05)  # timestamps have one-second resolution
    v2 = w.put("e1", ev(title="Two")).json
    v3 = w.patch("e1", {"importance": 5}).json
    assert [created["version"], v2["version"], v3["version"]] == [1, 2, 3]
    assert v2["created_at"] == v3["created_at"] == created["created_at"]
    assert v2["updated_at"] > created["updated_at"]
    assert v3["updated_at"] >= v2["updated_at"]
    # a PATCH that changes nothing keeps the version
    v3b = w.patch("e1", {"importance": 5}).json
    assert v3b == v3


# --------------------------------------------------------------------------- field rules


BAD_FIELDS = [
    ("id-pattern-upper", {"id": "Bad_Id"}, ("id",)),
    ("id-leading-hyphen", {"id": "-abc"}, ("id",)),
    ("id-too-long", {"id": "a" * 121}, ("id",)),
    ("id-not-string", {"id": 5}, ("id",)),
    ("id-reserved-histogram", {"id": "histogram"}, ("id",)),
    ("id-reserved-facets", {"id": "facets"}, ("id",)),
    ("id-reserved-import", {"id": "import"}, ("id",)),
    ("date-missing", {"date": ...}, ("date",)),
    ("date-invalid-calendar", {"date": "2021-02-30"}, ("date",)),
    ("date-garbage", {"date": "yesterday"}, ("date",)),
    ("date-reversed-interval", {"date": "2021-07-05/2021-07-01"}, ("date",)),
    ("date-not-string", {"date": 2021}, ("date",)),
    ("title-missing", {"title": ...}, ("title",)),
    ("title-empty", {"title": ""}, ("title",)),
    ("title-whitespace", {"title": "   \t "}, ("title",)),
    ("title-too-long", {"title": "x" * 201}, ("title",)),
    ("title-control-char", {"title": "a\x00b"}, ("title",)),
    ("summary-too-long", {"summary": "x" * 5001}, ("summary",)),
    ("importance-string", {"importance": "3"}, ("importance",)),
    ("importance-float", {"importance": 1.5}, ("importance",)),
    ("importance-bool", {"importance": True}, ("importance",)),
    ("importance-zero", {"importance": 0}, ("importance",)),
    ("importance-six", {"importance": 6}, ("importance",)),
    ("tags-not-slug", {"tags": ["Not A Slug"]}, ("tags",)),
    ("tags-too-many", {"tags": [f"t{i}" for i in range(51)]}, ("tags",)),
    ("tags-item-too-long", {"tags": ["a" * 101]}, ("tags",)),
    ("tags-not-list", {"tags": "military"}, ("tags",)),
    ("actors-empty-item", {"actors": [""]}, ("actors",)),
    ("actors-item-too-long", {"actors": ["x" * 101]}, ("actors",)),
    ("actors-too-many", {"actors": [f"Actor {i}" for i in range(51)]}, ("actors",)),
    ("actors-not-strings", {"actors": [1]}, ("actors",)),
    ("timelines-unknown", {"timelines": ["no-such-timeline"]}, ("timelines",)),
    ("timelines-not-slug", {"timelines": ["Not Slug"]}, ("timelines",)),
    ("country-lower-case", {"location": {"country": "af"}}, ("location", "country")),
    ("country-unassigned", {"location": {"country": "XX"}}, ("location", "country")),
    ("country-three-letters", {"location": {"country": "AFG"}}, ("location", "country")),
    ("lat-without-lon", {"location": {"name": "x", "lat": 10}}, ("location", "lon")),
    ("lon-without-lat", {"location": {"name": "x", "lon": 10}}, ("location", "lat")),
    ("lat-91", {"location": {"lat": 91, "lon": 0}}, ("location", "lat")),
    ("lon-181", {"location": {"lat": 0, "lon": -181}}, ("location", "lon")),
    ("lat-string", {"location": {"lat": "10", "lon": 0}}, ("location", "lat")),
    ("location-unknown-key", {"location": {"name": "x", "elevation": 3}}, ("location", "elevation")),
    ("location-name-empty", {"location": {"name": "  "}}, ("location", "name")),
    ("location-not-object", {"location": "Kabul"}, ("location",)),
    ("source-url-relative", {"sources": [{"url": "/a/b.html"}]}, ("sources", "0", "url")),
    ("source-url-ftp", {"sources": [{"url": "ftp://example.org/x"}]}, ("sources", "0", "url")),
    ("sources-too-many", {"sources": [{"title": f"s{i}"} for i in range(21)]}, ("sources",)),
    ("source-neither-url-nor-title", {"sources": [{"publisher": "RFE/RL"}]}, ("sources", "0")),
    (
        "source-published-invalid",
        {"sources": [{"title": "t", "published": "2021-13-01"}]},
        ("sources", "0", "published"),
    ),
    ("source-quote-too-long", {"sources": [{"title": "t", "quote": "q" * 2001}]}, ("sources", "0", "quote")),
    ("source-title-too-long", {"sources": [{"title": "t" * 301}]}, ("sources", "0", "title")),
    ("source-unknown-key", {"sources": [{"title": "t", "author": "me"}]}, ("sources", "0", "author")),
    ("source-second-item", {"sources": [{"title": "ok"}, {"url": "nope"}]}, ("sources", "1", "url")),
    ("unknown-top-level", {"colour": "red"}, ("colour",)),
]


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """One app for the field-rule cases, which must all be refused (building an app per case
    costs more than the case): the timeline they name and the event "target" they patch."""
    app = make_app(tmp_path_factory.mktemp("refused"))
    w = Writer(app.test_client(), make_token(app, "writer", "write"))
    r = w.post({"slug": "afghanistan-2021", "title": "Afghanistan 2021"}, path="/api/v1/timelines")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert w.post(ev(id="target")).status_code == 201
    return w


@pytest.mark.parametrize("change,path", [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_each_field_rule_is_422_naming_the_field(refused, method, change, path):
    w, client = refused, refused.client
    if method == "PATCH":
        if "date" in change and change["date"] is ... or "title" in change and change["title"] is ...:
            pytest.skip("a merge patch cannot omit a required field (null would remove it: tested below)")
        if "id" in change:
            pytest.skip("a PATCH cannot change the id: tested below")
        body = {k: v for k, v in change.items()}
        r = w.patch("target", body)
    elif method == "PUT":
        if "id" in change:
            # the path names the id, so a bad id is a bad path id
            if not isinstance(change["id"], str):
                pytest.skip("a path id is always a string")
            r = w.put(change["id"], ev(id=...))
            if change["id"] in ("histogram", "facets", "import"):
                assert r.status_code == 405  # see test_reserved_paths_are_not_events
                return
        else:
            r = w.put("e1", ev(**change))
    else:
        r = w.post(ev(**change))
    problem = assert_problem(r, 422, *path)
    assert problem["type"] == "/problems/validation"
    assert path[0] in problem["detail"]
    assert client.get(f"{EVENTS}/e1").status_code == 404


def test_patch_null_on_required_field_is_422(w):
    w.post(ev())
    assert_problem(w.patch("e1", {"title": None}), 422, "title")
    assert_problem(w.patch("e1", {"date": None}), 422, "date")


def test_patch_cannot_change_id(w):
    w.post(ev())
    assert_problem(w.patch("e1", {"id": "e2"}), 422, "id")


def test_valid_edge_values_are_accepted(w, timeline):
    r = w.post(
        ev(
            id="a" * 120,
            title="x" * 200,
            summary="s" * 5000,
            importance=1,
            tags=[f"t{i}" for i in range(50)],
            actors=["a" * 100],
            timelines=[timeline],
            location={"name": "n" * 200, "country": "AF", "lat": -90, "lon": 180},
            sources=[{"url": "http://example.org/", "quote": "q" * 2000}] + [{"title": "t" * 300}] * 19,
        )
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.json["timelines"] == [timeline]


# --------------------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "data", [b'{"id": "e1", ', b"not json", b'{"date": NaN, "title": "x"}', b"\xff\xfe{}"]
)
def test_malformed_json_is_400(w, data):
    r = w.raw("POST", EVENTS, data)
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/malformed-body"


def test_duplicate_keys_are_400(w, client):
    r = w.raw("POST", EVENTS, b'{"id": "e1", "date": "2021", "title": "a", "title": "b"}')
    assert r.status_code == 400 and "title" in r.json["detail"]
    assert client.get(f"{EVENTS}/e1").status_code == 404


def test_body_that_is_not_an_object_is_422(w):
    assert w.raw("POST", EVENTS, b"[1, 2]").status_code == 422
    assert w.raw("POST", EVENTS, b'"x"').status_code == 422


def _padded(size: int) -> bytes:
    body = json.dumps(ev()).encode()
    return body + b" " * (size - len(body))


def test_body_of_exactly_one_mebibyte_is_accepted(w):
    data = _padded(1_048_576)
    assert len(data) == 1_048_576
    r = w.raw("POST", EVENTS, data)
    assert r.status_code == 201, r.get_data(as_text=True)


@pytest.mark.parametrize(
    "method,path", [("POST", EVENTS), ("PUT", f"{EVENTS}/e1"), ("PATCH", f"{EVENTS}/e1")]
)
def test_body_one_byte_over_is_413(w, client, method, path):
    w.post(ev())
    r = w.raw(method, path, _padded(1_048_577))
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    assert client.get(f"{EVENTS}/e1").json["version"] == 1


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json"]
)
def test_post_without_json_content_type_is_415(w, client, content_type):
    r = w.raw("POST", EVENTS, json.dumps(ev()).encode(), content_type=content_type)
    assert r.status_code == 415, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert client.get(f"{EVENTS}/e1").status_code == 404


def test_put_without_json_content_type_is_415(w):
    assert (
        w.raw("PUT", f"{EVENTS}/e1", json.dumps(ev()).encode(), content_type="text/plain").status_code == 415
    )


def test_json_content_type_with_charset_is_accepted(w):
    r = w.raw("POST", EVENTS, json.dumps(ev()).encode(), content_type="application/json; charset=utf-8")
    assert r.status_code == 201


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json"])
def test_patch_accepts_merge_patch_and_json(w, content_type):
    w.post(ev())
    r = w.patch("e1", {"importance": 5}, content_type=content_type)
    assert r.status_code == 200 and r.json["importance"] == 5


def test_patch_with_other_content_type_is_415(w):
    w.post(ev())
    assert w.patch("e1", {"importance": 5}, content_type="text/plain").status_code == 415


# --------------------------------------------------------------------------- merge patch


def test_merge_patch_semantics(w, client):
    w.post(full_event())
    r = w.patch("e1", {"summary": None})
    assert r.status_code == 200 and r.json["summary"] is None and r.json["version"] == 2
    # nested merge: only the named member of location changes
    r = w.patch("e1", {"location": {"name": "Bagram"}})
    assert r.json["location"] == {"name": "Bagram", "country": "AF", "lat": 34.946, "lon": 69.265}
    # null inside an object removes that member
    r = w.patch("e1", {"location": {"lat": None, "lon": None}})
    assert r.json["location"] == {"name": "Bagram", "country": "AF"}
    # lists are replaced, not merged
    r = w.patch("e1", {"tags": ["evacuation"], "sources": [{"title": "Only"}]})
    assert r.json["tags"] == ["evacuation"] and r.json["sources"] == [{"title": "Only"}]
    # null removes location entirely, and an optional with a default returns to it
    r = w.patch("e1", {"location": None, "importance": None, "tags": None})
    assert r.json["location"] is None and r.json["importance"] == 3 and r.json["tags"] == []
    assert r.json["title"] == "All international troops leave Bagram"
    assert client.get(f"{EVENTS}/e1").json == r.json
    # read-only fields in a patch are ignored too
    r2 = w.patch("e1", {"version": 1, "display_date": "whatever"})
    assert r2.status_code == 200 and r2.json == r.json


def test_patch_removing_one_coordinate_is_422(w):
    w.post(full_event())
    assert_problem(w.patch("e1", {"location": {"lat": None}}), 422, "location")


def test_patch_absent_event_is_404(w):
    assert w.patch("nope", {"title": "x"}).status_code == 404


def test_patch_body_must_be_an_object(w):
    w.post(ev())
    assert (
        w.raw("PATCH", f"{EVENTS}/e1", b"[]", content_type="application/merge-patch+json").status_code == 422
    )


# --------------------------------------------------------------------------- If-Match


def _stale_and_current(w):
    stale = w.post(full_event()).headers["ETag"]
    current = w.patch("e1", {"importance": 5}).headers["ETag"]
    assert stale != current
    return stale, current


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_stale_is_412_and_changes_nothing(w, client, method):
    stale, current = _stale_and_current(w)
    before = client.get(f"{EVENTS}/e1").json
    feed = change_count(client)
    h = {"If-Match": stale}
    if method == "PUT":
        r = w.put("e1", ev(title="New"), headers=h)
    elif method == "PATCH":
        r = w.patch("e1", {"title": "New"}, headers=h)
    else:
        r = w.delete("e1", headers=h)
    assert r.status_code == 412 and r.mimetype == "application/problem+json"
    assert client.get(f"{EVENTS}/e1").json == before
    assert change_count(client) == feed


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_current_succeeds(w, client, method):
    _stale, current = _stale_and_current(w)
    h = {"If-Match": current}
    if method == "PUT":
        r = w.put("e1", ev(title="New"), headers=h)
        assert r.status_code == 200 and r.json["version"] == 3
    elif method == "PATCH":
        r = w.patch("e1", {"title": "New"}, headers=h)
        assert r.status_code == 200 and r.json["version"] == 3
    else:
        assert w.delete("e1", headers=h).status_code == 204


def test_if_match_on_absent_event_is_412(w, client):
    r = w.put("e1", ev(), headers={"If-Match": '"abc-v1"'})
    assert r.status_code == 412
    assert client.get(f"{EVENTS}/e1").status_code == 404


def test_if_match_star(w):
    assert w.put("e1", ev(), headers={"If-Match": "*"}).status_code == 412
    assert w.put("e1", ev()).status_code == 201
    assert w.put("e1", ev(title="x"), headers={"If-Match": "*"}).status_code == 200


# --------------------------------------------------------------------------- DELETE


def test_delete_then_404(w, client):
    w.post(ev())
    r = w.delete("e1")
    assert r.status_code == 204 and r.get_data() == b""
    assert client.get(f"{EVENTS}/e1").status_code == 404
    second = w.delete("e1")
    assert second.status_code == 404 and second.mimetype == "application/problem+json"


def test_recreated_event_starts_again_at_version_1(w):
    w.post(ev())
    w.patch("e1", {"importance": 1})
    w.delete("e1")
    assert w.post(ev()).json["version"] == 1


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "header, says",
    [
        ("Bearer ", "token is empty"),
        ("bearer", "token is empty"),
        ("Bearer    ", "token is empty"),
        ("Basic dXNlcjpwYXNz", "Only bearer tokens"),
        ("tl_abc", "Only bearer tokens"),
        ("Bearer tl_wrong-token", "unknown or revoked"),
        (None, "needs 'Authorization: Bearer <token>'"),
    ],
)
def test_each_kind_of_missing_or_bad_token_is_named(app, client, header, says):
    """An empty token (a shell variable that was never set) is told apart from another scheme."""
    make_token(app, "someone", "admin")
    headers = {"Authorization": header} if header is not None else {}
    r = client.post(EVENTS, data=json.dumps(ev()), content_type="application/json", headers=headers)
    assert r.status_code == 401 and says in r.json["detail"], r.json


@pytest.mark.parametrize("header", [None, "Bearer tl_wrong-token", "Bearer ", "Basic dXNlcjpwYXNz", "tl_abc"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "IMPORT"])
def test_no_or_wrong_token_is_401_with_bearer_challenge(app, client, header, method):
    make_token(app, "someone", "admin")
    headers = {"Authorization": header} if header is not None else {}
    body = json.dumps(ev())
    if method == "POST":
        r = client.post(EVENTS, data=body, content_type="application/json", headers=headers)
    elif method == "PUT":
        r = client.put(f"{EVENTS}/e1", data=body, content_type="application/json", headers=headers)
    elif method == "PATCH":
        r = client.patch(
            f"{EVENTS}/e1", data="{}", content_type="application/merge-patch+json", headers=headers
        )
    elif method == "DELETE":
        r = client.delete(f"{EVENTS}/e1", headers=headers)
    else:
        r = client.post(
            f"{EVENTS}/import", data=f"[{body}]", content_type="application/json", headers=headers
        )
    assert r.status_code == 401, r.get_data(as_text=True)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.mimetype == "application/problem+json"
    assert client.get(f"{EVENTS}/e1").status_code == 404


def test_read_token_is_403(app, client):
    reader = Writer(client, make_token(app, "reader", "read"))
    r = reader.post(ev())
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert reader.put("e1", ev()).status_code == 403
    assert client.get(f"{EVENTS}/e1").status_code == 404


def test_admin_can_write(app, client):
    admin = Writer(client, make_token(app, "admin", "admin"))
    assert admin.post(ev()).status_code == 201
    assert admin.patch("e1", {"importance": 2}).status_code == 200
    assert admin.delete("e1").status_code == 204


def test_bearer_scheme_is_case_insensitive(app, client):
    token = make_token(app, "w", "write")
    r = client.post(EVENTS, json=ev(), headers={"Authorization": f"bearer {token}"})
    assert r.status_code == 201


def test_writes_check_auth_before_the_body(client):
    r = client.post(EVENTS, data=b"not json", content_type="text/plain")
    assert r.status_code == 401


# --------------------------------------------------------------------------- reserved paths


@pytest.mark.parametrize("name", ["histogram", "facets", "import"])
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_reserved_paths_are_not_events(w, name, method):
    path = f"{EVENTS}/{name}"
    if method == "DELETE":
        r = w.delete(None, path=path)
    else:
        r = w.raw(method, path, json.dumps(ev(id=...)).encode())
    assert r.status_code == 405, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert "Allow" in r.headers


def test_get_on_import_is_405(client):
    r = client.get(f"{EVENTS}/import")
    assert r.status_code == 405 and "POST" in r.headers.get("Allow", "")


def test_post_on_histogram_is_405(w):
    r = w.post(ev(), path=f"{EVENTS}/histogram")
    assert r.status_code == 405
