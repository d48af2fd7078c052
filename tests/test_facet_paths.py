"""The fast facet paths of a plain date window give exactly the general path's answer.

Store.facets reads the term facets from event_terms_chrono's ranges and counts country and
precision in one pass when the only filter is a date window; facet_counts is the general
path (join per match). Both run here on the same varied archive (every precision, open
ends, BCE, long spans) for many windows and must agree value for value.
"""

from __future__ import annotations

import random

import pytest
import varied_archive
from factories import TIMELINES, Generator, new_store
from legacy_schema import as_schema_7

from service import dates, ingest
from service import store as store_module
from service.store import Filters, planner

NAMES = ["tags", "actors", "timelines", "country", "precision"]


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    return varied_archive.build(
        tmp_path_factory.mktemp("facets") / "timeline.db",
        5,
        3000,
        [
            {"id": "open-start", "date": "../2021-07", "title": "Open start", "tags": ["war"]},
            {"id": "open-end", "date": "2021-07/..", "title": "Open end", "actors": ["NATO"]},
            {"id": "bce", "date": "-0500/-0400", "title": "Long ago", "tags": ["war"]},
        ],
    )


def windows():
    r = random.Random(3)
    out = [
        ("2021", "2021"),
        ("2021-07", "2021-07-31"),
        ("1990", "1999"),
        ("-0500", "-0450"),
        ("1900", "2030"),
    ]
    for _ in range(25):
        y = r.randint(1800, 2030)
        out.append((f"{y:04d}-{r.randint(1, 12):02d}", f"{y + r.randint(0, 3):04d}"))
    return out


@pytest.mark.parametrize(
    "window", [*windows(), (None, "2021"), ("2021", None), (None, "-0450"), ("1990", None)]
)
@pytest.mark.parametrize("match", ["overlap", "within"])
def test_a_window_as_row_conditions_selects_its_index_ranges(st, window, match):
    """planner.window_condition (the window checked on rows read from elsewhere: the
    full-text matches) and class_parts (the window's own rows, by index ranges per span
    class) are one predicate: the same rows for every window, open sides included."""
    f = Filters(
        from_day=dates.parse_point(window[0])[0] if window[0] else None,
        to_day=dates.parse_point(window[1])[1] if window[1] else None,
        match=match,
    )
    where, params = planner.window_condition(f)
    by_rows = {
        pk for (pk,) in st.conn.execute(f"SELECT e.pk FROM events e WHERE {' AND '.join(where)}", params)
    }
    union, union_params = planner.window_union(f, "w.pk")
    by_ranges = {pk for (pk,) in st.conn.execute(union, union_params)} if union else set()
    assert by_rows == by_ranges
    assert by_rows or match == "within"


@pytest.mark.parametrize("window", windows())
@pytest.mark.parametrize("match", ["overlap", "within"])
def test_window_facets_equal_the_general_path(st, window, match):
    f = Filters(
        from_day=dates.parse_point(window[0])[0],
        to_day=dates.parse_point(window[1])[1],
        match=match,
    )
    fast = st.facets(f, NAMES, 500)
    general = {name: st.facet_counts(f, name, 500) for name in NAMES}
    assert fast == general
    assert list(fast) == NAMES


def test_the_fast_path_counts_something(st):
    f = Filters(from_day=dates.parse_point("1900")[0], to_day=dates.parse_point("2030")[1], match="overlap")
    fast = st.facets(f, NAMES, 5)
    assert all(fast[name] for name in NAMES), fast
    assert all(len(rows) <= 5 for rows in fast.values())


def test_window_with_another_filter_takes_the_general_path(st):
    f = Filters(
        from_day=dates.parse_point("1900")[0],
        to_day=dates.parse_point("2030")[1],
        match="overlap",
        tags=["war"],
    )
    assert st.facets(f, NAMES, 20) == {name: st.facet_counts(f, name, 20) for name in NAMES}


def test_open_ended_events_are_counted_in_the_windows_they_overlap(st):
    f = Filters(
        from_day=dates.parse_point("2021-07-15")[0],
        to_day=dates.parse_point("2021-07-15")[1],
        match="overlap",
    )
    fast = st.facets(f, ["tags", "actors"], 500)
    assert ("war", 1) in fast["tags"] or any(v == "war" for v, _ in fast["tags"])
    assert any(v == "NATO" for v, _ in fast["actors"])


def test_whole_archive_facets_equal_a_count_of_every_row(st):
    """Without any filter the facets are read from the facet counts; they must equal a
    count over every event's rows (event_terms, events), value for value and in order."""
    f = Filters()
    assert planner.unfiltered(f)
    got = st.facets(f, NAMES, 500)
    for name in NAMES:
        if name in ("country", "precision"):
            sql = (
                f"SELECT {name}, count(*) AS n FROM events WHERE {name} IS NOT NULL "
                f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 500"
            )
            expected = st.conn.execute(sql).fetchall()
        else:
            sql = (
                "SELECT value, count(*) AS n FROM event_terms WHERE kind = ? "
                "GROUP BY value ORDER BY n DESC, value LIMIT 500"
            )
            expected = st.conn.execute(sql, [name[:-1]]).fetchall()
        assert expected, name
        assert got[name] == expected, name
    assert st.facets(f, ["tags"], 3)["tags"] == got["tags"][:3]


