"""service.web.fastlane answers exactly as Flask does, or leaves the request to Flask.

Two apps share one database, one with the fast lane and one without; every request is
sent to both, and status, headers and body must be identical (the request id is fixed
by the client so that it matches too). The lane must also really be taken for the hot
requests, and never for the others.
"""

from __future__ import annotations

import random
from urllib.parse import quote, urlsplit

import pytest
from factories import TIMELINES, Generator

from service import create_app, ingest
from service import store as store_module


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("lane") / "timeline.db")
    fast = create_app({"DATABASE": db, "TESTING": True, "FAST_LANE": 1})
    slow = create_app({"DATABASE": db, "TESTING": True, "FAST_LANE": 0})
    st = store_module.connect(db)
    gen = Generator(8)
    items = [gen.event(i, [t["slug"] for t in TIMELINES]) for i in range(1500)]
    items += [
        {"id": "open-start", "date": "../2021-07", "title": "Open start"},
        {"id": "a", "date": "2021-07-03", "title": "Short id"},
    ]
    ingest.import_items(st, items, create_timelines=True)
    st.conn.execute("ANALYZE")
    lane = fast.wsgi_app.app
    assert lane.__class__.__name__ == "FastLane"
    return fast, slow, lane, [i["id"] for i in items]


def both(apps, path, method="GET", headers=None):
    fast, slow, lane, _ids = apps
    headers = {"X-Request-ID": "same-id", **(headers or {})}
    before = lane.served
    answers = []
    for app in (fast, slow):
        response = app.test_client().open(path, method=method, headers=headers)
        response.get_data()  # a streamed body is read, and its context closed, before the next request
        response.close()
        answers.append(response)
    a, b = answers
    assert a.status_code == b.status_code, path
    assert sorted(a.headers.items()) == sorted(b.headers.items()), path
    assert a.data == b.data, path
    return a, lane.served - before


def window_paths(seed=1, n=60):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        y = r.randint(1850, 2030)
        lo = f"{y:04d}-{r.randint(1, 12):02d}"
        hi = r.choice([lo, f"{y + r.randint(0, 5):04d}", f"{lo}-28"])
        q = [("from", lo), ("to", hi)]
        q += r.sample(
            [
                ("limit", str(r.randint(1, 60))),
                ("match", r.choice(["overlap", "within"])),
                ("sort", r.choice(["date", "-date"])),
                ("count", r.choice(["true", "false"])),
            ],
            r.randint(0, 4),
        )
        r.shuffle(q)
        out.append("/api/v1/events?" + "&".join(f"{k}={quote(v)}" for k, v in q))
    return out + [
        "/api/v1/events",
        "/api/v1/events?limit=500",
        "/api/v1/events?from=..",
        "/api/v1/events?to=2021",
    ]


def test_hot_pages_are_identical_and_served_by_the_lane(apps):
    served = 0
    for path in window_paths():
        response, taken = both(apps, path)
        served += taken
        # follow the cursor twice: cursors issued by either path are the same bytes
        for _ in range(2):
            link = response.headers.get("Link")
            if not link:
                break
            url = urlsplit(link[1 : link.index(">")])
            response, taken = both(apps, f"{url.path}?{url.query}")
            served += taken
    assert served >= 60


def test_events_by_id_are_identical_and_served_by_the_lane(apps):
    ids = apps[3]
    served = 0
    for event_id in random.Random(2).sample(ids, 40) + ["a", "open-start"]:
        served += both(apps, f"/api/v1/events/{quote(event_id)}")[1]
    assert served == 42


@pytest.mark.parametrize(
    "path,headers",
    [
        ("/api/v1/events/unicodé-id", {}),
        ("/api/v1/events/dotted.id", {}),
        ("/api/v1/events/UPPER", {}),
        ("/api/v1/events/" + "a" * 121, {}),
        ("/api/v1/events/a%0A", {}),
        ("/api/v1/events/no-such-event", {}),
        ("/api/v1/events/histogram", {}),
        ("/api/v1/events/facets", {}),
        ("/api/v1/events/import", {}),
        ("/api/v1/events/", {}),
        ("/api/v1/events/a/b", {}),
        ("/api/v1/events?from=2021&from=2022", {}),
        ("/api/v1/events?from=2022&to=2021", {}),
        ("/api/v1/events?limit=0", {}),
        ("/api/v1/events?cursor=not-a-cursor", {}),
        ("/api/v1/events?q=war", {}),
        ("/api/v1/events?tag=war&from=2000", {}),
        ("/api/v1/events?format=csv&from=2021", {}),
        ("/api/v1/events?from=2021", {"Accept": "text/csv"}),
        ("/api/v1/events?from=2021", {"Accept": "application/x-ndjson"}),
        ("/api/v1/events?from=2021", {"Accept-Encoding": "gzip"}),
        ("/api/v1/events?from=2021", {"If-None-Match": '"abc"'}),
        ("/api/v1/events/open-start", {"If-None-Match": '"abc"'}),
        ("/api/v1/events/open-start", {"Accept-Encoding": "gzip, br"}),
        ("/api/v1/timelines", {}),
        ("/api/v1/events?from=2021&limit=5&" + "x=" + "y" * 17000, {}),
    ],
)
def test_everything_else_goes_to_flask_unchanged(apps, path, headers):
    assert both(apps, path, headers=headers)[1] == 0


