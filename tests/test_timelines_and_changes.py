"""Timelines (CRUD, derived fields, cascade) and the change feed (since, replay after random writes)."""

from __future__ import annotations

import json
import random

import pytest
from factories import headers_for

TL = "/api/v1/timelines"
EVENTS = "/api/v1/events"


@pytest.fixture
def h(auth_headers):
    return auth_headers


@pytest.fixture
def sh(seeded_headers):
    return seeded_headers


def all_events(client, path=EVENTS, query="") -> list[dict]:
    out, url = [], f"{path}?limit=7{query}"
    while True:
        r = client.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)
        out += r.json["items"]
        if not r.json["next"]:
            return out
        url = f"{path}?limit=7{query}&cursor={r.json['next']}"


def all_changes(client, since=0, limit=23) -> list[dict]:
    out = []
    while True:
        r = client.get(f"/api/v1/changes?since={since}&limit={limit}")
        assert r.status_code == 200, r.get_data(as_text=True)
        page = r.json
        if not page["changes"]:
            assert page["next_since"] == since
            return out
        out += page["changes"]
        assert page["next_since"] == page["changes"][-1]["seq"]
        since = page["next_since"]


# --------------------------------------------------------------------------- timelines CRUD


def test_timeline_lifecycle_with_derived_fields(client, h):
    r = client.post(TL, json={"slug": "war", "title": "  The war  ", "description": "d"}, headers=h)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/api/v1/timelines/war") and r.headers["ETag"]
    tl = r.json
    assert tl["title"] == "The war" and tl["event_count"] == 0 and tl["start"] is None and tl["end"] is None
    assert client.post(TL, json={"slug": "war", "title": "Again"}, headers=h).status_code == 409

    assert (
        client.post(
            EVENTS, json={"id": "a", "date": "2021-07-02", "title": "A", "timelines": ["war"]}, headers=h
        ).status_code
        == 201
    )
    assert (
        client.post(
            EVENTS, json={"id": "b", "date": "2021-04/2021-07", "title": "B", "timelines": ["war"]}, headers=h
        ).status_code
        == 201
    )
    assert client.post(EVENTS, json={"id": "c", "date": "1990", "title": "C"}, headers=h).status_code == 201
    tl = client.get(f"{TL}/war").json
    assert (tl["event_count"], tl["start"], tl["end"]) == (2, "2021-04-01", "2021-07-31")
    assert client.get(TL).json == {"items": [tl]}

    # an open end makes the timeline's end null; an unknown start its start null
    client.post(EVENTS, json={"id": "d", "date": "2021-08/..", "title": "D", "timelines": ["war"]}, headers=h)
    tl = client.get(f"{TL}/war").json
    assert (tl["event_count"], tl["start"], tl["end"]) == (3, "2021-04-01", None)
    client.post(EVENTS, json={"id": "e", "date": "/2021", "title": "E", "timelines": ["war"]}, headers=h)
    tl = client.get(f"{TL}/war").json
    assert (tl["event_count"], tl["start"], tl["end"]) == (4, None, None)


def test_timeline_put_patch_and_if_match(client, h):
    r = client.put(f"{TL}/war", json={"title": "War", "description": "about"}, headers=h)
    assert r.status_code == 201 and r.json["version"] == 1
    stale = r.headers["ETag"]
    same = client.put(f"{TL}/war", json={"title": "War", "description": "about"}, headers=h)
    assert same.status_code == 200 and same.json["version"] == 1
    r = client.patch(
        f"{TL}/war",
        data=json.dumps({"description": None}),
        content_type="application/merge-patch+json",
        headers=h,
    )
    assert r.status_code == 200 and r.json["description"] is None and r.json["version"] == 2
    assert r.json["title"] == "War"
    r = client.put(f"{TL}/war", json={"title": "X"}, headers={**h, "If-Match": stale})
    assert r.status_code == 412
    r = client.patch(f"{TL}/war", json={"title": "X"}, headers={**h, "If-Match": stale})
    assert r.status_code == 412
    assert client.delete(f"{TL}/war", headers={**h, "If-Match": stale}).status_code == 412
    assert client.get(f"{TL}/war").json["title"] == "War"
    current = client.get(f"{TL}/war").headers["ETag"]
    assert client.put(f"{TL}/war", json={"title": "X"}, headers={**h, "If-Match": current}).status_code == 200
    # read-only fields are ignored: GET then PUT back is a no-op
    got = client.get(f"{TL}/war").json
    back = client.put(f"{TL}/war", json=got, headers=h)
    assert back.status_code == 200 and back.json == got


