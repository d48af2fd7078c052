"""The bulk write path of `timeline import` writes exactly what one upsert_event per row writes.

Same input, two databases: one imported through ``Store.upsert_event`` row by row (the
HTTP import's path), one through ``service.store.bulk.BulkWriter`` (small chunks, with and
without dropping and rebuilding the indexes). The events, documents, terms, change feed,
timelines, the full-text content and every search, the FTS configuration and the planner
statistics must come out the same; and so must dry runs, errors and unreadable lines.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from factories import Generator

from service import create_app, ingest
from service import store as store_module
from service.cli import main
from service.store import bulk as bulk_writer

NOW = "2026-01-02T03:04:05Z"
FTS_INDEX_TABLES = ("events_fts_data", "events_fts_idx")  # segment layout differs; searches must not
SEARCHES = [
    "report",
    "kabul",
    "troops",
    "müller",
    "quote",
    "zeppelin",
    "border crisis",
    "updated",
    "nothing-here",
]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(ingest, "utc_now", lambda: NOW)


def base_db(tmp_path: Path, events: int = 40) -> Path:
    """A database with timelines, some events (later updated or left unchanged) and statistics."""
    path = tmp_path / "base.db"
    app = create_app({"TESTING": True, "DATABASE": str(path)})
    with app.app_context():
        ingest.load_seed_dir(app)
    st = store_module.connect(str(path))
    ingest.import_items(st, [event(i) for i in range(events)])
    st.conn.execute("ANALYZE")
    store_module.close_all()
    return path


def event(i: int, **kw) -> dict:
    ev = Generator(i).event(i, ["afghanistan-2021"])
    ev["id"] = f"bulk-{i:05d}"
    ev.update(kw)
    return ev


def batch() -> list:
    """Creates, updates, unchanged rows, derived ids (clashing), new timelines, odd values."""
    items = [event(i) for i in range(20)]  # 0-19 unchanged
    items += [event(i, title=f"Updated {i}", tags=["updated"]) for i in range(20, 40)]  # updated
    items += [event(i) for i in range(40, 140)]  # created
    items += [{"date": "2021-07-02", "title": "Same title"}] * 3  # derived ids, -2, -3
    items += [{"id": "2021-07-02-same-title-4", "date": "2021", "title": "Taken id"}]
    items += [
        event(200, timelines=["new-line", "afghanistan-2021"], tags=["a", "a"]),
        event(201, location=None, sources=[], summary=None),
        event(202, location={"name": "Ünïcødé ✓ 漢字"}, actors=["Müller", "O'Brien"]),
        event(203, date="-0043-03-15"),
        event(204, date="2021-07/.."),
        event(205, date="/2021"),
    ]
    items += [event(i) for i in range(300, 360)]
    return items


def import_into(path: Path, items, **kw) -> ingest.Counts:
    st = store_module.Store(str(path))
    try:
        return ingest.import_items(st, items, create_timelines=True, **kw)
    finally:
        st.close()


def dump(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        out = {}
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN (?, ?)", FTS_INDEX_TABLES
            )
        ]
        for name in tables:
            if name in ("events_fts", "events_fts_vocab"):
                continue
            out[name] = sorted(map(repr, conn.execute(f'SELECT * FROM "{name}"')))
        out["schema"] = sorted(
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex%'"
            )
        )
        for q in SEARCHES:
            out[f"search {q}"] = conn.execute(
                "SELECT rowid, round(rank, 6) FROM events_fts WHERE events_fts MATCH ? ORDER BY rank, rowid",
                (json.dumps(q),),
            ).fetchall()
        out["vocab"] = conn.execute("SELECT term, doc, cnt FROM events_fts_vocab ORDER BY term").fetchall()
        conn.execute("INSERT INTO events_fts (events_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return out
    finally:
        conn.close()


def two_copies(tmp_path: Path, events: int = 40) -> tuple[Path, Path]:
    base = base_db(tmp_path, events)
    a, b = tmp_path / "per-row.db", tmp_path / "bulk.db"
    shutil.copy(base, a)
    shutil.copy(base, b)
    return a, b


@pytest.mark.parametrize(
    "options",
    [
        {"chunk": 7, "drop_indexes_after": 1},  # indexes dropped after the first chunk, tiny FTS switch
        {"chunk": 7, "drop_indexes_after": None},  # indexes kept
        {"chunk": 1000, "drop_indexes_after": 50, "fts_hash_bytes": None},
    ],
)
@pytest.mark.parametrize("parallel", [False, True])
def test_bulk_writes_what_upsert_event_writes(tmp_path, options, parallel):
    a, b = two_copies(tmp_path)
    items = batch()
    per_row = import_into(a, items)
    bulk = import_into(b, items, bulk=True, bulk_options=options, parallel=parallel)
    assert per_row.as_dict() == bulk.as_dict() == {"created": 170, "updated": 20, "unchanged": 20}
    assert per_row.timelines_created == bulk.timelines_created == ["new-line"]
    before, after = dump(a), dump(b)
    assert before == after
    assert len(before["changes"]) > 200 and before["search report"]
    # a second import changes nothing, items without an id included (their derived ids match)
    again = import_into(b, items, bulk=True, bulk_options=options)
    assert (
        again.as_dict() == import_into(a, items).as_dict() == {"created": 0, "updated": 0, "unchanged": 210}
    )
    assert dump(a) == dump(b)


def test_bulk_into_an_empty_database_drops_and_rebuilds_every_index(tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    create_app({"TESTING": True, "DATABASE": str(a)})
    store_module.close_all()
    shutil.copy(a, b)
    items = [event(i) for i in range(300)] + [{"date": "2021", "title": "No id"}]
    assert (
        import_into(a, items).as_dict()
        == import_into(b, items, bulk=True, bulk_options={"chunk": 50, "drop_indexes_after": 60}).as_dict()
    )
    per_row, bulk = dump(a), dump(b)
    # The migration analysed empty tables; the bulk import measures what it filled.
    stats = {r.split(",")[1].strip(" '") for r in bulk.pop("sqlite_stat1")}
    assert {
        "events_chrono",
        "event_terms_chrono",
        "event_terms_event",
        "day_facet_counts",
        "span_facet_counts",
    } <= stats, stats
    assert not any("events_chrono" in r for r in per_row.pop("sqlite_stat1"))
    assert per_row == bulk


def test_feed_order_is_input_order_across_creates_and_updates(tmp_path):
    a, b = two_copies(tmp_path)
    items = [event(500), event(3, title="changed"), event(501), event(4, title="changed too"), event(502)]
    import_into(b, items, bulk=True, bulk_options={"chunk": 100, "drop_indexes_after": 1})
    st = store_module.Store(str(b))
    feed = [(c[2], json.loads(c[4])["version"]) for c in st.changes(st.data_version() - 5, 5)]
    st.close()
    assert feed == [
        ("bulk-00500", 1),
        ("bulk-00003", 2),
        ("bulk-00501", 1),
        ("bulk-00004", 2),
        ("bulk-00502", 1),
    ]


def test_bulk_dry_run_and_errors_write_nothing(tmp_path):
    a, b = two_copies(tmp_path)
    before = dump(b)
    items = batch()
    options = {"chunk": 5, "drop_indexes_after": 1}
    assert (
        import_into(b, items, bulk=True, dry_run=True, bulk_options=options).as_dict()
        == import_into(a, items, dry_run=True).as_dict()
    )
    assert dump(b) == before
    bad = items[:100] + [{"date": "2021-02-30", "title": "x"}] + items[100:] + [dict(items[5])]
    with pytest.raises(ingest.BatchInvalid) as bulk_error:
        import_into(b, bad, bulk=True, bulk_options=options)
    with pytest.raises(ingest.BatchInvalid) as row_error:
        import_into(a, bad)
    assert bulk_error.value.errors == row_error.value.errors
    # the bad date, the new timeline not created after an error, the repeated id
    assert set(bulk_error.value.errors) == {"100", "145", str(len(bad) - 1)}
    assert dump(b) == before
    # the connection that rolled back still writes with FTS5's default settings
    assert import_into(b, items[:3], bulk=True).as_dict()["unchanged"] == 3


def test_raw_lines_are_parsed_where_they_are_checked(tmp_path):
    a, b = two_copies(tmp_path)
    items = batch()
    lines = [json.dumps(i, ensure_ascii=False).encode() + b"\n" for i in items]
    assert import_into(a, items).as_dict() == import_into(b, lines, bulk=True, parallel=True).as_dict()
    assert dump(a) == dump(b)
    bad = lines[:10] + [b'{"date": "2021", "title": "x", "title": "twice"}\n'] + lines[10:]
    for parallel in (False, True):
        with pytest.raises(ingest.Unreadable) as exc:
            import_into(b, bad, bulk=True, parallel=parallel)
        assert exc.value.index == 10 and "duplicate key 'title'" in exc.value.reason
    assert dump(a) == dump(b)


def test_pack_gives_back_to_row():
    gen = Generator(3)
    events = [gen.event(i, ["x"]) for i in range(500)]
    events += [
        {"id": "plain", "date": "2021", "title": "t"},
        {"id": "nulls", "date": "199X~", "title": "t", "summary": None, "location": None},
        {"id": "coords", "date": "2021-07/..", "title": "t", "location": {"lat": 0, "lon": -0.0}},
        {
            "id": "quotes",
            "date": "/2021",
            "title": "t",
            "sources": [{"title": "a"}, {"url": "https://x.org/", "quote": "q"}],
        },
    ]
    for ev in events:
        built = ingest.build_event(ingest.validate_event(ev))
        row = ingest.to_row(built)
        packed = ingest.pack(built, NOW)
        back = bulk_writer.unpack(packed)
        assert back == row and repr(back["event"]) == repr(row["event"])
        assert json.loads(packed[bulk_writer.P_DOC]) == {
            **built,
            "created_at": NOW,
            "updated_at": NOW,
            "version": 1,
        }
        assert packed[bulk_writer.P_CLASS] == store_module.span_class(row["start_key"], row["end_key"])


def test_cli_names_the_line_of_an_unreadable_ndjson_item(app, tmp_path):
    good = tmp_path / "good.ndjson"
    good.write_text(json.dumps(event(1)) + "\n")
    bad = tmp_path / "bad.ndjson"
    bad.write_text(
        "\n" + json.dumps(event(2)) + "\n\n  \n" + json.dumps(event(3)) + "\n{oops\n" + json.dumps(event(4))
    )
    r = app.test_cli_runner().invoke(main, ["import", str(good), str(bad)])
    assert r.exit_code != 0
    assert f"{bad}: line 6 is not valid JSON" in r.output, r.output
    assert app.test_client().get("/api/v1/events/bulk-00001").status_code == 404


def _import_then_hang(path: str, marker: str, items: list) -> None:
    """In a child process: a bulk import that signals once it has dropped the indexes and
    enlarged the FTS buffer, then stalls inside its transaction until it is killed."""
    import os
    import time

    drop = bulk_writer.BulkWriter._drop_indexes

    def drop_and_signal(self):
        drop(self)
        assert self.fts_hash_set
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))

    bulk_writer.BulkWriter._drop_indexes = drop_and_signal

    def slow_items():
        yield from items
        while True:  # a stream that never ends: the transaction stays open
            time.sleep(0.05)
            yield {"date": "2021", "title": "never written"}

    ingest.import_items(
        store_module.Store(path),
        slow_items(),
        bulk=True,
        bulk_options={"chunk": 20, "drop_indexes_after": 40},
    )


@pytest.mark.slow  # a subprocess killed mid-import
def test_sigkill_after_the_indexes_were_dropped_leaves_the_database_as_it_was(tmp_path):
    """The index drop, the FTS setting and every written chunk are in the import's one
    transaction: a SIGKILL in the middle leaves the database exactly as before, intact."""
    import multiprocessing
    import os
    import signal
    import time

    path = base_db(tmp_path)
    before = dump(path)
    count = len(before["events"])
    marker = tmp_path / "dropped"
    child = multiprocessing.get_context("fork").Process(
        target=_import_then_hang, args=(str(path), str(marker), [event(i) for i in range(1000, 1300)])
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and child.is_alive(), "the import never dropped its indexes"
            time.sleep(0.02)
        time.sleep(0.3)  # more chunks written after the drop
        assert child.is_alive()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    assert child.exitcode == -signal.SIGKILL
    assert dump(path) == before  # every index back, same rows, FTS intact (dump checks integrity)
    assert count == 40 + 26  # the base's events and the seed's
    # and the import simply runs again
    assert (
        import_into(
            path,
            [event(i) for i in range(1000, 1300)],
            bulk=True,
            bulk_options={"chunk": 20, "drop_indexes_after": 40},
        ).created
        == 300
    )


def test_a_bulk_import_leaves_the_connection_settings_as_they_were(tmp_path):
    import gc

    path = base_db(tmp_path)
    st = store_module.Store(str(path))
    try:
        before = st.conn.execute("PRAGMA temp_store").fetchone()[0]
        assert before == 2  # the store keeps temporary data in memory
        options = {"chunk": 20, "drop_indexes_after": 40}
        ingest.import_items(st, [event(i) for i in range(2000, 2100)], bulk=True, bulk_options=options)
        with pytest.raises(ingest.BatchInvalid):
            ingest.import_items(
                st, [event(3000), {"date": "nope", "title": "x"}], bulk=True, bulk_options=options
            )
        ingest.import_items(st, [event(3001)], bulk=True, dry_run=True)
        assert st.conn.execute("PRAGMA temp_store").fetchone()[0] == before
        assert gc.isenabled() and not st.conn.in_transaction
    finally:
        st.close()
