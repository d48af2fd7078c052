"""GET /api/v1/events and friends over the real app and a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import EVENT_FIELDS, make_app

from service import dates, ingest
from service import store as store_module

SEED_EVENTS = json.loads((Path(__file__).resolve().parents[1] / "seed" / "events.json").read_text("utf-8"))


def ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [e["id"] for e in response.json["items"]]


def chrono_key(event):
    p = dates.parse(event["date"])
    return (p.start_day, p.end_day, event["id"])


# --------------------------------------------------------------------------- the seed in order


def test_seed_reads_back_in_chronological_order(seeded_reader):
    got = ids(seeded_reader.get("/api/v1/events?limit=500"))
    assert got == [e["id"] for e in sorted(SEED_EVENTS, key=chrono_key)]
    assert len(got) == len(SEED_EVENTS)


def test_decade_before_year_before_month_before_day(seeded_reader):
    got = ids(seeded_reader.get("/api/v1/events?limit=500"))
    order = [
        got.index(i)
        for i in (
            "1990s-taliban-rule-fails-to-take-the-north",
            "2001-northern-alliance-helps-topple-taliban",
            "2021-04-biden-announces-us-troop-withdrawal",
            "2021-07-02-international-troops-leave-bagram",
        )
    ]
    assert order == sorted(order)


def test_reverse_sort_is_the_exact_reverse(seeded_reader):
    forward = ids(seeded_reader.get("/api/v1/events?limit=500"))
    backward = ids(seeded_reader.get("/api/v1/events?limit=500&sort=-date"))
    assert backward == forward[::-1]


def test_event_has_every_contract_field(seeded_reader):
    event = seeded_reader.get("/api/v1/events/2021-07-02-international-troops-leave-bagram").json
    assert tuple(event) == EVENT_FIELDS
    assert event["start"] == event["end"] == "2021-07-02"
    assert event["display_date"] == "2 July 2021"
    assert event["version"] == 1


def iso_to_day(text):
    """Day number of an ISO day string as the API writes it (signed years allowed)."""
    sign = -1 if text.startswith("-") else 1
    y, m, d = text.lstrip("+-").split("-")
    return dates.day_number(sign * int(y), int(m), int(d))


# --------------------------------------------------------------------------- a synthetic store


def _event(event_id, date, **extra):
    return {"id": event_id, "date": date, "title": f"Event {event_id}", **extra}


SYNTH = [
    _event(
        "bce-ides",
        "-0043-03-15",
        tags=["rome"],
        actors=["Caesar"],
        location={"name": "Rome", "country": "IT", "lat": 41.9, "lon": 12.5},
    ),
    _event("bce-century", "-0100", tags=["rome"]),
    _event("open-start", "../1990", tags=["open"]),
    _event("unknown-start", "/1985", tags=["open"]),
    _event("decade-90s", "199X", tags=["decade"], importance=5),
    _event("year-2001", "2001", actors=["Northern Alliance"]),
    _event(
        "month-apr",
        "2021-04",
        tags=["war"],
        actors=["Joe Biden"],
        importance=4,
        location={"name": "Washington", "country": "US", "lat": 38.9, "lon": -77.0},
    ),
    _event(
        "day-jul02",
        "2021-07-02",
        tags=["war", "withdrawal"],
        actors=["United States"],
        importance=5,
        summary="Troops leave the airfield at night.",
        location={"name": "Bagram Airfield", "country": "AF", "lat": 34.946, "lon": 69.265},
    ),
    _event(
        "night-jul04",
        "2021-07-04/2021-07-05",
        tags=["refugees"],
        actors=["Afghan army"],
        location={"name": "Border", "country": "TJ", "lat": 37.5, "lon": 69.0},
    ),
    _event("approx-jul05", "2021-07-05~", tags=["diplomacy"], actors=["Emomali Rahmon"], importance=2),
    _event("open-end", "2021-07/..", tags=["open"]),
    _event("unknown-end", "2021-08/", tags=["open"]),
    _event("season-autumn", "2021-23", tags=["war"]),
    _event("datetime", "2021-07-04T23:00:00-05:00", tags=["war"]),
    _event("future", "Y12021", tags=["far"]),
    _event("century-20", "19XX", tags=["century"], importance=1),
]


def _synth(app):
    st = store_module.connect(app.config["DATABASE"])
    with st.write():
        st.upsert_timeline({"slug": "main", "title": "Main"})
    items = [dict(e, timelines=["main"]) if i % 2 == 0 else e for i, e in enumerate(SYNTH)]
    rows = ingest.prepare_batch(items, st)
    with st.write():
        ingest.write_rows(st, rows)
    return app.test_client()


@pytest.fixture(scope="module")
def synth_client(tmp_path_factory):
    """One app over SYNTH shared by the tests that only read: never write through it."""
    return _synth(make_app(tmp_path_factory.mktemp("synth")))


@pytest.fixture
def own_synth_client(app):
    """SYNTH in the test's own app, for the tests that write into it."""
    return _synth(app)