def recount(st) -> list[tuple]:
    """day_facet_counts, span_facet_counts, facet_totals and start_totals as they should be,
    computed from scratch."""
    shift = store_module.DAY_BLOCK_SHIFT
    day = st.conn.execute(
        f"""SELECT kind, start_key >> {shift}, value, count(*) FROM event_terms WHERE span_class = 0 GROUP BY 1, 2, 3
            UNION ALL SELECT 'country', start_key >> {shift}, country, count(*) FROM events
                      WHERE span_class = 0 AND country IS NOT NULL GROUP BY 2, 3
            UNION ALL SELECT 'precision', start_key >> {shift}, precision, count(*) FROM events
                      WHERE span_class = 0 GROUP BY 2, 3"""
    ).fetchall()
    span = st.conn.execute(
        """SELECT kind, span_class, start_key, end_key, value, count(*) FROM event_terms WHERE span_class > 0
                  GROUP BY 1, 2, 3, 4, 5
           UNION ALL SELECT 'country', span_class, start_key, end_key, country, count(*) FROM events
                     WHERE span_class > 0 AND country IS NOT NULL GROUP BY 2, 3, 4, 5
           UNION ALL SELECT 'precision', span_class, start_key, end_key, precision, count(*) FROM events
                     WHERE span_class > 0 GROUP BY 2, 3, 4, 5"""
    ).fetchall()
    total = st.conn.execute(
        """SELECT kind, value, count(*) FROM event_terms GROUP BY 1, 2
           UNION ALL SELECT 'country', country, count(*) FROM events WHERE country IS NOT NULL GROUP BY 2
           UNION ALL SELECT 'precision', precision, count(*) FROM events GROUP BY 2"""
    ).fetchall()
    months = st.conn.execute(
        "SELECT start_year, start_month, count(*) FROM events WHERE start_year IS NOT NULL GROUP BY 1, 2"
    ).fetchall()
    return sorted(day), sorted(span), sorted(total), sorted(months)


def stored(st) -> list[tuple]:
    return (
        sorted(st.conn.execute("SELECT facet, block, value, n FROM day_facet_counts").fetchall()),
        sorted(
            st.conn.execute("SELECT facet, span_class, start_key, end_key, value, n FROM span_facet_counts")
        ),
        sorted(st.conn.execute("SELECT facet, value, n FROM facet_totals").fetchall()),
        sorted(st.conn.execute("SELECT start_year, start_month, n FROM start_totals").fetchall()),
    )


def test_day_counts_stay_exact_through_creates_updates_and_deletes(tmp_path):
    st = new_store(tmp_path / "timeline.db")
    r = random.Random(11)
    gen = Generator(9)
    slugs = [t["slug"] for t in TIMELINES]
    ingest.import_items(st, [gen.event(i, slugs) for i in range(400)], create_timelines=True)
    assert stored(st) == recount(st) and all(stored(st))
    ids = [row[0] for row in st.conn.execute("SELECT id FROM events")]
    for step in range(300):
        event_id = r.choice(ids)
        with st.write():
            if step % 5 == 0 and st.event_exists(event_id):
                st.delete_event(event_id)
            else:  # replace it with another event's content: date, span class, tags, country may all change
                item = gen.event(r.randrange(10_000), slugs)
                item["id"] = event_id
                if step % 7 == 0:
                    item["date"] = r.choice(["2021-07-02", "2021-07", "1990/1999", "2021-07-02/2021-07-03"])
                st.upsert_event(ingest.prepare_one(st, item))
    assert stored(st) == recount(st)
    assert all(row[-1] > 0 for table in stored(st) for row in table)


def test_migration_counts_an_existing_archive(tmp_path):
    """A database made before the counts existed (schema 5) gets them right when migrated."""
    st = new_store(tmp_path / "old.db")
    gen = Generator(2)
    ingest.import_items(st, [gen.event(i, []) for i in range(300)])
    as_schema_7(st.conn)
    with st.write():  # back to schema 5: as it was before migrations 6 and 7
        st.conn.execute("DROP TABLE day_facet_counts")
        st.conn.execute("DROP TABLE span_facet_counts")
        st.conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    assert st.migrate() == store_module.SCHEMA_VERSION - 5
    assert stored(st) == recount(st) and all(stored(st))


def test_migration_totals_an_existing_archive(tmp_path):
    """A schema-9 archive (facet counts, no totals) gets the totals right when migrated,
    and its whole-archive facets are the same before and after."""
    st = new_store(tmp_path / "old.db")
    gen = Generator(4)
    ingest.import_items(
        st, [gen.event(i, [t["slug"] for t in TIMELINES]) for i in range(300)], create_timelines=True
    )
    before = st.facets(Filters(), NAMES, 500)
    histogram = st.start_counts(Filters(), "month")
    with st.write():  # back to schema 9
        st.conn.execute("DROP TABLE facet_totals")
        st.conn.execute("DROP TABLE start_totals")
        st.conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    assert st.migrate() == store_module.SCHEMA_VERSION - 9
    assert stored(st) == recount(st) and all(stored(st))
    assert st.facets(Filters(), NAMES, 500) == before
    assert st.start_counts(Filters(), "month") == histogram


