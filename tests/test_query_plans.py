"""The hot queries use the intended index and never sort in a temporary B-tree."""
from __future__ import annotations

import re

import pytest

from service import store as store_module
from service.api.events import fts_query


@pytest.fixture
def st(app):
    st = store_module.connect(app.config["DATABASE"])
    st.conn.execute("ANALYZE")
    return st


def plans_of_list(st, f, descending=False, after=None):
    """EXPLAIN QUERY PLAN of every per-span-class query that list_events runs."""
    filter_where, filter_params = st._filters(f)
    plans = []
    for _cls, where, params in st._class_parts(f):
        where = where + filter_where
        params = params + filter_params
        if after:
            where.append("(e.start_key, e.end_key, e.id) > (?, ?, ?)")
            params += list(after)
        order = "DESC" if descending else "ASC"
        sql = (f"SELECT e.start_key, e.end_key, e.id, e.pk FROM events e WHERE {' AND '.join(where)} "
               f"ORDER BY e.start_key {order}, e.end_key {order}, e.id {order} LIMIT 51")
        plans.append(st.explain(sql, params))
    return plans


@pytest.mark.parametrize("f", [
    {"from_day": 18800, "to_day": 18830, "match": "overlap"},
    {"from_day": 18800, "to_day": 18830, "match": "within"},
    {"from_day": 18800, "match": "overlap"},
    {"to_day": 18830, "match": "overlap"},
    {},
    {"from_day": 18800, "to_day": 18830, "tags": ["war"], "min_importance": 3},
    {"from_day": 18800, "to_day": 18830, "fts": fts_query("bagram")},
])
@pytest.mark.parametrize("descending", [False, True])
def test_window_query_walks_the_chronological_index_without_sorting(st, f, descending):
    plans = plans_of_list(st, {"match": "overlap", **f}, descending, after=(18801, 18801, "x"))
    assert plans, "at least one span class is queried"
    for plan in plans:
        text = " | ".join(plan)
        assert "USING INDEX events_chrono" in text or "USING COVERING INDEX events_chrono" in text, text
        assert "TEMP B-TREE" not in text, text
        assert not re.search(r"\bSCAN e\b", text), text  # a range search, not a full scan


def test_each_span_class_range_is_bounded_below(st):
    """An overlap part never walks from the beginning of time: its start has a lower bound."""
    for cls, where, params in st._class_parts({"from_day": 18800, "to_day": 18830, "match": "overlap"}):
        if store_module.SPAN_LIMITS[cls] is not None:
            assert "e.start_key >= ?" in where
            assert params[where.index("e.start_key >= ?")] == 18800 - store_module.SPAN_LIMITS[cls]


def test_get_by_id_uses_the_unique_index(st):
    plan = " ".join(st.explain("SELECT doc, version FROM events WHERE id = ?", ["x"]))
    assert "USING INDEX sqlite_autoindex_events_1" in plan or "USING COVERING INDEX" in plan, plan
