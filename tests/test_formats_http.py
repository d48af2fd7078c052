"""Section 4 over HTTP: every format by `format=` or Accept, taking every filter."""

from __future__ import annotations

import csv
import io
import json

import pytest
from icalendar import Calendar

from service import formats
from service.cli import main


def all_json(client, query=""):
    return client.get(f"/api/v1/events?limit=500&{query}").json["items"]


@pytest.mark.parametrize(
    "fmt,ctype",
    [
        ("ndjson", "application/x-ndjson"),
        ("csv", "text/csv"),
        ("geojson", "application/geo+json"),
        ("ics", "text/calendar"),
        ("timelinejs", "application/json"),
        ("vis", "application/json"),
    ],
)
def test_format_parameter_picks_the_media_type(seeded_reader, fmt, ctype):
    response = seeded_reader.get(f"/api/v1/events?format={fmt}")
    assert response.status_code == 200
    assert response.mimetype == ctype


@pytest.mark.parametrize(
    "accept,fmt",
    [
        ("application/x-ndjson", "ndjson"),
        ("text/csv", "csv"),
        ("application/geo+json", "geojson"),
        ("text/calendar", "ics"),
        ("application/json", "json"),
        ("*/*", "json"),
    ],
)
def test_accept_header_picks_the_format(seeded_reader, accept, fmt):
    response = seeded_reader.get("/api/v1/events", headers={"Accept": accept})
    assert response.mimetype == formats.MEDIA_TYPES[fmt].split(";")[0]


@pytest.mark.parametrize(
    "query",
    ["", "from=2021-07&to=2021-07", "tag=military", "q=Rahmon", "sort=-date", "country=TJ&min_importance=3"],
)
def test_ndjson_streams_every_match_in_order(seeded_reader, query):
    response = seeded_reader.get(f"/api/v1/events?format=ndjson&limit=2&{query}")
    assert response.is_streamed
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [e["id"] for e in lines] == [e["id"] for e in all_json(seeded_reader, query)]  # all, not a page


def test_csv_streams_every_match_with_a_header(seeded_reader):
    response = seeded_reader.get("/api/v1/events?format=csv&tag=military")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["id"] for r in rows] == [e["id"] for e in all_json(seeded_reader, "tag=military")]
    assert rows[0]["tags"].count(";") == len(all_json(seeded_reader, "tag=military")[0]["tags"]) - 1


def test_geojson_holds_the_located_matches(seeded_reader):
    body = json.loads(seeded_reader.get("/api/v1/events?format=geojson").get_data(as_text=True))
    located = [e["id"] for e in all_json(seeded_reader) if (e["location"] or {}).get("lat") is not None]
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == located


def test_ics_is_a_valid_calendar_of_all_day_events(seeded_reader):
    cal = Calendar.from_ical(seeded_reader.get("/api/v1/events?format=ics").data)
    events = cal.walk("VEVENT")
    # the seed's events known only "by" a date, or still going on, have an open side (section 8)
    everything = all_json(seeded_reader)
    held = [e for e in everything if e["start"] and e["end"]]
    assert len(events) == len(held) and 0 < len(held) < len(everything)
    assert str(cal["X-TIMELINE-OMITTED"]) == str(len(everything) - len(held))
    bagram = next(e for e in events if str(e["UID"]).startswith("2021-07-02-international"))
    assert bagram["DTSTART"].dt.isoformat() == "2021-07-02" and bagram["DTEND"].dt.isoformat() == "2021-07-03"


def test_timeline_events_take_formats_and_title_the_document(seeded_reader):
    doc = seeded_reader.get("/api/v1/timelines/afghanistan-2021/events?format=timelinejs&group=tag").json
    assert doc["title"]["text"]["headline"].startswith("Taliban offensive")
    assert all("group" in e for e in doc["events"])
    vis = seeded_reader.get("/api/v1/timelines/afghanistan-2021/events?format=vis").json
    assert {i["id"] for i in vis} == {e["id"] for e in all_json(seeded_reader, "timeline=afghanistan-2021")}


def test_month_event_is_a_range_in_vis(seeded_reader):
    vis = seeded_reader.get("/api/v1/events?format=vis&precision=month").json
    april = next(i for i in vis if i["id"] == "2021-04-biden-announces-us-troop-withdrawal")
    assert (
        april["type"] == "range"
        and april["start"].startswith("2021-04-01")
        and april["end"].startswith("2021-05-01")
    )


def test_cli_export_writes_each_format(runner, seeded_app):
    runner = seeded_app.test_cli_runner()
    for fmt in ("json", "ndjson", "csv", "geojson", "ics", "timelinejs", "vis"):
        result = runner.invoke(main, ["export", "--format", fmt])
        assert result.exit_code == 0, (fmt, result.output)
        assert result.stdout_bytes.strip(), fmt


def test_coalesced_joins_small_chunks_into_pieces_of_the_size():
    from service.api.exports import coalesced

    chunks = [bytes([65 + i % 26]) * (1 + i % 7) for i in range(500)]  # 1..7 bytes each
    pieces = list(coalesced(iter(chunks), size=100, wait=3600))
    assert b"".join(pieces) == b"".join(chunks)
    assert all(len(p) >= 100 for p in pieces[:-1]) and all(len(p) < 107 for p in pieces)
    assert 0 < len(pieces[-1])
    assert list(coalesced(iter([b"", b"a", b"", b"b", b""]), size=100, wait=3600)) == [b"ab"]
    assert list(coalesced(iter([]), size=100, wait=3600)) == []


def test_coalesced_flushes_a_piece_whose_first_byte_waited():
    from service.api.exports import coalesced

    times = iter([0.0, 0.1, 0.1, 0.3, 0.4, 0.4, 0.5])  # clock readings, in the order they are taken
    out = list(coalesced(iter([b"a", b"b", b"c", b"d"]), size=1000, wait=0.25, clock=lambda: next(times)))
    # "a" starts a piece at 0.0 (checked 0.1), "b" at 0.1, "c" at 0.3 >= 0.25: out goes "abc";
    # "d" starts a new piece at 0.4 (checked 0.4) and goes out at the end.
    assert out == [b"abc", b"d"]


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "geojson"])
def test_streamed_formats_go_out_in_pieces_not_one_write_per_event(seeded_reader, monkeypatch, fmt):
    from service.api import exports as api_formats

    whole = seeded_reader.get(f"/api/v1/events?format={fmt}").get_data()
    monkeypatch.setattr(api_formats, "STREAM_WAIT", 3600)
    response = seeded_reader.get(f"/api/v1/events?format={fmt}", buffered=False)
    assert list(response.response) == [whole]  # the seeded archive is under one piece
    monkeypatch.setattr(api_formats, "STREAM_PIECE", 1000)
    response = seeded_reader.get(f"/api/v1/events?format={fmt}", buffered=False)
    pieces = list(response.response)
    assert b"".join(pieces) == whole and len(pieces) > 2
    assert all(len(p) >= 1000 for p in pieces[:-1])
