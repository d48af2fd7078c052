"""The SQL of reads, planned per span class: conditions, window ranges, list queries.

Pure functions from :class:`~.model.Filters` to SQL text and parameters; nothing here
touches a connection (the one fact it needs from the database, how common a full-text
word is, comes in as a function).

Overlap queries (``start <= to AND end >= from``) cannot be answered by one range scan on
``start``: the scan would begin at the start of time. Every event therefore carries a
*span class*: the class bounds how long it can be (a day, a week, a month, a season, a
year, ...). Within one class, an event that overlaps ``[from, to]`` must start in
``[from - longest_span, to]``, a short range on the index ``(span_class, start_key,
end_key, id)``. A query runs once per class, each part in index order, and the parts are
merged; open-ended and very long events form one unbounded class, which is small.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .model import DAY_BLOCK, DAY_BLOCK_SHIFT, FTS_MIN_PREFIX, OPEN_START, SPAN_LIMITS, Filters

# A full-text query whose rarest word is in at least this many events is answered by
# walking the chronological index and probing FTS per row (cheap when most rows match);
# below it, from the (few) matches, sorted. See list_queries.
FTS_PROBE_MIN = 20_000


class FtsEstimate(NamedTuple):
    """What the plan of a full-text query needs to know about its words (Reads.fts_estimate).

    ``docs``: documents holding the rarest word (an upper bound of the matches).
    ``prefixed``: whether a word's prefix matches indexed terms other than the word's own
    stem, so the query cannot be evaluated one row at a time: FTS5 reads every doclist of
    a prefix again for each row it probes.
    """

    docs: int
    prefixed: bool


def match_query(words: Iterable[str], prefix: bool = True) -> str | None:
    """An FTS5 query that requires every word, from words that hold only letters and digits.

    Each word is a quoted string, so nothing in it is query syntax (AND, OR, NOT, NEAR,
    ``*``, ``^``, ``:``, quotes...). With ``prefix``, a word of FTS_MIN_PREFIX characters or
    more is a prefix query (``"word"*``). FTS5 stems the quoted word first, so the word
    matches every indexed word whose stem begins with the word's stem: "refugee" finds
    "refugees", "Taliba" finds "Taliban", "generous" finds "general" (both stem to
    "gener"), but "genera" (its own stem) does not find "general". None for no words.
    """
    quoted = []
    for word in words:
        if word:
            string = '"' + word.replace('"', '""') + '"'  # FTS5's escape, should a quote come in
            quoted.append(f"{string}*" if prefix and len(word) >= FTS_MIN_PREFIX else string)
    return " ".join(quoted) or None


# A page of (start_key, end_key, id, pk) rows joined with their documents, as UTF-8 bytes
# (the response is bytes: no decode and encode of every document on the way through).
_WITH_DOCS = (
    "SELECT u.start_key, u.end_key, u.id, CAST(d.doc AS BLOB) FROM ({}) AS u JOIN event_docs d ON d.pk = u.pk"
)


class Matches(NamedTuple):
    """The matches of a filter as a FROM part and a WHERE part (see :func:`matches_from`)."""

    src: str  # the FROM part
    src_params: list[Any]
    where: str  # the WHERE part
    where_params: list[Any]
    joined: bool  # whether ``e`` (the events row) is in the FROM part

    @property
    def params(self) -> list[Any]:
        return [*self.src_params, *self.where_params]


def filter_conditions(f: Filters, fts: bool = True) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``e`` for every non-date filter of ``f`` (``fts``: with the q filter)."""
    where: list[str] = []
    params: list[Any] = []
    for kind, values in (("tag", f.tags), ("actor", f.actors), ("timeline", f.timelines)):
        if values:
            marks = ",".join("?" * len(values))
            where.append(f"e.pk IN (SELECT event FROM event_terms WHERE kind = ? AND value IN ({marks}))")
            params += [kind, *values]
    if f.in_timeline:
        where.append("e.pk IN (SELECT event FROM event_terms WHERE kind = 'timeline' AND value = ?)")
        params.append(f.in_timeline)
    if f.countries:
        where.append(f"e.country IN ({','.join('?' * len(f.countries))})")
        params += f.countries
    if f.precisions:
        where.append(f"e.precision IN ({','.join('?' * len(f.precisions))})")
        params += f.precisions
    if f.min_importance:
        where.append("e.importance >= ?")
        params.append(f.min_importance)
    if f.bbox:
        min_lon, min_lat, max_lon, max_lat = f.bbox
        where.append("e.lat BETWEEN ? AND ?")
        params += [min_lat, max_lat]
        if min_lon <= max_lon:
            where.append("e.lon BETWEEN ? AND ?")
            params += [min_lon, max_lon]
        else:  # the box crosses the antimeridian
            where.append("(e.lon >= ? OR e.lon <= ?)")
            params += [min_lon, max_lon]
    if f.fts and fts:
        where.append("e.pk IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
        params.append(f.fts)
    return where, params


def plain_window(f: Filters) -> bool:
    """A date window and no other filter: what the facet counts can answer."""
    return f.windowed and not filter_conditions(f)[0]


def class_parts(f: Filters) -> list[tuple[int, list[str], list[Any]]]:
    """Per span class: the date conditions that bound its index range, each with exactly
    one parameter (params[i] belongs to where[i]: seek relies on it, and the parts are
    built as (condition, parameter) pairs so that it holds by construction)."""
    lo, hi, match = f.from_day, f.to_day, f.match
    parts = []
    for cls, limit in enumerate(SPAN_LIMITS):
        bounds: list[tuple[str, Any]] = [("e.span_class = ?", cls)]
        if match == "within":
            # A missing bound (a sentinel key) is never within a finite side of the window.
            if lo is not None:
                bounds.append(("e.start_key >= ?", lo))
            if hi is not None:
                shortest = SPAN_LIMITS[cls - 1] + 1 if cls > 0 and limit is not None else 0
                bounds += [("e.end_key <= ?", hi), ("e.start_key <= ?", hi - shortest)]
            if lo is not None and hi is not None and cls > 0 and limit is not None:
                if SPAN_LIMITS[cls - 1] + 1 > hi - lo:
                    continue  # every event of this class is longer than the window
        elif limit is None and lo is not None:
            # The unbounded class in two ranges. Events without a start all share the
            # start key OPEN_START, so the index orders them by end: seek to end >= from
            # instead of reading every one that ended earlier. The rest (open ends, and
            # spans over ten millennia) overlap as soon as they start by `to`.
            parts.append(_part(cls, [*bounds, ("e.start_key = ?", OPEN_START), ("e.end_key >= ?", lo)]))
            bounds.append(("e.start_key > ?", OPEN_START))
            if hi is not None:
                bounds.append(("e.start_key <= ?", hi))
            bounds.append(("e.end_key >= ?", lo))
        else:
            if hi is not None:
                bounds.append(("e.start_key <= ?", hi))
            if lo is not None:
                bounds.append(("e.end_key >= ?", lo))
                if limit is not None:
                    bounds.append(("e.start_key >= ?", lo - limit))
        parts.append(_part(cls, bounds))
    return parts


def _part(cls: int, bounds: list[tuple[str, Any]]) -> tuple[int, list[str], list[Any]]:
    """A class part from its (condition, parameter) pairs."""
    return cls, [cond for cond, _ in bounds], [param for _, param in bounds]


def seek(where: list[str], params: list[Any], after: tuple, descending: bool) -> tuple[list[str], list[Any]]:
    """Tighten a class range so a keyset page seeks to the cursor instead of the window edge.

    ``after`` is the cursor's (start_key, end_key, id). The bound added is implied by the
    keyset condition the page also carries, so it only moves where the index walk starts.
    The open-start part pins its start to one key and is ordered by end: when the cursor is
    one of those events, the part seeks on the end (otherwise each page would walk again
    over every open-start event before the cursor)."""
    pinned = "e.start_key = ?" in where and params[where.index("e.start_key = ?")] == after[0]
    column, value = ("e.end_key", after[1]) if pinned else ("e.start_key", after[0])
    bound = f"{column} <= ?" if descending else f"{column} >= ?"
    try:
        i = where.index(bound)
    except ValueError:
        return where + [bound], params + [value]
    params = params.copy()
    params[i] = (min if descending else max)(params[i], value)  # one parameter a condition
    return where, params


def past(where: list[str], params: list[Any], after_start: int, descending: bool) -> bool:
    """Whether every row of a class part starts strictly after the cursor's start (before
    it, descending), so the part needs no keyset condition: on the first pages of a
    window, whose cursors are still among the open-start events, none but that part does."""
    for cond, value in zip(where, params, strict=True):
        if cond == ("e.start_key < ?" if descending else "e.start_key > ?"):
            if (value <= after_start) if descending else (value >= after_start):
                return True
        elif cond == ("e.start_key <= ?" if descending else "e.start_key >= ?"):
            if (value < after_start) if descending else (value > after_start):
                return True
    return False


def precision_probe(f: Filters) -> tuple[str, list[Any]] | None:
    """For a filter on precision inside a window bounded on both sides: one statement whose
    rows are the positions (in :func:`class_parts`) of the class parts that can hold a
    match; None when there is nothing to probe.

    A precision is no bound on the span (``2021-07/2021-07-01`` is a one-day event of
    precision month), so the facet counts decide: one-day events from day_facet_counts
    over every 16-day block the window touches, longer ones from span_facet_counts under
    the part's own range conditions. Each EXISTS stops at its first count. Without it, a
    class part that holds no such event reads its whole range (``precision=month`` over a
    century: every one-day event of that century)."""
    if not f.precisions or f.from_day is None or f.to_day is None:
        return None
    marks = ",".join("?" * len(f.precisions))
    arms, params = [], []
    for i, (cls, where, p) in enumerate(class_parts(f)):
        if cls == 0:
            arms.append(
                f"SELECT {i} WHERE EXISTS (SELECT 1 FROM day_facet_counts WHERE facet = 'precision' "
                f"AND block BETWEEN ? AND ? AND value IN ({marks}))"
            )
            params += [f.from_day >> DAY_BLOCK_SHIFT, f.to_day >> DAY_BLOCK_SHIFT, *f.precisions]
        else:
            arms.append(
                f"SELECT {i} WHERE EXISTS (SELECT 1 FROM span_facet_counts e WHERE e.facet = 'precision' "
                f"AND {' AND '.join(where)} AND e.value IN ({marks}))"
            )
            params += [*p, *f.precisions]
    return (" UNION ALL ".join(arms), params) if arms else None


def list_queries(
    f: Filters,
    limit: int,
    after: tuple | None,
    descending: bool,
    fts_estimate: Callable[[Iterable[str]], FtsEstimate],
    parts: set[int] | None = None,
) -> tuple[str, list[tuple[str, list[Any]]]]:
    """The SQL of a page of matches: (plan, [(sql, params)]), one statement.

    plan ``classes``: a UNION ALL of one range on events_chrono per span class, each
    already in order, merged by SQLite and cut at ``limit``. With ``q``, when the rarest
    word is in at least FTS_PROBE_MIN events (``fts_estimate``), each row of that walk is
    probed in FTS (most rows match, so few probes find a page). plan ``matches``: fewer
    matches than that, or a word whose prefix matches other words (which FTS5 cannot probe
    per row cheaply); the matches are read by rowid from FTS, once, and sorted.
    """
    cmp = "<" if descending else ">"
    order = "DESC" if descending else "ASC"
    keyset = f"(e.start_key, e.end_key, e.id) {cmp} (?, ?, ?)"
    ordering = f"ORDER BY e.start_key {order}, e.end_key {order}, e.id {order} LIMIT ?"
    filter_where, filter_params = filter_conditions(f, fts=False)
    estimate = fts_estimate(f.fts_terms) if f.fts else None
    # When every prefix matches only its own word's stem (not estimate.prefixed), the
    # query without prefixes finds the same events, and FTS5 answers it faster: it seeks
    # in each word's doclist instead of reading every doclist under a prefix (per row
    # probed: many times over).
    query = f.fts if estimate is None or estimate.prefixed else match_query(f.fts_terms, prefix=False)
    if estimate is not None and (estimate.prefixed or estimate.docs < FTS_PROBE_MIN):
        date_where, date_params = window_condition(f)
        where = filter_where + date_where + ([keyset] if after is not None else [])
        params = [query, *filter_params, *date_params, *(after or ()), limit]
        sql = (
            "SELECT e.start_key, e.end_key, e.id, e.pk FROM "
            "(SELECT rowid AS pk FROM events_fts WHERE events_fts MATCH ?) AS m "
            f"CROSS JOIN events e ON e.pk = m.pk WHERE {' AND '.join(where) or '1'} {ordering}"
        )
        return "matches", [(_WITH_DOCS.format(sql), params)]
    if f.fts:
        filter_where.append(
            "EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH ? AND events_fts.rowid = e.pk)"
        )
        filter_params.append(query)
    arms, params = [], []
    for i, (_cls, where, p) in enumerate(class_parts(f)):
        if parts is not None and i not in parts:
            continue  # the facet counts say it holds no match (precision_probe)
        checked = after is not None and not past(where, p, after[0], descending)
        if after is not None:
            where, p = seek(where, p, after, descending)
        where = where + filter_where + ([keyset] if checked else [])
        arms.append(f"SELECT e.start_key, e.end_key, e.id, e.pk FROM events e WHERE {' AND '.join(where)}")
        params += p + filter_params + (list(after) if checked else [])
    # One compound statement: SQLite merges the per-class ranges (each already in index
    # order: "MERGE (UNION ALL)", no sort) and stops after `limit` rows, so a page reads
    # about `limit` index entries in all. The documents come in the same statement.
    if not arms:
        arms.append("SELECT NULL AS start_key, NULL AS end_key, NULL AS id, NULL AS pk WHERE 0")
    union = " UNION ALL ".join(arms) + f" ORDER BY 1 {order}, 2 {order}, 3 {order} LIMIT ?"
    return "classes", [(_WITH_DOCS.format(union), params + [limit])]


def relevance_query(f: Filters, limit: int, offset: int) -> tuple[str, list[Any]]:
    """Docs (bytes) of full-text matches, best first (bm25), ties in chronological order."""
    filter_where, filter_params = filter_conditions(dataclasses.replace(f, fts=None))
    date_where, date_params = window_condition(f)
    where = ["events_fts MATCH ?"] + filter_where + date_where
    sql = (
        "SELECT CAST(d.doc AS BLOB) FROM events_fts JOIN events e ON e.pk = events_fts.rowid "
        "JOIN event_docs d ON d.pk = e.pk "
        f"WHERE {' AND '.join(where)} ORDER BY events_fts.rank, e.start_key, e.end_key, e.id LIMIT ? OFFSET ?"
    )
    return sql, [f.fts, *filter_params, *date_params, limit, offset]


def window_condition(f: Filters) -> tuple[list[str], list[Any]]:
    """The date window as conditions on a row's own keys, for rows that come from elsewhere
    (the full-text matches: every caller reads them first): the contract's predicate,
    overlap ``start <= to AND end >= from`` or within ``start >= from AND end <= to``; the
    sentinel keys of open and unknown ends (OPEN_START, OPEN_END) compare as the contract
    reads them. class_parts cuts the same predicate into index ranges per span class, for
    reading a window's own rows; tests/test_facet_paths.py holds the two to the same rows.

    (It was ``e.pk IN (window_union)``: SQLite built the window's every key first, so a
    rare word over half of a 1M archive took 1.4-1.5 s instead of 2-4 ms.)"""
    where: list[str] = []
    params: list[Any] = []
    if f.match == "within":
        bounds = (("e.start_key >= ?", f.from_day), ("e.end_key <= ?", f.to_day))
    else:
        bounds = (("e.start_key <= ?", f.to_day), ("e.end_key >= ?", f.from_day))
    for cond, day in bounds:
        if day is not None:
            where.append(cond)
            params.append(day)
    return where, params


def window_union(f: Filters, columns: str) -> tuple[str | None, list[Any]]:
    """The date window as a UNION ALL of one indexed range per span class, as in
    list_queries (an OR of the ranges would make SQLite scan the whole table). Rows are
    ``w``; None when no class can match."""
    arms, params = [], []
    for _cls, where, p in class_parts(f):
        arms.append(f"SELECT {columns} FROM events w WHERE " + " AND ".join(where).replace("e.", "w."))
        params += p
    return (" UNION ALL ".join(arms) if arms else None), params


def matches_from(f: Filters, columns: str = "w.pk") -> Matches:
    """The matches of ``f`` as a FROM part and a WHERE part, to be joined as callers need.

    With a date window the rows come from the per-span-class index ranges (``w``, a
    UNION ALL of covering-index scans); ``e`` is joined only when another filter needs
    the row (``joined``).
    """
    filter_where, filter_params = filter_conditions(f)
    where_sql = " AND ".join(filter_where) or "1"
    if not f.windowed:
        return Matches("events e", [], where_sql, filter_params, True)
    arms, params = window_union(f, columns)
    if arms is None:
        return Matches("(SELECT NULL AS pk, NULL AS start_key) w", [], "0", [], False)
    union = f"({arms}) w"
    if not filter_where:
        return Matches(union, params, "1", [], False)
    return Matches(f"{union} CROSS JOIN events e ON e.pk = w.pk", params, where_sql, filter_params, True)


class CountParts(NamedTuple):
    """A date window split for counting (see :func:`window_count_parts`)."""

    blocks: tuple[int, int] | None
    day_parts: list[tuple[list[str], list[Any]]]
    long_parts: list[tuple[list[str], list[Any]]]


def window_count_parts(f: Filters) -> CountParts:
    """A date window split for counting: (blocks, day_parts, long_parts).

    ``blocks`` are the whole day blocks (first, last) whose one-day events
    day_facet_counts holds, None when the window covers none; ``day_parts`` the
    (where, params) ranges of the other one-day events (the window's partial blocks,
    or the whole window); ``long_parts`` the per-class ranges of the longer spans,
    read from span_facet_counts (whose start_key, end_key and span_class columns the
    conditions name, as they name the events'). For one-day events overlap and
    within are the same test."""
    lo, hi = f.from_day, f.to_day
    parts = class_parts(f)
    long_parts = [(where, p) for cls, where, p in parts if cls != 0]
    day_parts = [(where, p) for cls, where, p in parts if cls == 0]
    if lo is None or hi is None:
        return CountParts(None, day_parts, long_parts)
    first, last = (lo + DAY_BLOCK - 1) >> DAY_BLOCK_SHIFT, ((hi + 1) >> DAY_BLOCK_SHIFT) - 1
    if first > last:
        return CountParts(None, day_parts, long_parts)
    day = "e.span_class = ? AND e.start_key >= ? AND e.start_key <= ?"
    edges = [
        ([day], [0, a, b])
        for a, b in ((lo, (first << DAY_BLOCK_SHIFT) - 1), ((last + 1) << DAY_BLOCK_SHIFT, hi))
        if a <= b
    ]
    return CountParts((first, last), edges, long_parts)


def fts_count_query(f: Filters) -> tuple[str, list[Any]] | None:
    """The SQL counting the matches of a ``q`` with no other filter and no window from the
    full-text index alone, without reading an event row per match (at 1M events 3-5x
    faster); None for any other filter. The index's rows are the events' own: the writers
    add and remove them with the events, and tests/test_doc_once.py holds the index to the
    stored documents and this count to the events' after random writes."""
    if not f.fts or f.windowed or filter_conditions(f, fts=False)[0]:
        return None
    return "SELECT count(*) FROM events_fts WHERE events_fts MATCH ?", [f.fts]


def unfiltered(f: Filters) -> bool:
    """No date window and no other filter: every event matches."""
    return not f.windowed and not filter_conditions(f)[0]


def total_facet_query(facet: str, size: int) -> tuple[str, list[Any]]:
    """The SQL of a facet (tag, actor, timeline, country or precision) over every event,
    from facet_totals (the sums of the facet counts per value, kept by the same writes):
    one row per value of the facet, the ``size`` most frequent kept as they are read."""
    sql = "SELECT value, n FROM facet_totals WHERE facet = ? ORDER BY n DESC, value LIMIT ?"
    return sql, [facet, size]


def total_start_query(grain: str) -> str:
    """The SQL of the whole archive's events per month (``month``) or year (``year``) of
    their start, ascending, from start_totals (kept by the writes; events with an open or
    unknown start are not in it)."""
    if grain == "month":
        return "SELECT start_year, start_month, n FROM start_totals ORDER BY start_year, start_month"
    return "SELECT start_year, sum(n) FROM start_totals GROUP BY start_year ORDER BY start_year"


def total_day_queries() -> list[tuple[str, list[Any]]]:
    """The SQL of the whole archive's events per day of their start, one query per span
    class, each a range of the covering index (span_class, start_key, ...) read in order:
    no table row and no temporary B-tree (one GROUP BY over every class sorted the whole
    archive: 1.7 s at 1M events, with start_year IS NOT NULL read from each row 4 s). The
    caller merges the parts. Events with an open or unknown start (start_key OPEN_START,
    start_year NULL) are left out."""
    sql = "SELECT e.start_key, count(*) FROM events e WHERE e.span_class = ? AND e.start_key > ? GROUP BY e.start_key"
    return [(sql, [cls, OPEN_START]) for cls in range(len(SPAN_LIMITS))]


def term_facet_query(f: Filters, kind: str, size: int) -> tuple[str, list[Any]]:
    """The SQL of a term facet (``kind`` tag, actor or timeline) inside a plain date
    window, from the facet counts and the window's edges (see window_count_parts)."""
    blocks, day_parts, long_parts = window_count_parts(f)
    arms, params = [], []
    if blocks is not None:
        arms.append("SELECT value, n FROM day_facet_counts WHERE facet = ? AND block BETWEEN ? AND ?")
        params += [kind, *blocks]
    for where, p in day_parts:
        arms.append(
            "SELECT e.value AS value, 1 AS n FROM event_terms e WHERE e.kind = ? AND " + " AND ".join(where)
        )
        params += [kind, *p]
    for where, p in long_parts:
        arms.append(
            "SELECT e.value, e.n FROM span_facet_counts e WHERE e.facet = ? AND " + " AND ".join(where)
        )
        params += [kind, *p]
    sql = (
        f"SELECT value, sum(n) AS total FROM ({' UNION ALL '.join(arms)}) "
        "GROUP BY value ORDER BY total DESC, value LIMIT ?"
    )
    return sql, [*params, size]