def expected(pred, events=SYNTH):
    return [e["id"] for e in sorted(events, key=chrono_key) if pred(dates.parse(e["date"]), e)]


def test_total_order_open_start_first_open_end_last_bce_numeric(synth_client):
    got = ids(synth_client.get("/api/v1/events?limit=500"))
    assert got[:2] == ["unknown-start", "open-start"]  # both open: ordered by end (1985 < 1990), then id
    assert got.index("bce-century") < got.index("bce-ides") < got.index("century-20")
    assert got[-1] == "future"
    assert got.index("month-apr") < got.index("open-end") < got.index("day-jul02")
    assert got == expected(lambda p, e: True)


@pytest.mark.parametrize(
    "window",
    [
        "from=2021-07&to=2021-07",
        "from=2021-07-05&to=2021-07-05",
        "from=1995&to=1995",
        "from=-0050&to=-0040",
        "from=2021",
        "to=1989",
        "from=1900&to=2000",
        "from=2022&to=2022",
        "from=199X&to=199X",
    ],
)
@pytest.mark.parametrize("match", ["overlap", "within"])
def test_window_filters_match_the_definition(synth_client, window, match):
    params = dict(p.split("=") for p in window.split("&"))
    lo = dates.parse_point(params["from"])[0] if "from" in params else None
    hi = dates.parse_point(params["to"])[1] if "to" in params else None

    def pred(p, e):
        if match == "overlap":
            return (hi is None or p.start_day <= hi) and (lo is None or p.end_day >= lo)
        if lo is not None and p.start_day == dates.OPEN_START:
            return False
        if hi is not None and p.end_day == dates.OPEN_END:
            return False
        return (lo is None or p.start_day >= lo) and (hi is None or p.end_day <= hi)

    got = ids(synth_client.get(f"/api/v1/events?{window}&match={match}&limit=500"))
    assert got == expected(pred)


def test_to_at_month_precision_runs_through_the_last_day(synth_client):
    got = ids(synth_client.get("/api/v1/events?from=2021-07-31&to=2021-07&match=within"))
    assert got == []
    got = ids(synth_client.get("/api/v1/events?from=2021-07-02&to=2021-07&match=within"))
    assert "night-jul04" in got and "day-jul02" in got


def test_datetime_counts_on_its_utc_day(synth_client):
    assert "datetime" in ids(synth_client.get("/api/v1/events?from=2021-07-05&to=2021-07-05&match=within"))
    assert "datetime" not in ids(synth_client.get("/api/v1/events?from=2021-07-04&to=2021-07-04"))