@pytest.mark.parametrize(
    "body,field",
    [
        ({"slug": "Bad Slug", "title": "x"}, "slug"),
        ({"slug": "import", "title": "x"}, "slug"),
        ({"slug": "ok"}, "title"),
        ({"slug": "ok", "title": ""}, "title"),
        ({"slug": "ok", "title": "x" * 201}, "title"),
        ({"slug": "ok", "title": "x", "colour": "red"}, "colour"),
        ({"title": "x"}, "slug"),
    ],
)
def test_timeline_validation_names_the_field(client, h, body, field):
    r = client.post(TL, json=body, headers=h)
    assert r.status_code == 422 and field in r.json["errors"], r.get_data(as_text=True)


def test_timeline_writes_need_a_token(app, client):
    assert client.post(TL, json={"slug": "x", "title": "x"}).status_code == 401
    reader = headers_for(app, "read")
    assert client.post(TL, json={"slug": "x", "title": "x"}, headers=reader).status_code == 403
    assert client.delete(f"{TL}/x", headers=reader).status_code == 403


def test_timeline_404s(client, h):
    assert client.get(f"{TL}/nope").status_code == 404
    assert client.get(f"{TL}/nope/events").status_code == 404
    assert client.delete(f"{TL}/nope", headers=h).status_code == 404
    assert client.patch(f"{TL}/nope", json={"title": "x"}, headers=h).status_code == 404


def test_delete_timeline_with_events_is_409_unless_cascade(seeded_client, sh):
    client = seeded_client
    members = [e for e in all_events(client) if "tajikistan-border" in e["timelines"]]
    assert members
    before_seq = all_changes(client)[-1]["seq"]
    r = client.delete(f"{TL}/tajikistan-border", headers=sh)
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert client.get(f"{TL}/tajikistan-border").status_code == 200
    assert all_changes(client)[-1]["seq"] == before_seq
    assert client.delete(f"{TL}/tajikistan-border?cascade=maybe", headers=sh).status_code == 400

    r = client.delete(f"{TL}/tajikistan-border?cascade=true", headers=sh)
    assert r.status_code == 204
    assert client.get(f"{TL}/tajikistan-border").status_code == 404
    for old in members:
        now = client.get(f"{EVENTS}/{old['id']}").json
        assert "tajikistan-border" not in now["timelines"]
        assert now["timelines"] == [t for t in old["timelines"] if t != "tajikistan-border"]
        assert now["version"] == old["version"] + 1
        assert now["created_at"] == old["created_at"]
    detached = all_changes(client, since=before_seq)
    assert sorted(c["id"] for c in detached) == sorted(e["id"] for e in members)
    assert all(c["op"] == "upsert" and "tajikistan-border" not in c["event"]["timelines"] for c in detached)
    # events of other timelines are untouched; the timeline can no longer be named
    assert client.get(f"{TL}/afghanistan-2021").json["event_count"] == 19
    r = client.post(
        EVENTS, json={"date": "2021", "title": "x", "timelines": ["tajikistan-border"]}, headers=sh
    )
    assert r.status_code == 422 and "timelines" in r.json["errors"]


def test_delete_empty_timeline(client, h):
    client.post(TL, json={"slug": "empty", "title": "Empty"}, headers=h)
    assert client.delete(f"{TL}/empty", headers=h).status_code == 204
    assert client.get(TL).json == {"items": []}