@pytest.mark.parametrize("grain", ["day", "month", "year"])
def test_whole_archive_histogram_equals_a_count_of_every_row(st, grain):
    """Without any filter the month and year counts are read from start_totals, the day
    counts from each span class's index range, merged; they must equal a count over every
    event by its start, bucket for bucket, with the open starts apart."""
    cols = {"day": "start_key", "month": "start_year, start_month", "year": "start_year"}[grain]
    expected = st.conn.execute(
        f"SELECT {cols}, count(*) FROM events WHERE start_year IS NOT NULL GROUP BY {cols} ORDER BY {cols}"
    ).fetchall()
    open_starts = st.conn.execute("SELECT count(*) FROM events WHERE start_year IS NULL").fetchone()[0]
    rows, unbucketed, got_grain = st.start_counts(Filters(), grain)
    assert (rows, unbucketed, got_grain) == (expected, open_starts, grain)
    assert len(rows) > 50 and unbucketed > 0


FILTERS = [
    Filters(tags=("war",)),
    Filters(actors=("NATO",)),
    Filters(min_importance=4),
    Filters(precisions=("day", "month")),
]


@pytest.mark.parametrize("grain", ["day", "month", "year"])
@pytest.mark.parametrize("f", FILTERS, ids=["tag", "actor", "importance", "precision"])
def test_filtered_histogram_equals_a_count_of_its_matches(st, grain, f):
    """With a filter and no window the matches are counted in one pass, the open and
    unknown starts in its first group: the same as counting the dated matches by start
    and the undated apart."""
    cols = {"day": "e.start_key", "month": "e.start_year, e.start_month", "year": "e.start_year"}[grain]
    where, params = planner.filter_conditions(f)
    cond = " AND ".join(where)
    expected = st.conn.execute(
        f"SELECT {cols}, count(*) FROM events e WHERE {cond} AND e.start_year IS NOT NULL GROUP BY {cols} ORDER BY {cols}",
        params,
    ).fetchall()
    undated = st.conn.execute(
        f"SELECT count(*) FROM events e WHERE {cond} AND e.start_year IS NULL", params
    ).fetchone()[0]
    assert st.start_counts(f, grain) == (expected, undated, grain)
    assert expected


def test_windows_that_end_next_to_a_one_day_event(st):
    """Block edges: windows that start or end one day beside a one-day event, at every
    position of a 16-day block, count that event exactly when it is inside."""
    days = [
        d for (d,) in st.conn.execute("SELECT DISTINCT start_key FROM events WHERE span_class = 0 ORDER BY 1")
    ]
    by_offset: dict[int, int] = {}
    for d in days:
        by_offset.setdefault(d % store_module.DAY_BLOCK, d)
    assert len(by_offset) == store_module.DAY_BLOCK
    checked = 0
    for d in by_offset.values():
        for lo, hi in ((d + 1, d + 40), (d - 40, d - 1), (d, d + 40), (d - 40, d), (d - 33, d + 33)):
            f = Filters(from_day=lo, to_day=hi, match="overlap")
            assert st.facets(f, NAMES, 500) == {name: st.facet_counts(f, name, 500) for name in NAMES}, (
                lo,
                hi,
            )
            checked += planner.window_count_parts(f)[0] is not None
    assert checked >= 60


def folded(rows, interval):
    out: dict[str, int] = {}
    for day, n in rows:
        key = dates.bucket(interval, day)[0]
        out[key] = out.get(key, 0) + n
    return out


@pytest.mark.parametrize("window", windows())
@pytest.mark.parametrize("match", ["overlap", "within"])
def test_window_histograms_from_the_counts_equal_the_index_count(st, window, match):
    """A plain window's histogram read from the facet counts (whole blocks, split blocks,
    edges, long spans) gives every bucket exactly the count of the index path, at every interval."""
    f = Filters(
        from_day=dates.parse_point(window[0])[0],
        to_day=dates.parse_point(window[1])[1],
        match=match,
    )
    rows, unbucketed, grain = st.start_counts(f, "year")
    assert grain == "day"
    for interval in ("day", "month", "year", "decade", "century"):
        fast, fast_unbucketed, _ = st.start_counts(
            f, "year", lambda day, interval=interval: dates.bucket(interval, day)[1]
        )
        assert folded(fast, interval) == folded(rows, interval) and fast_unbucketed == unbucketed, interval


def test_window_histogram_counts_whole_blocks_and_open_starts(st):
    f = Filters(from_day=dates.parse_point("1900")[0], to_day=dates.parse_point("2030")[1], match="overlap")
    _blocks, _day_parts, _ = planner.window_count_parts(f)
    assert _blocks is not None
    rows, unbucketed, _ = st.start_counts(f, "year", lambda day: dates.bucket("year", day)[1])
    assert unbucketed >= 1 and sum(n for _, n in rows) > 1000  # "open-start" overlaps, and many others
