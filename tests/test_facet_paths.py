"""The fast facet paths of a plain date window give exactly the general path's answer.

Store.facets reads the term facets from event_terms_chrono's ranges and counts country and
precision in one pass when the only filter is a date window; facet_counts is the general
path (join per match). Both run here on the same varied archive (every precision, open
ends, BCE, long spans) for many windows and must agree value for value.
"""
from __future__ import annotations

import random

import pytest

from bench.generate import TIMELINES, Generator
from service import dates, ingest, store as store_module

NAMES = ["tags", "actors", "timelines", "country", "precision"]


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    st = store_module.connect(str(tmp_path_factory.mktemp("facets") / "timeline.db"))
    st.migrate()
    with st.write():
        for tl in TIMELINES:
            st.upsert_timeline(ingest.validate_timeline(tl))
    gen = Generator(5)
    items = [gen.event(i, [t["slug"] for t in TIMELINES]) for i in range(3000)]
    items += [{"id": "open-start", "date": "../2021-07", "title": "Open start", "tags": ["war"]},
              {"id": "open-end", "date": "2021-07/..", "title": "Open end", "actors": ["NATO"]},
              {"id": "bce", "date": "-0500/-0400", "title": "Long ago", "tags": ["war"]}]
    ingest.import_items(st, items, create_timelines=True)
    st.conn.execute("ANALYZE")
    return st


def windows():
    r = random.Random(3)
    out = [("2021", "2021"), ("2021-07", "2021-07-31"), ("1990", "1999"), ("-0500", "-0450"), ("1900", "2030")]
    for _ in range(25):
        y = r.randint(1800, 2030)
        out.append((f"{y:04d}-{r.randint(1, 12):02d}", f"{y + r.randint(0, 3):04d}"))
    return out


@pytest.mark.parametrize("window", windows())
@pytest.mark.parametrize("match", ["overlap", "within"])
def test_window_facets_equal_the_general_path(st, window, match):
    f = {"from_day": dates.parse_point(window[0])[0], "to_day": dates.parse_point(window[1])[1], "match": match}
    fast = st.facets(f, NAMES, 500)
    general = {name: st.facet_counts(f, name, 500) for name in NAMES}
    assert fast == general
    assert list(fast) == NAMES


def test_the_fast_path_counts_something(st):
    f = {"from_day": dates.parse_point("1900")[0], "to_day": dates.parse_point("2030")[1], "match": "overlap"}
    fast = st.facets(f, NAMES, 5)
    assert all(fast[name] for name in NAMES), fast
    assert all(len(rows) <= 5 for rows in fast.values())


def test_window_with_another_filter_takes_the_general_path(st):
    f = {"from_day": dates.parse_point("1900")[0], "to_day": dates.parse_point("2030")[1], "match": "overlap",
         "tags": ["war"]}
    assert st.facets(f, NAMES, 20) == {name: st.facet_counts(f, name, 20) for name in NAMES}


def test_open_ended_events_are_counted_in_the_windows_they_overlap(st):
    f = {"from_day": dates.parse_point("2021-07-15")[0], "to_day": dates.parse_point("2021-07-15")[1],
         "match": "overlap"}
    fast = st.facets(f, ["tags", "actors"], 500)
    assert ("war", 1) in fast["tags"] or any(v == "war" for v, _ in fast["tags"])
    assert any(v == "NATO" for v, _ in fast["actors"])