def test_timeline_events_take_every_filter(seeded_client):
    client = seeded_client
    slug = "afghanistan-2021"
    members = [e for e in all_events(client) if slug in e["timelines"]]
    assert [e["id"] for e in all_events(client, f"{TL}/{slug}/events")] == [e["id"] for e in members]
    for query in (
        "&from=2021-07-04&to=2021-07-05",
        "&q=Taliban",
        "&tag=military",
        "&min_importance=4",
        "&country=AF",
        "&precision=month",
        "&sort=-date",
        "&from=2021-07&match=within",
        "&actor=Taliban",
        "&bbox=60,29,75,39",
        "&timeline=tajikistan-border",
    ):
        expected = [e["id"] for e in all_events(client, EVENTS, query) if slug in e["timelines"]]
        got = [e["id"] for e in all_events(client, f"{TL}/{slug}/events", query)]
        assert got == expected, query
    r = client.get(f"{TL}/{slug}/events?count=true&limit=3")
    assert r.json["total"] == len(members) and len(r.json["items"]) == 3
    nd = client.get(f"{TL}/{slug}/events?format=ndjson")
    assert nd.status_code == 200 and len(nd.get_data(as_text=True).splitlines()) == len(members)
    assert client.get(f"{TL}/{slug}/events?from=bad").status_code == 400
    assert client.get(f"{TL}/{slug}/events?limit=0").status_code == 400


# --------------------------------------------------------------------------- change feed


def test_change_feed_shape_and_since(client, h):
    assert client.get("/api/v1/changes").json == {"changes": [], "next_since": 0}
    client.post(EVENTS, json={"id": "a", "date": "2021", "title": "A"}, headers=h)
    client.patch(f"{EVENTS}/a", json={"title": "A2"}, headers=h)
    client.delete(f"{EVENTS}/a", headers=h)
    feed = client.get("/api/v1/changes").json
    changes = feed["changes"]
    assert [c["op"] for c in changes] == ["upsert", "upsert", "delete"]
    assert [c["seq"] for c in changes] == sorted({c["seq"] for c in changes})
    assert feed["next_since"] == changes[-1]["seq"]
    assert changes[0]["event"]["title"] == "A" and changes[1]["event"]["version"] == 2
    assert "event" not in changes[2] and changes[2]["id"] == "a" and changes[2]["at"].endswith("Z")
    # since is exclusive; absent means 0
    s1 = changes[0]["seq"]
    assert client.get(f"/api/v1/changes?since={s1}").json["changes"] == changes[1:]
    assert client.get("/api/v1/changes?since=0").json == feed
    assert client.get(f"/api/v1/changes?since={changes[-1]['seq']}").json == {
        "changes": [],
        "next_since": changes[-1]["seq"],
    }
    assert client.get("/api/v1/changes?limit=1").json["changes"] == changes[:1]


@pytest.mark.parametrize(
    "query", ["since=-1", "since=abc", "since=1.5", "since=", "limit=0", "limit=1001", "limit=x"]
)
def test_change_feed_bad_parameters_are_400(client, query):
    r = client.get(f"/api/v1/changes?{query}")
    assert r.status_code == 400, (query, r.get_data(as_text=True))
    assert r.mimetype == "application/problem+json"
    assert query.split("=")[0] in r.json["errors"]


