"""service.formats: plain function calls, no app, no database."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json

import icalendar
import orjson
import pytest

from service import formats


def _derived(edtf: str) -> dict:
    from service import dates

    return dates.parse(edtf).as_fields()


def make(id, date, **kw):
    """An event as API.md section 1 shapes it, derived fields included."""
    ev = {
        "id": id,
        "date": date,
        "title": kw.pop("title", f"Title of {id}"),
        "summary": kw.pop("summary", ""),
        "importance": kw.pop("importance", 3),
        "tags": kw.pop("tags", []),
        "actors": kw.pop("actors", []),
        "timelines": kw.pop("timelines", []),
        "location": kw.pop("location", None),
        "sources": kw.pop("sources", []),
        "created_at": "2026-11-24T19:20:00Z",
        "updated_at": kw.pop("updated_at", "2026-11-24T19:20:00Z"),
        "version": kw.pop("version", 1),
    }
    ev.update(_derived(date))
    ev.update(kw)
    return ev


VARIED = [
    make(
        "day",
        "2021-07-02",
        title="All international troops leave Bagram",
        summary='The largest base.\nSecond line, with "quotes" and, commas.\r\nCRLF too.',
        tags=["withdrawal", "military"],
        actors=["United States", "NATO; allies"],
        timelines=["afghanistan-2021"],
        location={"name": "Bagram Airfield", "country": "AF", "lat": 34.946, "lon": 69.265},
        sources=[
            {
                "url": "https://example.org/a?x=1&y=2",
                "title": "Report; part 1",
                "publisher": "RFE/RL",
                "published": "2021-07-05",
                "quote": 'On July 2, all "international" troops left,\nfinally.',
            }
        ],
    ),
    make(
        "bce",
        "-0043-03-15",
        title="-Caesar assassinated",
        summary='=HYPERLINK("x")',
        actors=["+Brutus", "@Cassius", "back\\slash;semi"],
        importance=5,
        location={"name": "Rome", "lat": 41.8931, "lon": 12.4828},
    ),
    make("bce-year", "-0100", title="'Quoted title", summary="\ttab first"),
    make("open-end", "2021-07/..", title="Ünïcödé 🎉 — 日本語", summary="@everyone"),
    make("open-start", "../2021", title="Until", location={"country": "FR"}),
    make("unknown-end", "2021-07/", title="=1+1"),
    make("decade", "199X", title="Nineties", importance=1, tags=["a", "b", "c"]),
    make(
        "interval",
        "2021-04/2021-07-05~",
        title="Drawdown",
        location={"name": "Kabul", "country": "AF", "lat": -0.5, "lon": -179.99999},
    ),
    make("far", "Y12021", title="Far future", sources=[{"title": "no url"}]),
]


def writable(ev: dict) -> dict:
    """What csv_read gives back for an event: its writable fields, normalised."""
    out = {"id": ev["id"], "date": ev["date"], "title": ev["title"]}
    if ev.get("summary"):
        out["summary"] = ev["summary"]
    out["importance"] = ev["importance"]
    for k in ("tags", "actors", "timelines"):
        out[k] = list(ev.get(k) or [])
    loc = {k: v for k, v in (ev.get("location") or {}).items() if v not in (None, "")}
    if loc:
        out["location"] = loc
    out["sources"] = list(ev.get("sources") or [])
    return out


def csv_text(events) -> str:
    return "".join(formats.csv_stream(events))


def csv_rows(events) -> list[dict]:
    return list(csv.DictReader(io.StringIO(csv_text(events), newline="")))


# --------------------------------------------------------------------------
# media types
# --------------------------------------------------------------------------


def test_media_types():
    assert formats.MEDIA_TYPES == {
        "json": "application/json",
        "ndjson": "application/x-ndjson",
        "csv": "text/csv; charset=utf-8",
        "geojson": "application/geo+json",
        "ics": "text/calendar; charset=utf-8",
        "timelinejs": "application/json",
        "vis": "application/json",
    }


# --------------------------------------------------------------------------
# NDJSON
# --------------------------------------------------------------------------


def test_ndjson_one_line_per_event():
    chunks = list(formats.ndjson(VARIED))
    assert len(chunks) == len(VARIED)
    assert all(c.endswith(b"\n") and c.count(b"\n") == 1 for c in chunks)
    assert [json.loads(c) for c in chunks] == VARIED


@pytest.mark.parametrize("raw", [b'{"id":"x"}', '{"id":"x"}', b'{"id":"x"}\n'])
def test_ndjson_passes_preserialised_items(raw):
    out = list(formats.ndjson([raw, {"id": "y"}]))
    assert out == [b'{"id":"x"}\n', b'{"id":"y"}\n']


def test_ndjson_is_lazy():
    def gen():
        yield {"id": "a"}
        raise AssertionError("read too far")

    it = formats.ndjson(gen())
    assert next(it) == b'{"id":"a"}\n'


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------


def test_csv_header_and_crlf():
    text = csv_text([VARIED[0]])
    header, _ = text.split("\r\n", 1)
    assert header.split(",") == list(formats.CSV_COLUMNS)
    assert text.endswith("\r\n")


def test_csv_empty_is_header_only():
    assert csv_text([]) == ",".join(formats.CSV_COLUMNS) + "\r\n"


def test_csv_rfc4180_quoting():
    row = csv_text([VARIED[0]]).split("\r\n", 1)[1]
    # quotes doubled inside a quoted field; embedded newlines kept inside quotes
    assert '"The largest base.\nSecond line, with ""quotes"" and, commas.\r\nCRLF too."' in row
    assert csv_rows([VARIED[0]])[0]["summary"] == VARIED[0]["summary"]


def test_csv_lists_joined_with_semicolons():
    r = csv_rows([VARIED[0], VARIED[6]])
    assert r[0]["tags"] == "withdrawal;military"
    assert r[0]["actors"] == "United States;NATO\\; allies"
    assert r[0]["timelines"] == "afghanistan-2021"
    assert r[0]["source_urls"] == "https://example.org/a?x=1&y=2"
    assert r[1]["tags"] == "a;b;c"
    assert r[1]["actors"] == ""


def test_csv_values():
    r = csv_rows(VARIED)
    assert r[0]["lat"] == "34.946" and r[0]["lon"] == "69.265"
    assert r[0]["approximate"] == "false" and r[7]["approximate"] == "true"
    assert r[3]["end"] == "" and r[4]["start"] == ""  # open ends are empty cells
    assert json.loads(r[0]["sources"]) == VARIED[0]["sources"]
    assert r[1]["sources"] == ""


@pytest.mark.parametrize(
    "column,index,expected",
    [
        ("title", 1, "'-Caesar assassinated"),
        ("summary", 1, '\'=HYPERLINK("x")'),
        ("actors", 1, "'+Brutus;@Cassius;back\\\\slash\\;semi"),
        ("title", 2, "''Quoted title"),  # a leading ' is escaped the same way
        ("summary", 2, "'\ttab first"),
        ("summary", 3, "'@everyone"),
        ("title", 5, "'=1+1"),
        ("date", 1, "'-0043-03-15"),  # negative years too (Excel: -0043-03-15 = -61)
        ("start", 1, "'-0043-03-15"),
        ("end", 2, "'-0100-12-31"),
        ("start", 8, "'+12021-01-01"),
        ("lat", 7, "-0.5"),  # numbers we write are numbers, not formulas
        ("lon", 7, "-179.99999"),
        ("title", 0, "All international troops leave Bagram"),
    ],
)
def test_csv_formula_injection_neutralised(column, index, expected):
    assert csv_rows(VARIED)[index][column] == expected


def test_csv_no_cell_starts_a_formula():
    for row in csv_rows(VARIED):
        for col, v in row.items():
            if col in ("lat", "lon"):
                float(v or 0)
                continue
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), (col, v)


def test_csv_round_trip_exact():
    text = csv_text(VARIED)
    back = list(formats.csv_read(io.StringIO(text, newline="")))
    assert back == [writable(e) for e in VARIED]
    # types survive
    assert isinstance(back[0]["importance"], int)
    assert isinstance(back[0]["location"]["lat"], float)
    assert back[1]["date"] == "-0043-03-15"
    assert back[1]["actors"] == ["+Brutus", "@Cassius", "back\\slash;semi"]


def test_csv_round_trip_from_list_of_lines():
    text = csv_text(VARIED)
    back = list(formats.csv_read(text.splitlines(keepends=True)))
    assert back == [writable(e) for e in VARIED]


def test_csv_round_trip_twice_is_stable():
    once = list(formats.csv_read(io.StringIO(csv_text(VARIED), newline="")))
    again_events = [dict(e, **{k: None for k in ("start", "end")}) for e in once]
    again = list(formats.csv_read(io.StringIO(csv_text(again_events), newline="")))
    assert again == once


@pytest.mark.parametrize(
    "items",
    [
        [],
        ["a"],
        ["a;b"],
        ["a\\"],
        ["\\;"],
        ["a", "b;c", "d\\e"],
        [";", ";;", "\\\\"],
    ],
)
def test_csv_list_escaping_round_trips(items):
    ev = make("x", "2021", actors=items)
    assert next(formats.csv_read(io.StringIO(csv_text([ev]), newline="")))["actors"] == items


def test_csv_read_hand_made_file():
    text = "\ufeffid,date,title,tags,source_urls,lat,lon\r\n,2021-07,Hand made,a;b,https://x.org;https://y.org,1,2\r\n\r\n"
    (ev,) = formats.csv_read(io.StringIO(text, newline=""))
    assert ev == {
        "date": "2021-07",
        "title": "Hand made",
        "tags": ["a", "b"],
        "actors": [],
        "timelines": [],
        "location": {"lat": 1.0, "lon": 2.0},
        "sources": [{"url": "https://x.org"}, {"url": "https://y.org"}],
    }


def test_csv_stream_is_lazy():
    def gen():
        yield VARIED[0]
        raise AssertionError("read too far")

    it = formats.csv_stream(gen())
    next(it), next(it)  # header, first row


# --------------------------------------------------------------------------
# GeoJSON
# --------------------------------------------------------------------------


def _geo(events):
    return json.loads(b"".join(formats.geojson_stream(events)))


def test_geojson_zero_features():
    assert _geo([]) == {"type": "FeatureCollection", "features": []}
    assert _geo([VARIED[2], VARIED[4]]) == {"type": "FeatureCollection", "features": []}


def test_geojson_n_features():
    doc = _geo(VARIED)
    located = [e for e in VARIED if (e["location"] or {}).get("lat") is not None]
    assert len(located) == 3
    assert [f["id"] for f in doc["features"]] == [e["id"] for e in located]
    f = doc["features"][0]
    assert f["type"] == "Feature"
    assert f["geometry"] == {"type": "Point", "coordinates": [69.265, 34.946]}
    assert f["properties"]["location"] == {"name": "Bagram Airfield", "country": "AF"}
    assert f["properties"]["title"] == VARIED[0]["title"]
    assert f["properties"]["start"] == "2021-07-02"
    assert doc["features"][1]["properties"]["location"] == {"name": "Rome"}


def test_geojson_accepts_raw_json_items():
    doc = _geo([orjson.dumps(VARIED[0])])
    assert len(doc["features"]) == 1


def test_geojson_chunks_per_feature():
    chunks = list(formats.geojson_stream(VARIED))
    assert len(chunks) == 2 + 3


# --------------------------------------------------------------------------
# iCalendar
# --------------------------------------------------------------------------


def _cal(events, name="Afghanistan 2021"):
    return icalendar.Calendar.from_ical(formats.ics(events, name=name))


def test_ics_calendar_properties():
    cal = _cal(VARIED)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"])
    assert str(cal["X-WR-CALNAME"]) == "Afghanistan 2021"


def test_ics_omits_what_a_calendar_cannot_hold():
    cal = _cal(VARIED)
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    # bce, bce-year (BCE); open-end, open-start, unknown-end (open); far (year 12021)
    assert uids == ["day@timeline", "decade@timeline", "interval@timeline"]
    assert str(cal["X-TIMELINE-OMITTED"]) == "6"


@pytest.mark.parametrize(
    "date,omitted",
    [
        ("-0043-03-15", 1),
        ("2021-07/..", 1),
        ("../2021", 1),
        ("0000", 1),
        ("9999", 0),  # ends 9999-12-31: DURATION, as its exclusive DTEND would be in 10000
        ("9999-12-31", 0),
        ("Y10000", 1),
        ("0001-01-01", 0),
        ("9999-12-30", 0),
    ],
)
def test_ics_omitted_count(date, omitted):
    cal = _cal([make("x", date)])
    assert len(cal.walk("VEVENT")) == 1 - omitted
    assert str(cal["X-TIMELINE-OMITTED"]) == str(omitted)


def test_ics_zero_events():
    cal = _cal([])
    assert cal.walk("VEVENT") == []
    assert str(cal["X-TIMELINE-OMITTED"]) == "0"


@pytest.mark.parametrize(
    "date,dtstart,dtend",
    [
        ("2021-07-02", "20210702", "20210703"),
        ("2021-02", "20210201", "20210301"),
        ("2020-02", "20200201", "20200301"),
        ("2021", "20210101", "20220101"),
        ("199X", "19900101", "20000101"),
        ("2021-12-31", "20211231", "20220101"),
        ("2021-07-04/2021-07-05", "20210704", "20210706"),
    ],
)
def test_ics_all_day_exclusive_dtend(date, dtstart, dtend):
    raw = formats.ics([make("x", date)], name="t").decode()
    assert f"DTSTART;VALUE=DATE:{dtstart}" in raw
    assert f"DTEND;VALUE=DATE:{dtend}" in raw
    ev = _cal([make("x", date)]).walk("VEVENT")[0]
    assert ev["DTSTART"].dt.strftime("%Y%m%d") == dtstart
    assert ev["DTEND"].dt.strftime("%Y%m%d") == dtend


@pytest.mark.parametrize(
    "date,dtstart,days",
    [
        ("9999-12-31", "99991231", 1),
        ("9999-12", "99991201", 31),
        ("9999", "99990101", 365),
        ("9999-24", "99991201", None),  # winter 9999 ends in year 10000: left out
        ("2021-07-02/9999-12-31", "20210702", 2914087),
        ("0001-01-01/9999-12-31", "00010101", 3652059),
    ],
)
def test_ics_events_ending_31_december_9999_use_duration(date, dtstart, days):
    """Every event within years 1-9999 is in the calendar (API.md section 8): one that ends
    on 31 December 9999 cannot have its exclusive DTEND (in year 10000), so it says DURATION."""
    cal = _cal([make("x", date)])
    if days is None:
        assert cal.walk("VEVENT") == [] and str(cal["X-TIMELINE-OMITTED"]) == "1"
        return
    assert str(cal["X-TIMELINE-OMITTED"]) == "0"
    (ev,) = cal.walk("VEVENT")
    raw = formats.ics([make("x", date)], name="t").decode()
    assert f"DTSTART;VALUE=DATE:{dtstart}\r\n" in raw and f"DURATION:P{days}D\r\n" in raw
    assert "DTEND" not in raw
    last = ev["DTSTART"].dt + (ev["DURATION"].dt - _dt.timedelta(days=1))
    assert last == _dt.date(9999, 12, 31)


def test_ics_event_fields():
    ev = _cal(VARIED).walk("VEVENT")[0]
    assert str(ev["UID"]) == "day@timeline"
    assert str(ev["SUMMARY"]) == VARIED[0]["title"]
    assert str(ev["URL"]) == "https://example.org/a?x=1&y=2"
    assert ev["DTSTAMP"].dt.isoformat() == "2026-11-24T19:20:00+00:00"
    desc = str(ev["DESCRIPTION"])
    assert "2 July 2021" in desc
    assert "Precision: day" in desc
    assert "https://example.org/a?x=1&y=2" in desc
    assert "Report; part 1" in desc
    assert VARIED[0]["summary"].replace("\r\n", "\n") in desc  # CRLF -> one line break
    approx = _cal(VARIED).walk("VEVENT")[2]
    assert "Precision: month, approximate" in str(approx["DESCRIPTION"])


def test_ics_uid_stable():
    a = formats.ics(VARIED, name="t")
    b = formats.ics(VARIED, name="t")
    assert a == b
    later = [dict(VARIED[0], title="changed", updated_at="2026-12-01T00:00:00Z")]
    assert str(_cal(later).walk("VEVENT")[0]["UID"]) == "day@timeline"


def test_ics_lines_are_rfc5545():
    raw = formats.ics(VARIED, name="t")
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
        assert b"\n" not in line


# --------------------------------------------------------------------------
# TimelineJS
# --------------------------------------------------------------------------


def _tl(events, **kw):
    return formats.timelinejs(events, title=kw.pop("title", "T"), **kw)


@pytest.mark.parametrize(
    "date,start,end",
    [
        ("2021-07-02", {"year": 2021, "month": 7, "day": 2}, None),
        ("2021-04", {"year": 2021, "month": 4}, None),
        ("2021-21", {"year": 2021, "month": 3}, {"year": 2021, "month": 5}),
        ("2021", {"year": 2021}, None),
        ("199X", {"year": 1990}, {"year": 1999}),
        ("19XX", {"year": 1900}, {"year": 1999}),
        ("2021-07-04/2021-07-05", {"year": 2021, "month": 7, "day": 4}, {"year": 2021, "month": 7, "day": 5}),
        ("2021-04/2021-07-05", {"year": 2021, "month": 4}, {"year": 2021, "month": 7, "day": 5}),
        ("2021-04/2021-07", {"year": 2021, "month": 4}, {"year": 2021, "month": 7}),
        ("199X/2001", {"year": 1990}, {"year": 2001}),
        ("-0043-03-15", {"year": -43, "month": 3, "day": 15}, None),
        ("-0100", {"year": -100}, None),
        ("Y12021", {"year": 12021}, None),
        ("2021-07/..", {"year": 2021, "month": 7}, None),  # drawn at the known side
        ("../2021", {"year": 2021}, None),
        ("2021-07-05T03:00:00Z", {"year": 2021, "month": 7, "day": 5}, None),
    ],
)
def test_timelinejs_parts_per_precision(date, start, end):
    (slide,) = _tl([make("x", date)])["events"]
    assert slide["start_date"] == start
    assert slide.get("end_date") == end
    assert slide["display_date"] == _derived(date)["display_date"]


def test_timelinejs_document():
    doc = _tl(VARIED, title="A & <b>", text="intro <i>")
    assert doc["title"]["text"] == {"headline": "A &amp; &lt;b&gt;", "text": "intro &lt;i&gt;"}
    assert "_" in doc["title"]["unique_id"]
    assert [s["unique_id"] for s in doc["events"]] == [e["id"] for e in VARIED]
    s = doc["events"][0]
    assert s["text"]["headline"] == VARIED[0]["title"]
    assert "&quot;quotes&quot;" in s["text"]["text"]
    assert '<a href="https://example.org/a?x=1&amp;y=2">Report; part 1</a>' in s["text"]["text"]
    assert "&quot;international&quot;" in s["text"]["text"]
    assert "group" not in s
    bce = doc["events"][1]
    assert bce["text"]["text"].startswith("<p>=HYPERLINK(&quot;x&quot;)</p>")
    json.dumps(doc)  # plain JSON


def test_timelinejs_leaves_out_events_without_any_bound():
    ev = make("x", "2021")
    ev["start"] = ev["end"] = None
    assert _tl([ev])["events"] == []


@pytest.mark.parametrize(
    "group_by,expected",
    [
        ("tag", ["withdrawal", "(none)", "(none)", "(none)", "(none)", "(none)", "a", "(none)", "(none)"]),
        ("actor", ["United States", "+Brutus"] + ["(none)"] * 7),
        ("country", ["AF", "(none)", "(none)", "(none)", "FR", "(none)", "(none)", "AF", "(none)"]),
        ("timeline", ["afghanistan-2021"] + ["(none)"] * 8),
    ],
)
def test_groups(group_by, expected):
    assert [s["group"] for s in _tl(VARIED, group_by=group_by)["events"]] == expected
    assert [i["group"] for i in formats.vis(VARIED, group_by=group_by)] == expected


def test_bad_group_by():
    with pytest.raises(ValueError):
        _tl(VARIED, group_by="tags")
    with pytest.raises(ValueError):
        formats.vis(VARIED, group_by="publisher")


# --------------------------------------------------------------------------
# vis-timeline
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "date,type_,start,end",
    [
        ("2021-07-02", "point", "2021-07-02", None),
        ("2021-07-05T03:00:00Z", "point", "2021-07-05", None),
        ("2021-04", "range", "2021-04-01", "2021-05-01"),
        ("2020-02", "range", "2020-02-01", "2020-03-01"),
        ("2021", "range", "2021-01-01", "2022-01-01"),
        ("199X", "range", "1990-01-01", "2000-01-01"),
        ("2021-12-31/2022-01-01", "range", "2021-12-31", "2022-01-02"),
        ("-0043-03-15", "point", "-000043-03-15", None),
        ("-0100", "range", "-000100-01-01", "-000099-01-01"),
        ("-0001", "range", "-000001-01-01", "0000-01-01"),
        ("0042", "range", "0042-01-01", "0043-01-01"),
        ("9999", "range", "9999-01-01", "+010000-01-01"),
        ("Y12021", "range", "+012021-01-01", "+012022-01-01"),
        ("2021-07/..", "point", "2021-07-01", None),
        ("../2021", "point", "2021-12-31", None),
    ],
)
def test_vis_types_and_exclusive_ends(date, type_, start, end):
    (item,) = formats.vis([make("x", date)])
    assert item["type"] == type_
    assert item["start"] == start
    assert item.get("end") == end
    assert item["title"] == _derived(date)["display_date"]


def test_vis_items():
    items = formats.vis(VARIED)
    assert [i["id"] for i in items] == [e["id"] for e in VARIED]
    day = items[0]
    assert set(day) == {"id", "content", "start", "type", "title", "className"}
    assert day["className"] == "precision-day"
    assert items[7]["className"] == "precision-month approximate"
    assert items[3]["className"] == "precision-month open-end"
    assert items[4]["className"] == "precision-year open-start"
    assert formats.vis([make("x", "2001-10?")])[0]["className"] == "precision-month uncertain"
    esc = formats.vis([make("x", "2021", title="<b>&</b>")])[0]
    assert esc["content"] == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_vis_leaves_out_what_javascript_cannot_hold():
    assert formats.vis([make("x", "Y-300000")]) == []
    assert formats.vis([make("x", "Y200000")])[0]["start"] == "+200000-01-01"
