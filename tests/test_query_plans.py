"""The hot queries use the intended index and never sort a large set in a temporary B-tree.

Each test builds a small database, runs ANALYZE as the service does after a migration,
and reads EXPLAIN QUERY PLAN of the SQL the store runs (list_queries gives it exactly).
"""

from __future__ import annotations

import re

import pytest
from factories import new_store

from service import ingest
from service import store as store_module
from service.api.events import fts_query, fts_words
from service.store import Filters, planner
from service.store.model import SPAN_LIMITS


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    """One small analysed database that every plan test reads (none writes)."""
    st = new_store(tmp_path_factory.mktemp("plans") / "timeline.db")
    items = [
        {
            "id": f"e{i}",
            "date": f"20{i % 20:02d}-0{1 + i % 9}",
            "title": f"common word{i % 7}",
            "tags": ["war"] if i % 3 else ["peace"],
            "importance": 1 + i % 5,
        }
        for i in range(300)
    ]
    ingest.import_items(st, items)
    st.conn.execute("ANALYZE")
    return st


def plan_text(st, sql, params):
    return " | ".join(st.explain(sql, params))


WINDOWS = [
    Filters(from_day=18800, to_day=18830, match="overlap"),
    Filters(from_day=18800, to_day=18830, match="within"),
    Filters(from_day=18800, match="overlap"),
    Filters(to_day=18830, match="overlap"),
    Filters(match="overlap"),
    Filters(from_day=18800, to_day=18830, match="overlap", tags=["war"], min_importance=3),
    Filters(from_day=18800, to_day=18830, match="overlap", countries=["AF"], precisions=["day"]),
]