@pytest.mark.parametrize(
    "query,pred",
    [
        ("tag=war", lambda e: "war" in e.get("tags", [])),
        ("tag=war&tag=rome", lambda e: {"war", "rome"} & set(e.get("tags", []))),
        ("actor=Joe%20Biden", lambda e: "Joe Biden" in e.get("actors", [])),
        ("country=AF&country=TJ", lambda e: (e.get("location") or {}).get("country") in ("AF", "TJ")),
        ("timeline=main", lambda e: SYNTH.index(e) % 2 == 0),
        ("precision=month", lambda e: dates.parse(e["date"]).precision == "month"),
        (
            "precision=decade&precision=century",
            lambda e: dates.parse(e["date"]).precision in ("decade", "century"),
        ),
        ("min_importance=4", lambda e: e.get("importance", 3) >= 4),
        (
            "bbox=60,30,75,40",
            lambda e: (
                "lat" in (e.get("location") or {})
                and 60 <= e["location"]["lon"] <= 75
                and 30 <= e["location"]["lat"] <= 40
            ),
        ),
        (
            "bbox=170,-90,-60,90",
            lambda e: (
                "lat" in (e.get("location") or {})
                and (e["location"]["lon"] >= 170 or e["location"]["lon"] <= -60)
            ),
        ),
        ("tag=war&min_importance=4", lambda e: "war" in e.get("tags", []) and e.get("importance", 3) >= 4),
        (
            "tag=war&country=AF",
            lambda e: "war" in e.get("tags", []) and (e.get("location") or {}).get("country") == "AF",
        ),
        (
            "tag=open&from=2021&to=2021",
            lambda e: "open" in e.get("tags", []) and e["id"] in ("open-end", "unknown-end"),
        ),
        ("q=airfield", lambda e: "airfield" in (e.get("summary") or "").lower()),
        ("q=Rahmon", lambda e: "Emomali Rahmon" in e.get("actors", [])),
        ("q=Bagram", lambda e: e["id"] == "day-jul02"),
        ("q=airfield&tag=rome", lambda e: False),
    ],
)
def test_filters_and_their_combinations(synth_client, query, pred):
    got = ids(synth_client.get(f"/api/v1/events?{query}&limit=500"))
    assert got == [e["id"] for e in sorted(SYNTH, key=chrono_key) if pred(e)]


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        "AND",
        "OR NOT",
        "NEAR(a b)",
        "title:bagram",
        "*",
        "^air",
        'a" OR "b',
        "(((",
        "-",
        "%",
        "'; DROP TABLE events; --",
        "\\",
        "bagram*",
        "x" * 5000,
        "日本語",
        "\u0000",
    ],
)
def test_any_user_text_is_searched_as_words_and_never_errors(synth_client, q):
    response = synth_client.get("/api/v1/events", query_string={"q": q})
    assert response.status_code == 200


def test_fts_operators_are_plain_words(synth_client):
    assert ids(synth_client.get("/api/v1/events", query_string={"q": "Bagram OR Rome"})) == []
    assert ids(synth_client.get("/api/v1/events", query_string={"q": "bagram airfield"})) == ["day-jul02"]


def test_relevance_sort_puts_best_match_first(synth_client):
    got = ids(synth_client.get("/api/v1/events?q=airfield&sort=relevance"))
    assert got == ["day-jul02"]


@pytest.mark.parametrize("sort", ["date", "-date"])
@pytest.mark.parametrize("limit", [1, 2, 3, 7])
@pytest.mark.parametrize(
    "filters", ["", "from=1900&to=2030", "tag=open&tag=war", "from=2021-07&match=within"]
)
def test_pages_joined_equal_one_big_page(synth_client, sort, limit, filters):
    big = ids(synth_client.get(f"/api/v1/events?sort={sort}&limit=500&{filters}"))
    got, url, pages = [], f"/api/v1/events?sort={sort}&limit={limit}&{filters}", 0
    while url:
        response = synth_client.get(url)
        got += ids(response)
        assert len(response.json["items"]) <= limit
        nxt = response.json["next"]
        if nxt:
            link = response.headers["Link"]
            assert link.endswith('rel="next"') and "cursor=" in link
            url = link[1 : link.index(">")]
        else:
            assert "Link" not in response.headers
            url = None
        pages += 1
        assert pages < 100
    assert got == big


