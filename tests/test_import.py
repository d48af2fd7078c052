"""POST /events/import, `timeline import`/`export` and `timeline seed`: atomic, validated, round-tripping."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from factories import dump, headers_for, new_store

from service import create_app
from service import store as store_module
from service.cli import main

IMPORT = "/api/v1/events/import"
SEED = Path(__file__).resolve().parents[1] / "seed"
READ_ONLY = ("created_at", "updated_at")


def item(i: int, **kw):
    body = {
        "id": f"imp-{i:04d}",
        "date": f"20{i % 30:02d}-0{1 + i % 9}-1{i % 10}",
        "title": f"Imported event {i}",
        "tags": ["imported"],
        "importance": 1 + i % 5,
    }
    body.update(kw)
    return body


def all_events(client, path="/api/v1/events") -> list[dict]:
    out, url = [], f"{path}?limit=500"
    while True:
        page = client.get(url).json
        out += page["items"]
        if not page["next"]:
            return out
        url = f"{path}?limit=500&cursor={page['next']}"


def strip(events):
    return [{k: v for k, v in e.items() if k not in READ_ONLY} for e in events]


def post_json(client, headers, items, query=""):
    return client.post(
        IMPORT + query, data=json.dumps(items), content_type="application/json", headers=headers
    )


def post_ndjson(client, headers, items, query="", content_type="application/x-ndjson"):
    data = "".join(json.dumps(i) + "\n" for i in items)
    return client.post(IMPORT + query, data=data, content_type=content_type, headers=headers)


# --------------------------------------------------------------------------- HTTP import


def test_json_array_import_counts(client, auth_headers):
    r = post_json(client, auth_headers, [item(i) for i in range(5)])
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json == {"created": 5, "updated": 0, "unchanged": 0, "dry_run": False}
    r = post_json(client, auth_headers, [item(0), item(1, title="Changed"), item(2), item(9)])
    assert r.json == {"created": 1, "updated": 1, "unchanged": 2, "dry_run": False}
    assert client.get("/api/v1/events/imp-0001").json["version"] == 2
    assert client.get("/api/v1/events/imp-0000").json["version"] == 1
    assert len(all_events(client)) == 6


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/ndjson"])
def test_ndjson_import_by_content_type(client, auth_headers, content_type):
    items = [item(i) for i in range(3)]
    r = post_ndjson(client, auth_headers, items, content_type=content_type)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["created"] == 3
    # blank lines are skipped
    data = "\n" + json.dumps(item(3)) + "\n\n" + json.dumps(item(0)) + "\n"
    r = client.post(IMPORT, data=data, content_type="application/x-ndjson", headers=auth_headers)
    assert r.json == {"created": 1, "updated": 0, "unchanged": 1, "dry_run": False}


def test_ndjson_body_sent_as_json_is_400(client, auth_headers):
    r = post_ndjson(client, auth_headers, [item(0), item(1)], content_type="application/json")
    assert r.status_code == 400


def test_import_needs_a_json_type(client, auth_headers):
    r = client.post(IMPORT, data=json.dumps([item(0)]), content_type="text/plain", headers=auth_headers)
    assert r.status_code == 415


def test_import_body_not_an_array_is_400(client, auth_headers):
    r = client.post(IMPORT, data=json.dumps(item(0)), content_type="application/json", headers=auth_headers)
    assert r.status_code == 400 and r.mimetype == "application/problem+json"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
@pytest.mark.parametrize("body", [b"", b"\n", b" \r\n\t\n"])
def test_empty_import_body_is_400_saying_so_and_writes_nothing(app, client, auth_headers, content_type, body):
    """What curl sends for --data-binary @a-file-that-does-not-exist: a client mistake, not 0 events."""
    post_json(client, auth_headers, [], "?dry_run=true")  # token's last use recorded
    before = dump(app)
    for query in ("", "?dry_run=true"):
        r = client.post(IMPORT + query, data=body, content_type=content_type, headers=auth_headers)
        assert r.status_code == 400 and r.mimetype == "application/problem+json", r.get_data(as_text=True)
        assert r.json["type"] == "/problems/empty-body" and "empty" in r.json["detail"]
    assert dump(app) == before
    # an empty array is not an empty body: it imports nothing, successfully
    assert post_json(client, auth_headers, []).json["created"] == 0


def test_malformed_ndjson_line_is_400_and_writes_nothing(app, client, auth_headers):
    post_json(client, auth_headers, [], "?dry_run=true")  # token's last use recorded
    before = dump(app)
    data = json.dumps(item(0)) + "\n{not json\n"
    r = client.post(IMPORT, data=data, content_type="application/x-ndjson", headers=auth_headers)
    assert r.status_code == 400 and "2" in r.json["detail"]
    assert dump(app) == before


@pytest.mark.parametrize("flavour", ["json", "ndjson"])
def test_dry_run_counts_and_writes_nothing(app, client, auth_headers, flavour):
    post_json(client, auth_headers, [item(0), item(1)])
    before = dump(app)
    items = [item(0), item(1, title="Changed"), item(2), item(3)]
    send = post_json if flavour == "json" else post_ndjson
    r = send(client, auth_headers, items, "?dry_run=true")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json == {"created": 2, "updated": 1, "unchanged": 1, "dry_run": True}
    assert dump(app) == before
    bad = send(client, auth_headers, [item(4), item(5, date="nope")], "?dry_run=true")
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"1"}
    assert dump(app) == before


def test_dry_run_must_be_a_boolean(client, auth_headers):
    assert post_json(client, auth_headers, [item(0)], "?dry_run=maybe").status_code == 400


def test_bad_items_in_the_middle_of_a_thousand_change_nothing(seeded_app, seeded_client, seeded_headers):
    client, headers = seeded_client, seeded_headers
    assert post_json(client, headers, [item(0)]).status_code == 200
    before = dump(seeded_app)
    events_before = all_events(client)
    feed_before = client.get("/api/v1/changes?since=0&limit=1000").json
    items = [item(i, timelines=["afghanistan-2021"]) if i % 7 == 0 else item(i) for i in range(1000)]
    items[0] = item(0, title="An update that must not survive")
    items[250] = item(250, date="2021-02-30")
    items[500] = item(500, importance="3", location={"country": "af"})
    items[999] = item(999, sources=[{"url": "ftp://x.org/"}], extra="field")
    for send in (post_json, post_ndjson):
        r = send(client, headers, items)
        assert r.status_code == 422, r.get_data(as_text=True)
        problem = r.json
        assert problem["type"] == "/problems/validation"
        errors = problem["errors"]
        assert set(errors) == {"250", "500", "999"}
        assert set(errors["250"]) == {"date"}
        assert set(errors["500"]) == {"importance", "location"}
        assert "country" in errors["500"]["location"]
        assert set(errors["999"]) == {"sources", "extra"}
        assert dump(seeded_app) == before
    assert all_events(client) == events_before
    assert client.get("/api/v1/changes?since=0&limit=1000").json == feed_before


def test_unknown_timeline_in_an_import_is_a_field_error(client, auth_headers):
    r = post_json(client, auth_headers, [item(0), item(1, timelines=["nowhere"])])
    assert r.status_code == 422 and set(r.json["errors"]) == {"1"}
    assert "timelines" in r.json["errors"]["1"]


def test_repeated_id_fails_the_later_item_on_id(app, client, auth_headers):
    post_json(client, auth_headers, [], "?dry_run=true")  # token's last use recorded
    before = dump(app)
    r = post_json(client, auth_headers, [item(0), item(1), item(0, title="again")])
    assert r.status_code == 422
    assert list(r.json["errors"]) == ["2"] and list(r.json["errors"]["2"]) == ["id"]
    assert dump(app) == before


def test_items_without_id_get_unique_derived_ids(client, auth_headers):
    body = {"date": "2021-07-02", "title": "Same title"}
    r = post_json(client, auth_headers, [body, body, dict(body)])
    assert r.status_code == 200 and r.json["created"] == 3
    got = sorted(e["id"] for e in all_events(client))
    assert got == ["2021-07-02-same-title", "2021-07-02-same-title-2", "2021-07-02-same-title-3"]


def test_import_is_in_the_change_feed(client, auth_headers):
    post_json(client, auth_headers, [item(0), item(1)])
    post_json(client, auth_headers, [item(0), item(1, title="x")])
    changes = client.get("/api/v1/changes").json["changes"]
    assert [(c["op"], c["id"], c["event"]["version"]) for c in changes] == [
        ("upsert", "imp-0000", 1),
        ("upsert", "imp-0001", 1),
        ("upsert", "imp-0001", 2),
    ]


@pytest.fixture
def small_app(tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "small.db"), "MAX_IMPORT_BYTES": 2000})


@pytest.mark.parametrize("flavour", ["json", "ndjson"])
def test_import_body_limit_is_configurable(small_app, flavour):
    client = small_app.test_client()
    headers = headers_for(small_app)
    before = dump(small_app)
    send = post_json if flavour == "json" else post_ndjson
    r = send(client, headers, [item(i) for i in range(40)])
    assert r.status_code == 413, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert all_events(client) == []
    assert dump(small_app).count('INSERT INTO "events"') == before.count('INSERT INTO "events"') == 0
    ok = send(client, headers, [item(0)])
    assert ok.status_code == 200
    # an ordinary write keeps its own 1 MiB limit, not the import's
    one = client.post("/api/v1/events", json=item(1, summary="x" * 3000), headers=headers)
    assert one.status_code == 201


def test_import_limit_default_is_64_mib(app):
    assert app.config["MAX_IMPORT_BYTES"] == 64 * 1_048_576


def test_import_over_one_mebibyte_is_accepted(client, auth_headers):
    items = [item(i, summary="s" * 4000) for i in range(400)]
    data = json.dumps(items)
    assert len(data) > 1_500_000
    r = client.post(IMPORT, data=data, content_type="application/json", headers=auth_headers)
    assert r.status_code == 200 and r.json["created"] == 400


# --------------------------------------------------------------------------- CLI import / export


@pytest.fixture
def rich_app(seeded_app):
    """The seed plus events that stress every format: BCE, open ends, commas, quotes, ; and \\."""
    client = seeded_app.test_client()
    headers = headers_for(seeded_app, name="rich")
    extra = [
        {
            "id": "ides",
            "date": "-0043-03-15",
            "title": '=Caesar, "killed"; again',
            "summary": "Line one\r\nline two",
            "actors": ["Brutus; Cassius", "back\\slash", "+plus"],
            "tags": ["rome"],
            "location": {"name": "Rome", "country": "IT", "lat": 41.8925, "lon": 12.4853},
        },
        {
            "id": "open-ended",
            "date": "2021-07/..",
            "title": "From July",
            "importance": 5,
            "location": {"lat": -0.1, "lon": 0.30000000000000004},
        },
        {"id": "unknown-start", "date": "/2021", "title": "Until 2021", "timelines": ["afghanistan-2021"]},
        {
            "id": "approx",
            "date": "2021-07-05T03:00:00Z",
            "title": "'quoted",
            "sources": [
                {"title": "Only a title", "quote": "", "publisher": "P, Inc."},
                {"url": "https://example.org/?a=1;b=2"},
            ],
        },
        {"id": "decade", "date": "199X~", "title": "Tab\tinside", "summary": "Ünïcødé ✓ 漢字"},
    ]
    for e in extra:
        r = client.post("/api/v1/events", json=e, headers=headers)
        assert r.status_code == 201, r.get_data(as_text=True)
    return seeded_app


@pytest.fixture
def empty_app(tmp_path):
    (tmp_path / "empty").mkdir()
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "empty" / "timeline.db")})


@pytest.mark.parametrize("fmt,suffix", [("json", ".json"), ("ndjson", ".ndjson"), ("csv", ".csv")])
def test_export_then_import_into_an_empty_database_round_trips(rich_app, empty_app, tmp_path, fmt, suffix):
    out = rich_app.test_cli_runner().invoke(main, ["export", "--format", fmt])
    assert out.exit_code == 0, out.output
    path = tmp_path / f"export{suffix}"
    path.write_bytes(out.stdout_bytes)
    r = empty_app.test_cli_runner().invoke(main, ["import", str(path)])
    assert r.exit_code == 0, r.output
    original = all_events(rich_app.test_client())
    assert f"created {len(original)}, updated 0, unchanged 0" in r.stdout
    copy = all_events(empty_app.test_client())
    assert strip(copy) == strip(original)
    # a second import of the same file changes nothing
    again = empty_app.test_cli_runner().invoke(main, ["import", str(path)])
    assert f"created 0, updated 0, unchanged {len(original)}" in again.stdout


def test_export_json_is_a_valid_array_and_ndjson_one_per_line(rich_app):
    runner = rich_app.test_cli_runner()
    as_json = json.loads(runner.invoke(main, ["export", "--format", "json"]).stdout_bytes)
    lines = runner.invoke(main, ["export", "--format", "ndjson"]).stdout_bytes.decode().splitlines()
    assert [json.loads(line) for line in lines] == as_json
    assert as_json == all_events(rich_app.test_client())


def test_cli_import_of_several_files_and_formats(app, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([item(0), item(1)]))
    (tmp_path / "b.ndjson").write_text(
        "\n".join(json.dumps(i) for i in [item(2), item(1, title="Newer")]) + "\n"
    )
    r = app.test_cli_runner().invoke(main, ["import", str(tmp_path / "a.json"), str(tmp_path / "b.ndjson")])
    assert (
        r.exit_code == 1 and "b.ndjson: item 1" in r.output and "id" in r.output
    )  # id repeats a.json's item 1
    (tmp_path / "b.ndjson").write_text(json.dumps(item(2)) + "\n")
    r = app.test_cli_runner().invoke(main, ["import", str(tmp_path / "a.json"), str(tmp_path / "b.ndjson")])
    assert r.exit_code == 0, r.output
    assert "created 3, updated 0, unchanged 0" in r.stdout


def test_cli_import_dry_run_writes_nothing(app, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([item(0), item(1, timelines=["new-line"])]))
    before = dump(app)
    r = app.test_cli_runner().invoke(main, ["import", "--dry-run", str(tmp_path / "a.json")])
    assert r.exit_code == 0 and "would import: created 2" in r.stdout
    assert dump(app) == before


def test_cli_import_no_create_timelines(app, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([item(0, timelines=["new-line"])]))
    r = app.test_cli_runner().invoke(main, ["import", "--no-create-timelines", str(tmp_path / "a.json")])
    assert r.exit_code == 1 and "timelines" in r.output
    r = app.test_cli_runner().invoke(main, ["import", str(tmp_path / "a.json")])
    assert r.exit_code == 0 and "new-line" in r.output
    assert app.test_client().get("/api/v1/timelines/new-line").json["event_count"] == 1


@pytest.mark.parametrize("suffix", [".json", ".ndjson", ".csv"])
def test_cli_bad_file_changes_nothing_and_names_file_item_field(seeded_app, tmp_path, suffix):
    runner = seeded_app.test_cli_runner()
    good = tmp_path / "good.json"
    good.write_text(json.dumps([item(0)]))
    items = [item(1), item(2), item(3, date="2021-02-30"), item(4)]
    bad = tmp_path / f"bad{suffix}"
    if suffix == ".json":
        bad.write_text(json.dumps(items))
    elif suffix == ".ndjson":
        bad.write_text("".join(json.dumps(i) + "\n" for i in items))
    else:
        from service import formats

        bad.write_text("".join(formats.csv_stream(items)), encoding="utf-8")
    before = dump(seeded_app)
    r = runner.invoke(main, ["import", str(good), str(bad)])
    assert r.exit_code != 0
    assert str(bad) in r.output and "item 2" in r.output and "date" in r.output
    assert str(good) not in r.output
    assert dump(seeded_app) == before


def test_cli_unreadable_json_names_the_file(app, tmp_path):
    bad = tmp_path / "broken.ndjson"
    bad.write_text(json.dumps(item(0)) + "\n{oops\n")
    before = dump(app)
    r = app.test_cli_runner().invoke(main, ["import", str(bad)])
    assert r.exit_code != 0 and "broken.ndjson" in r.output and "line 2" in r.output
    assert dump(app) == before


# --------------------------------------------------------------------------- seed


def test_seed_second_run_reports_unchanged(app):
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["seed", str(SEED)])
    assert first.exit_code == 0, first.output
    n = len(json.loads((SEED / "events.json").read_text("utf-8")))
    assert f"events created {n}, updated 0, unchanged 0" in first.stdout
    before = dump(app)
    second = runner.invoke(main, ["seed", str(SEED)])
    assert second.exit_code == 0
    assert f"events created 0, updated 0, unchanged {n}" in second.stdout
    assert "timelines created 0, updated 0" in second.stdout
    assert dump(app) == before


def test_seed_goes_into_the_change_feed(app):
    app.test_cli_runner().invoke(main, ["seed", str(SEED)])
    feed = app.test_client().get("/api/v1/changes?limit=1000").json["changes"]
    n = len(json.loads((SEED / "events.json").read_text("utf-8")))
    assert len(feed) == n and {c["op"] for c in feed} == {"upsert"}


@pytest.mark.parametrize("fresh", [True, False])
def test_bad_seed_dir_writes_nothing_and_names_file_item_field(app, tmp_path, fresh):
    runner = app.test_cli_runner()
    if not fresh:
        assert runner.invoke(main, ["seed", str(SEED)]).exit_code == 0
    bad_dir = tmp_path / "seed"
    shutil.copytree(SEED, bad_dir)
    events = json.loads((bad_dir / "events.json").read_text("utf-8"))
    events[5]["importance"] = 9
    events[0]["title"] = "changed, and must not be written"
    (bad_dir / "events.json").write_text(json.dumps(events), "utf-8")
    before = dump(app)
    r = runner.invoke(main, ["seed", str(bad_dir)])
    assert r.exit_code != 0
    assert "events.json" in r.output and "item 5" in r.output and "importance" in r.output
    assert dump(app) == before


def test_bad_timeline_in_seed_names_file_item_field(app, tmp_path):
    bad_dir = tmp_path / "seed"
    shutil.copytree(SEED, bad_dir)
    timelines = json.loads((bad_dir / "timelines.json").read_text("utf-8"))
    timelines[0]["title"] = ""
    (bad_dir / "timelines.json").write_text(json.dumps(timelines), "utf-8")
    before = dump(app)
    r = app.test_cli_runner().invoke(main, ["seed", str(bad_dir)])
    assert (
        r.exit_code != 0 and "timelines.json" in r.output and "timeline 0" in r.output and "title" in r.output
    )
    assert dump(app) == before


def test_parallel_validation_gives_the_same_result_and_errors(app, tmp_path):
    """The command line's two-process pipeline writes and refuses exactly what one process does."""
    from service import ingest as ingest_module

    items = [
        {
            "id": f"p-{i:04d}",
            "date": f"{1900 + i % 120}-0{1 + i % 9}",
            "title": f"Event {i}",
            "tags": ["war"] if i % 2 else [],
            "importance": 1 + i % 5,
        }
        for i in range(2500)
    ]
    items.append({"date": "2021-07-05", "title": "No id given"})
    st = store_module.connect(app.config["DATABASE"])
    counts = ingest_module.import_items(st, items, parallel=True)
    assert counts.created == 2501
    docs = [(e["id"], e["date"], e["start"], e["tags"]) for e in map(json.loads, st.iter_events())]
    other = new_store(tmp_path / "other.db")
    ingest_module.import_items(other, items, parallel=False)
    assert docs == [(e["id"], e["date"], e["start"], e["tags"]) for e in map(json.loads, other.iter_events())]
    bad = items[:1200] + [{"date": "2021-02-30", "title": "x"}] + items[1200:1300] + [{"title": ""}]
    with pytest.raises(ingest_module.BatchInvalid) as parallel_error:
        ingest_module.import_items(other, bad, parallel=True)
    with pytest.raises(ingest_module.BatchInvalid) as inline_error:
        ingest_module.import_items(other, bad, parallel=False)
    assert parallel_error.value.errors == inline_error.value.errors
    assert set(parallel_error.value.errors) == {"1200", "1301"}