@pytest.mark.parametrize("f", WINDOWS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("after", [None, (18801, 18801, "x")])
def test_window_query_walks_the_chronological_index_without_sorting(st, f, descending, after):
    plan, queries = st.list_queries(f, 51, after, descending)
    assert plan == "classes" and queries
    [(sql, params)] = queries
    text = plan_text(st, sql, params)
    # One range search of events_chrono per span class, merged in order, never a sort or a scan.
    ranges = re.findall(r"SEARCH e USING (?:COVERING )?INDEX events_chrono \(span_class=?", text)
    parts = st.parts_with_matches(f)  # a precision filter reads only the parts that can match
    assert len(ranges) == len(parts if parts is not None else planner.class_parts(f)), text
    if len(ranges) > 1:
        assert "MERGE (UNION ALL)" in text, text
    assert "TEMP B-TREE" not in text, text
    assert not re.search(r"\bSCAN e\b", text), text


@pytest.mark.parametrize(
    "f", WINDOWS + [Filters(from_day=18800, match="within"), Filters(to_day=18830, match="within")]
)
@pytest.mark.parametrize("after", [(18815, 18815, "x"), (store_module.OPEN_START, 18815, "x")])
def test_class_conditions_carry_one_parameter_each(st, f, after):
    """planner.seek finds a condition's parameter by the condition's position, and tightens
    (never loosens) the bound the cursor implies: the start, or the end in the open-start
    part (one start key, ordered by end) when the cursor is one of its events."""
    for _cls, where, params in planner.class_parts(f):
        assert len(where) == len(params) and all(w.count("?") == 1 for w in where), where
        kept = (list(where), list(params))
        pinned = "e.start_key = ?" in where and params[where.index("e.start_key = ?")] == after[0]
        column, value = ("e.end_key", after[1]) if pinned else ("e.start_key", after[0])
        for descending, op, pick in ((False, ">=", max), (True, "<=", min)):
            bound = f"{column} {op} ?"
            sought, p = planner.seek(where, params, after, descending)
            before = params[where.index(bound)] if bound in where else value
            assert p[sought.index(bound)] == pick(before, value) and len(sought) == len(p)
        assert (where, params) == kept  # the class part itself is left as it was


def test_a_cursor_among_open_start_events_seeks_on_their_end(st):
    """Pages through events without a start (all on one start key) seek to the cursor's end
    instead of walking again over every open-start event before it."""
    f = Filters(from_day=18800, to_day=18830, match="overlap")
    cursor = (store_module.OPEN_START, 18900, "x")
    _plan, [(sql, params)] = st.list_queries(f, 51, cursor)
    open_arm = next(arm for arm in sql.split(" UNION ALL ") if "e.start_key = ?" in arm)
    assert "e.end_key >= ?" in open_arm
    [(where, p)] = [(w, p) for _c, w, p in planner.class_parts(f) if "e.start_key = ?" in w]
    sought, p = planner.seek(where, p, cursor, False)
    assert p[sought.index("e.end_key >= ?")] == 18900 and "e.start_key >= ?" not in sought
    assert (
        "SEARCH e USING COVERING INDEX events_chrono (span_class=? AND start_key=? AND end_key>?)"
        in plan_text(st, sql, params)
    )
    # Every other part starts after the cursor: only the open-start part checks the keyset.
    assert sql.count("(e.start_key, e.end_key, e.id) > (?, ?, ?)") == 1
    _plan, [(sql, _params)] = st.list_queries(f, 51, (18810, 18810, "x"))
    assert sql.count("(e.start_key, e.end_key, e.id) > (?, ?, ?)") == len(
        planner.class_parts(f)
    )  # a cursor in the window: all


def test_each_span_class_range_is_bounded_below(st):
    """An overlap part never walks from the beginning of time: its start has a lower bound."""
    for cls, where, params in planner.class_parts(Filters(from_day=18800, to_day=18830, match="overlap")):
        if store_module.SPAN_LIMITS[cls] is not None:
            assert "e.start_key >= ?" in where
            assert params[where.index("e.start_key >= ?")] == 18800 - store_module.SPAN_LIMITS[cls]


def test_common_word_probes_fts_along_the_date_index(st, monkeypatch):
    monkeypatch.setattr(planner, "FTS_PROBE_MIN", 100)  # "common" at this small size: in all 300 rows
    f = Filters(match="overlap", fts=fts_query("common"), fts_terms=fts_words("common"))
    plan, [(sql, params)] = st.list_queries(f, 51)
    assert plan == "classes"
    text = plan_text(st, sql, params)
    assert "events_chrono" in text and "TEMP B-TREE" not in text, text
    assert "SCAN events_fts VIRTUAL TABLE" in text  # the per-row probe


def test_a_prefix_of_one_word_probes_that_word_exactly(st, monkeypatch):
    """ "common"* matches only the stem "common": the per-row probe asks for the word
    itself (a prefix probe would read every doclist under the prefix again on each row)."""
    monkeypatch.setattr(planner, "FTS_PROBE_MIN", 100)
    f = Filters(match="overlap", fts=fts_query("common"), fts_terms=fts_words("common"))
    assert f.fts == '"common"*'
    plan, [(sql, params)] = st.list_queries(f, 51)
    assert plan == "classes" and '"common"' in params and f.fts not in params
    assert "SCAN events_fts VIRTUAL TABLE" in plan_text(st, sql, params)


@pytest.mark.parametrize("q", ["wor", "word", "common wor"])
def test_a_prefix_of_many_words_reads_its_matches_once(st, monkeypatch, q):
    """ "wor"* stands for word0 ... word6: however common, it is not probed per row."""
    monkeypatch.setattr(planner, "FTS_PROBE_MIN", 100)
    f = Filters(match="overlap", fts=fts_query(q), fts_terms=fts_words(q))
    plan, [(sql, params)] = st.list_queries(f, 51)
    assert plan == "matches" and params[0] == f.fts  # the prefixes: they match more words
    steps = [s.strip() for s in plan_text(st, sql, params).split("|")]
    assert sum(s.startswith("SCAN events_fts VIRTUAL TABLE") for s in steps) <= 1, steps
    assert "EXISTS" not in sql


def test_the_estimate_stems_and_sees_other_words_under_a_prefix(st):
    """Reads.fts_estimate: documents of the rarest word, and whether a prefix matches more
    than the word's own stem (then the plan reads the matches once: see above)."""
    est = st.fts_estimate
    assert est(["common"]) == (300, False)  # one term begins with "common": itself
    assert est(["commons"]) == (300, False)  # stemmed first: "common"
    assert est(["commo"]) == (0, True)  # the stem "commo" is no term; "common" begins with it
    assert est(["wor"]) == (0, True)  # word0 ... word6
    assert est(["zzz"]) == (0, False)
    assert est(["co"]) == (0, False)  # under three characters: the word itself
    assert est(["common", "word3"]) == (43, False)  # the rarest word
    found = {row[2] for row in st.list_events(Filters(fts=fts_query("wor"), fts_terms=fts_words("wor")), 500)}
    assert len(found) == 300


def test_rare_words_are_read_without_their_prefix_when_it_adds_nothing(st):
    f = Filters(fts=fts_query("common word3"), fts_terms=fts_words("common word3"))
    plan, [(_sql, params)] = st.list_queries(f, 51)
    assert plan == "matches" and params[0] == '"common" "word3"' != f.fts


def test_rare_word_reads_its_matches_by_rowid(st):
    f = Filters(
        from_day=0,
        to_day=30000,
        match="overlap",
        fts=fts_query("word3"),
        fts_terms=fts_words("word3"),
    )
    plan, [(sql, params)] = st.list_queries(f, 51)
    assert plan == "matches"
    text = plan_text(st, sql, params)
    steps = [s.strip() for s in text.split("|")]
    assert steps[0] == "MATERIALIZE u", text  # the page, then joined with its documents
    assert steps[1].startswith("SCAN events_fts VIRTUAL TABLE") or steps[1] == "SCAN m", text
    assert "SEARCH e USING INTEGER PRIMARY KEY" in text, text
    assert steps[-2:] == ["SCAN u", "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)"], text


def test_a_rare_word_in_a_wide_window_reads_only_its_matches(st):
    """The matches plan checks the window on each match's row: it never gathers the
    window's own keys first (for half of a 1M archive that was 1.4 s)."""
    f = Filters(
        from_day=0, to_day=50000, match="overlap", fts=fts_query("word7"), fts_terms=fts_words("word7")
    )
    plan, [(sql, params)] = st.list_queries(f, 51)
    assert plan == "matches"
    text = plan_text(st, sql, params)
    assert "events_chrono" not in text and "LIST SUBQUERY" not in text, text
    assert "SEARCH e USING INTEGER PRIMARY KEY" in text, text


@pytest.mark.parametrize("match", ["overlap", "within"])
def test_window_term_facets_read_the_terms_chronological_index(st, match):
    f = Filters(from_day=18800, to_day=18830, match=match)
    sql, params = planner.term_facet_query(f, "tag", 20)
    text = plan_text(st, sql, params)
    blocks, day_parts, long_parts = planner.window_count_parts(f)
    assert blocks is not None  # the month holds whole 16-day blocks: their one-day events are counted ones
    assert "SEARCH day_facet_counts USING PRIMARY KEY (facet=? AND block>? AND block<?)" in text, text
    edges = re.findall(r"SEARCH e USING COVERING INDEX event_terms_chrono \(kind=\? AND span_class=\?", text)
    assert len(edges) == len(day_parts), text
    spans = re.findall(r"SEARCH e USING PRIMARY KEY \(facet=\? AND span_class=\? AND start_key", text)
    assert len(spans) == len(long_parts) and long_parts, text
    assert not re.search(r"\bSCAN (e|day_facet_counts|span_facet_counts)\b", text), text
    # The only sorts are of the grouped values (a few hundred at most), never of the rows' order.


@pytest.mark.parametrize("facet", ["tag", "actor", "timeline", "country", "precision"])
def test_whole_archive_facets_read_only_the_first_totals(st, facet):
    """Without filters a facet reads its totals, one row per value (sorted by count: a
    few hundred values), never the facet counts or the rows of event_terms or events."""
    text = plan_text(st, *planner.total_facet_query(facet, 20))
    assert "SEARCH facet_totals USING PRIMARY KEY (facet=?)" in text, text
    assert not re.search(r"\b(event_terms|events|day_facet_counts|span_facet_counts)\b", text), text


@pytest.mark.parametrize("grain", ["month", "year"])
def test_histogram_over_everything_reads_only_the_start_totals(st, grain):
    """The whole archive by month or year of start: the rows of start_totals (a row per
    month with events) in key order, never the events or their index."""
    text = plan_text(st, planner.total_start_query(grain), [])
    assert "start_totals" in text and "TEMP B-TREE" not in text, text
    assert not re.search(r"\bevents\b", text), text


def test_day_histogram_over_everything_reads_each_class_range_in_index_order(st):
    """The whole archive by day of start: per span class one range of the covering
    chronological index, in its order (the store merges the parts): no table row, no
    temporary B-tree (one GROUP BY over every class sorted a million rows)."""
    parts = planner.total_day_queries()
    assert len(parts) == len(SPAN_LIMITS)
    for sql, params in parts:
        text = plan_text(st, sql, params)
        assert "USING COVERING INDEX events_chrono (span_class=? AND start_key>?)" in text, text
        assert "TEMP B-TREE" not in text, text


def test_get_by_id_uses_the_unique_index(st):
    sql = "SELECT d.doc, e.version FROM events e JOIN event_docs d ON d.pk = e.pk WHERE e.id = ?"
    text = plan_text(st, sql, ["x"])
    assert "sqlite_autoindex_events_1" in text and "USING INTEGER PRIMARY KEY" in text, text


PRECISION_WINDOWS = [
    Filters(from_day=18800, to_day=18830, precisions=["month"]),
    Filters(from_day=18800, to_day=18830, precisions=["day"], match="within"),
    Filters(from_day=-800000, to_day=800000, precisions=["year", "decade"], min_importance=5),
]


@pytest.mark.parametrize("f", PRECISION_WINDOWS)
def test_precision_probe_reads_the_facet_counts_by_key(st, f):
    """The probe of a precision filter (which class parts can hold a match) is one search
    of day_facet_counts and one of span_facet_counts per part, each by its primary key,
    never a scan, and it leaves out the parts that hold no such event."""
    sql, params = planner.precision_probe(f)
    text = plan_text(st, sql, params)
    assert not re.search(r"\bSCAN (?!CONSTANT ROW)", text), text
    assert "SEARCH day_facet_counts USING PRIMARY KEY (facet=? AND block>? AND block<?)" in text, text
    searches = re.findall(r"SEARCH e USING PRIMARY KEY \(facet=\? AND span_class=\?", text)
    assert len(searches) == len(planner.class_parts(f)) - 1, text
    parts = st.parts_with_matches(f)
    assert parts is not None and len(parts) < len(planner.class_parts(f))


def test_precision_probe_keeps_every_match(tmp_path):
    """A precision does not bound the span (a month-precision interval can last one day):
    with the probe, a precision filter finds exactly what it finds without it."""
    st = new_store(tmp_path / "p.db")
    dates = ["2021-07/2021-07-01", "2021-07", "2021-07-02", "2021/2021-01-03", "2021", "202X", "../2021-07"]
    ingest.import_items(st, [{"id": f"p{i}", "date": d, "title": d} for i, d in enumerate(dates)])
    st.conn.execute("ANALYZE")
    for precisions in (["month"], ["year"], ["day"], ["decade", "century"], ["month", "year"], ["season"]):
        for match in ("overlap", "within"):
            f = Filters(from_day=18000, to_day=19000, match=match, precisions=tuple(precisions))
            _plan, [(sql, params)] = planner.list_queries(f, 50, None, False, st.fts_estimate)
            unpruned = [r[2] for r in st.conn.execute(sql, params)]
            assert [r[2] for r in st.list_events(f, 50)] == unpruned, (precisions, match)
            assert st.parts_with_matches(f) is not None