def test_other_methods_go_to_flask(apps):
    assert both(apps, "/api/v1/events?from=2021", method="HEAD")[1] == 0
    assert both(apps, "/api/v1/events/open-start", method="OPTIONS")[1] == 0


def test_a_cursor_from_another_query_gets_flasks_problem(apps):
    fast = apps[0]
    page = fast.test_client().get("/api/v1/events?from=1900&to=2030&limit=2").get_json()
    response, taken = both(apps, f"/api/v1/events?from=1950&to=2030&limit=2&cursor={page['next']}")
    assert response.status_code == 400 and taken == 0


def test_the_lane_follows_the_accept_negotiation_of_the_views(apps):
    # JSON by negotiation: the lane answers; another format, or none acceptable: Flask does.
    assert both(apps, "/api/v1/events?from=2021", headers={"Accept": "application/json, text/plain"})[1] == 1
    assert both(apps, "/api/v1/events?from=2021", headers={"Accept": "text/csv;q=0.5, */*;q=0.1"})[1] == 0
    # One event is JSON whatever the Accept header says, in the view and in the lane.
    assert both(apps, "/api/v1/events/open-start", headers={"Accept": "text/csv"})[1] == 1


def test_the_lane_routes_by_the_url_map_and_the_views_marks(apps):
    from service.api import events
    from service.slugs import RESERVED_IDS
    from service.web.fastlane import routes

    static, dynamic = routes(apps[0])
    assert static == {"/api/v1/events": events.fast_page}
    # The names a static rule takes under /events/ are exactly the ids the views reserve.
    assert dynamic == {"/api/v1/events": (events.fast_event, RESERVED_IDS)}


def test_every_request_hook_of_the_app_is_accounted_for_by_the_lane(apps):
    """Pins the app's hooks: a new before/after-request or teardown hook must be applied
    by the lane (and named in HOOKS with how), or this test fails."""
    from service.web.fastlane import HOOKS, registered_hooks

    assert registered_hooks(apps[0]) == set(HOOKS)
    assert registered_hooks(apps[1]) == set(HOOKS)


def test_a_hook_the_lane_does_not_know_stops_it(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "t.db"), "TESTING": True, "FAST_LANE": 1})

    @app.before_request
    def new_rule():
        return None

    with pytest.raises(RuntimeError, match="new_rule"):
        app.test_client().get("/api/v1/events")
    quiet = create_app({"DATABASE": str(tmp_path / "t.db"), "FAST_LANE": 1})
    quiet.before_request(new_rule)
    lane = quiet.wsgi_app.app
    assert quiet.test_client().get("/api/v1/events").status_code == 200
    assert lane.served == 0


def test_an_error_in_the_lane_raises_under_testing_and_falls_back_otherwise(apps, tmp_path, monkeypatch):
    from service.api import events

    def broken(_value):
        raise RuntimeError("broken lane")

    monkeypatch.setattr(events, "is_slug", broken)  # used by the lane only, not by the view
    with pytest.raises(RuntimeError, match="broken lane"):
        apps[0].test_client().get("/api/v1/events/open-start")
    db = apps[0].config["DATABASE"]
    production = create_app({"DATABASE": db, "FAST_LANE": 1})
    response = production.test_client().get("/api/v1/events/open-start")
    assert response.status_code == 200 and production.wsgi_app.app.served == 0


def test_an_app_that_routes_by_host_gets_no_lane(tmp_path):
    from service.web.fastlane import routes

    app = create_app({"DATABASE": str(tmp_path / "t.db"), "TESTING": True, "SERVER_NAME": "example.org"})
    assert routes(app) == ({}, {})