# --------------------------------------------------------------------------- items without an id


def _without_ids() -> list[dict]:
    """Items without an id: two of them identical (the second gets ``-2``), one whose derived
    id another item of different content already has."""
    return [
        {"date": "2021-07-02", "title": "Troops leave Bagram", "tags": ["withdrawal"]},
        {"date": "2021-07-02", "title": "Troops leave Bagram", "tags": ["withdrawal"]},
        {"date": "2021-07-05", "title": "Talks resume"},
        {"date": "2021-07-06", "title": "Talks resume", "summary": "Another day, another event."},
    ]


def test_cli_reimport_of_items_without_ids_is_unchanged(app, tmp_path):
    path = tmp_path / "no-ids.ndjson"
    path.write_text("".join(json.dumps(i) + "\n" for i in _without_ids()))
    first = app.test_cli_runner().invoke(main, ["import", str(path)])
    assert first.exit_code == 0, first.output
    assert "created 4, updated 0, unchanged 0" in first.stdout
    ids = sorted(e["id"] for e in all_events(app.test_client()))
    assert ids == [
        "2021-07-02-troops-leave-bagram",
        "2021-07-02-troops-leave-bagram-2",
        "2021-07-05-talks-resume",
        "2021-07-06-talks-resume",
    ]
    before = dump(app)
    again = app.test_cli_runner().invoke(main, ["import", str(path)])
    assert again.exit_code == 0, again.output
    assert "created 0, updated 0, unchanged 4" in again.stdout
    assert dump(app) == before