@pytest.mark.parametrize("sort", ["date", "-date"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_through_many_open_start_events(own_synth_client, app, sort, limit):
    """Events without a start share one start key and are ordered by end, then id; pages
    through them (where a cursor seeks on the end) lose and repeat nothing, ties included."""
    st = store_module.connect(app.config["DATABASE"])
    extra = [_event(f"os-{i}", f"../{1995 + i // 3}", tags=["open"]) for i in range(9)]
    extra += [_event(f"us-{i}", f"/{1995 + i}", tags=["open"]) for i in range(3)]
    with st.write():
        ingest.write_rows(st, ingest.prepare_batch(extra, st))
    query = f"sort={sort}&from=1996&to=2030"
    big = ids(own_synth_client.get(f"/api/v1/events?{query}&limit=500"))
    assert sum(1 for i in big if i.startswith(("os-", "us-"))) == 8  # the ones that end in 1996 or later
    got, cursor = [], None
    for _ in range(100):
        response = own_synth_client.get(
            f"/api/v1/events?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        )
        got += ids(response)
        cursor = response.json["next"]
        if not cursor:
            break
    assert got == big


def test_cursor_is_stable_while_events_are_added(own_synth_client, app):
    first = own_synth_client.get("/api/v1/events?limit=3")
    st = store_module.connect(app.config["DATABASE"])
    rows = ingest.prepare_batch([_event("aaa-early", "-2000")], st)  # sorts before the cursor
    with st.write():
        ingest.write_rows(st, rows)
    second = own_synth_client.get(f"/api/v1/events?limit=3&cursor={first.json['next']}")
    assert not set(ids(first)) & set(ids(second))
    assert ids(second) == expected(lambda p, e: True)[3:6]


def test_relevance_pages_follow_on(synth_client):
    first = synth_client.get("/api/v1/events?q=war&sort=relevance&limit=1")
    assert first.status_code == 200


def test_count_adds_total(synth_client):
    response = synth_client.get("/api/v1/events?limit=2&tag=open&count=true")
    assert response.json["total"] == 4 and len(response.json["items"]) == 2
    assert "total" not in synth_client.get("/api/v1/events?limit=2").json


# --------------------------------------------------------------------------- one event, caching


def test_get_event_has_etag_and_answers_304(synth_client):
    response = synth_client.get("/api/v1/events/day-jul02")
    assert response.status_code == 200 and response.headers["ETag"]
    again = synth_client.get("/api/v1/events/day-jul02", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_list_answers_304_on_its_etag(synth_client):
    response = synth_client.get("/api/v1/events?tag=war")
    again = synth_client.get("/api/v1/events?tag=war", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_absent_event_is_a_404_problem(synth_client):
    response = synth_client.get("/api/v1/events/no-such-event")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "no-such-event" in response.json["detail"]


# --------------------------------------------------------------------------- histogram and facets


def test_histogram_counts_each_event_in_the_bucket_of_its_start(synth_client):
    body = synth_client.get("/api/v1/events/histogram?interval=year").json
    assert body["interval"] == "year"
    counts = {b["key"]: b["count"] for b in body["buckets"]}
    assert counts["2021"] == 8 and counts["-0100"] == 1 and counts["-0043"] == 1
    assert body["unbucketed"] == 2  # the open and the unknown start
    assert sum(counts.values()) + body["unbucketed"] == len(SYNTH)
    starts = [iso_to_day(b["start"]) for b in body["buckets"]]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    "interval,key,start,end",
    [
        ("decade", "199X", "1990-01-01", "1999-12-31"),
        ("century", "19XX", "1900-01-01", "1999-12-31"),
        ("month", "2021-07", "2021-07-01", "2021-07-31"),
        ("day", "2021-07-05", "2021-07-05", "2021-07-05"),
    ],
)
def test_histogram_keys_are_edtf(synth_client, interval, key, start, end):
    buckets = synth_client.get(f"/api/v1/events/histogram?interval={interval}").json["buckets"]
    bucket = next(b for b in buckets if b["key"] == key)
    assert (bucket["start"], bucket["end"]) == (start, end)


def test_histogram_takes_filters(synth_client):
    body = synth_client.get("/api/v1/events/histogram?interval=month&from=2021-07&to=2021-07&tag=war").json
    assert body["buckets"] == [{"key": "2021-07", "start": "2021-07-01", "end": "2021-07-31", "count": 2}]
    assert body["unbucketed"] == 0


def test_facets_most_frequent_first(synth_client):
    body = synth_client.get("/api/v1/events/facets?facet=tags&facet=country&facet=precision&size=2").json
    assert body["tags"] == [{"value": "open", "count": 4}, {"value": "war", "count": 4}]
    assert body["country"][0]["count"] == 1 and len(body["country"]) == 2
    assert body["precision"][0] == {"value": "day", "count": 5}


def test_facets_take_filters(synth_client):
    body = synth_client.get("/api/v1/events/facets?facet=actors&from=2021-07&to=2021-07").json
    assert {a["value"] for a in body["actors"]} == {"United States", "Afghan army", "Emomali Rahmon"}


def test_non_event_paths_refuse_other_methods(synth_client):
    for path in ("/api/v1/events/histogram", "/api/v1/events/facets"):
        response = synth_client.delete(path)
        assert response.status_code == 405 and response.mimetype == "application/problem+json"


# --------------------------------------------------------------------------- every 400


@pytest.mark.parametrize(
    "query,param",
    [
        ("from=yesterday", "from"),
        ("from=2021-02-30", "from"),
        ("to=2021-13", "to"),
        ("from=2021-07/2021-08", "from"),
        ("from=2022&to=2021", "from"),
        ("match=near", "match"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=", "cursor"),
        ("sort=title", "sort"),
        ("sort=relevance", "sort"),
        ("min_importance=0", "min_importance"),
        ("min_importance=6", "min_importance"),
        ("precision=week", "precision"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=0,95,10,96", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=nan,0,1,1", "bbox"),
        ("count=maybe", "count"),
        ("format=xml", "format"),
    ],
)
def test_bad_parameter_is_a_400_problem_naming_it(synth_client, query, param):
    response = synth_client.get(f"/api/v1/events?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == 400 and body["type"] == "/problems/bad-request"
    assert param in body["errors"], body
    assert param in body["detail"]


def test_cursor_from_another_query_is_refused(synth_client):
    nxt = synth_client.get("/api/v1/events?limit=1&tag=war").json["next"]
    response = synth_client.get(f"/api/v1/events?limit=1&tag=open&cursor={nxt}")
    assert response.status_code == 400 and "cursor" in response.json["errors"]


def test_tampered_cursor_is_refused(synth_client):
    nxt = synth_client.get("/api/v1/events?limit=1").json["next"]
    tampered = nxt[:-2] + ("AA" if nxt[-2:] != "AA" else "BB")
    assert synth_client.get(f"/api/v1/events?limit=1&cursor={tampered}").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events/histogram?interval=week",
        "/api/v1/events/facets?facet=colour",
        "/api/v1/events/facets?size=0",
        "/api/v1/events/histogram?from=x",
    ],
)
def test_bad_histogram_and_facet_parameters(synth_client, path):
    response = synth_client.get(path)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_cached_aggregates_follow_every_write(own_synth_client, app):
    """Histogram and facets are reused per data version, never served stale."""
    first = own_synth_client.get("/api/v1/events/facets?facet=tags&size=50").json
    assert own_synth_client.get("/api/v1/events/facets?facet=tags&size=50").json == first
    st = store_module.connect(app.config["DATABASE"])
    with st.write():
        ingest.write_rows(st, ingest.prepare_batch([_event("cache-new", "2021-07-03", tags=["war"])], st))
    after = {
        t["value"]: t["count"]
        for t in own_synth_client.get("/api/v1/events/facets?facet=tags&size=50").json["tags"]
    }
    assert after["war"] == {t["value"]: t["count"] for t in first["tags"]}["war"] + 1
    hist = own_synth_client.get("/api/v1/events/histogram?interval=year").json
    with st.write():
        st.delete_event("cache-new")
    again = own_synth_client.get("/api/v1/events/histogram?interval=year").json
    assert {b["key"]: b["count"] for b in again["buckets"]}["2021"] == {
        b["key"]: b["count"] for b in hist["buckets"]
    }["2021"] - 1