def test_replaying_the_feed_after_a_random_mix_of_writes_gives_exactly_the_events(seeded_client, sh):
    client = seeded_client
    rng = random.Random(7)
    timelines = ["afghanistan-2021", "tajikistan-border"]
    ids = [e["id"] for e in all_events(client)]
    tags = ["military", "refugees", "diplomacy", "border"]
    dates = [
        "2021",
        "2021-07",
        "2021-07-05",
        "199X",
        "2021-07/..",
        "/2021",
        "-0043-03-15",
        "2021-04/2021-07~",
    ]
    counter = [0]

    def body(event_id=None):
        counter[0] += 1
        b = {
            "date": rng.choice(dates),
            "title": f"Event {counter[0]} {rng.random():.6f}",
            "importance": rng.randint(1, 5),
            "tags": rng.sample(tags, rng.randint(0, 2)),
            "timelines": rng.sample(timelines, rng.randint(0, 2)),
        }
        if rng.random() < 0.5:
            b["location"] = {
                "name": "Somewhere",
                "country": rng.choice(["AF", "TJ"]),
                "lat": round(rng.uniform(-90, 90), 4),
                "lon": round(rng.uniform(-180, 180), 4),
            }
        if event_id is not None and rng.random() < 0.8:
            b["id"] = event_id
        return b

    statuses = {}
    for step in range(150):
        op = rng.choices(["create", "put", "patch", "delete", "import", "noop"], [30, 20, 25, 15, 8, 2])[0]
        if op == "create":
            r = client.post(EVENTS, json=body(f"rnd-{step}"), headers=sh)
            assert r.status_code == 201, r.get_data(as_text=True)
            ids.append(r.json["id"])
        elif op == "put":
            target = rng.choice(ids + [f"new-{step}"])
            b = body()
            b.pop("id", None)
            r = client.put(f"{EVENTS}/{target}", json=b, headers=sh)
            assert r.status_code in (200, 201), r.get_data(as_text=True)
            if target not in ids:
                ids.append(target)
        elif op == "patch" and ids:
            target = rng.choice(ids)
            patch = rng.choice(
                [
                    {"summary": f"s{step}"},
                    {"summary": None},
                    {"location": None},
                    {"location": {"name": "Patched"}},
                    {"importance": rng.randint(1, 5)},
                    {"timelines": rng.sample(timelines, 1)},
                    {"tags": None},
                ]
            )
            r = client.patch(
                f"{EVENTS}/{target}",
                data=json.dumps(patch),
                content_type="application/merge-patch+json",
                headers=sh,
            )
            assert r.status_code in (200, 422), r.get_data(as_text=True)
        elif op == "delete" and ids:
            target = ids.pop(rng.randrange(len(ids)))
            assert client.delete(f"{EVENTS}/{target}", headers=sh).status_code == 204
        elif op == "import":
            batch = [
                body(rng.choice(ids) if ids and rng.random() < 0.5 else f"imp-{step}-{i}") for i in range(5)
            ]
            seen, unique = set(), []
            for b in batch:
                if b.get("id") not in seen:
                    unique.append(b)
                    seen.add(b.get("id"))
            r = client.post(
                f"{EVENTS}/import", data=json.dumps(unique), content_type="application/json", headers=sh
            )
            assert r.status_code == 200, r.get_data(as_text=True)
            ids = [e["id"] for e in all_events(client)]
        else:  # a write that changes nothing
            if ids:
                got = client.get(f"{EVENTS}/{rng.choice(ids)}").json
                assert client.put(f"{EVENTS}/{got['id']}", json=got, headers=sh).json == got
        statuses[op] = statuses.get(op, 0) + 1
    assert all(statuses.get(op) for op in ("create", "put", "patch", "delete", "import")), statuses
    # and a timeline deleted with cascade, which rewrites its events
    assert client.delete(f"{TL}/tajikistan-border?cascade=true", headers=sh).status_code == 204

    replica: dict[str, dict] = {}
    seqs = []
    for change in all_changes(client, since=0, limit=37):
        seqs.append(change["seq"])
        if change["op"] == "upsert":
            assert change["event"]["id"] == change["id"]
            replica[change["id"]] = change["event"]
        else:
            assert change["op"] == "delete"
            del replica[change["id"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    current = {e["id"]: e for e in all_events(client)}
    assert len(current) > 20
    assert replica == current


def test_timeline_etag_changes_when_its_events_move(client, h):
    client.post(TL, json={"slug": "war", "title": "War"}, headers=h)
    client.post(EVENTS, json={"id": "a", "date": "2021", "title": "A", "timelines": ["war"]}, headers=h)
    first = client.get(f"{TL}/war")
    listing = client.get(TL)
    assert client.get(f"{TL}/war", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    client.patch(f"{EVENTS}/a", json={"date": "2019-05"}, headers=h)
    again = client.get(f"{TL}/war", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and (again.json["start"], again.json["end"]) == (
        "2019-05-01",
        "2019-05-31",
    )
    assert client.get(TL, headers={"If-None-Match": listing.headers["ETag"]}).status_code == 200
    # and an If-Match naming the old representation is stale
    r = client.put(f"{TL}/war", json={"title": "New"}, headers={**h, "If-Match": first.headers["ETag"]})
    assert r.status_code == 412