def test_http_reimport_of_items_without_ids_is_unchanged(app, client, auth_headers):
    first = post_json(client, auth_headers, _without_ids())
    assert first.status_code == 200, first.json
    assert first.json == {"created": 4, "updated": 0, "unchanged": 0, "dry_run": False}
    before = dump(app)
    for post in (post_json, post_ndjson):
        again = post(client, auth_headers, _without_ids())
        assert again.json == {"created": 0, "updated": 0, "unchanged": 4, "dry_run": False}
    assert dump(app) == before


def test_an_item_without_id_whose_derived_id_holds_other_content_is_a_new_event(app, client, auth_headers):
    post_json(client, auth_headers, _without_ids()[:1])
    changed = [{**_without_ids()[0], "importance": 5}]
    r = post_json(client, auth_headers, changed)
    assert r.json == {"created": 1, "updated": 0, "unchanged": 0, "dry_run": False}
    assert client.get("/api/v1/events/2021-07-02-troops-leave-bagram").json.get("importance", 3) == 3
    assert client.get("/api/v1/events/2021-07-02-troops-leave-bagram-2").json["importance"] == 5
    # and the same again is unchanged: it finds its copy past the first candidate
    assert post_json(client, auth_headers, changed).json["unchanged"] == 1


def test_seed_files_are_read_by_the_strict_json_reader(app, tmp_path):
    """A duplicate key (which a lenient reader would silently resolve) fails the seed, as it
    fails an import."""
    bad_dir = tmp_path / "seed"
    shutil.copytree(SEED, bad_dir)
    (bad_dir / "extra.json").write_text('[{"date": "2021", "title": "a", "title": "b"}]', "utf-8")
    before = dump(app)
    r = app.test_cli_runner().invoke(main, ["seed", str(bad_dir)])
    assert r.exit_code != 0 and "extra.json" in r.output and "duplicate" in r.output.lower(), r.output
    assert dump(app) == before
