"""Counting matches: totals, facets and start histograms.

A plain date window (no other filter) is answered from the facet counts that
:mod:`.writes` keeps (day_facet_counts for one-day events per 16-day block,
span_facet_counts for longer ones per exact start and end); anything else counts the
matching rows, read from covering index ranges where it can.
"""

from __future__ import annotations

import heapq
import itertools
import operator
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from . import planner
from .model import DAY_BLOCK, DAY_BLOCK_SHIFT, OPEN_START, Filters

_TERM_FACETS = ("tags", "actors", "timelines")


def _top(counts: Counter, size: int) -> list[tuple[Any, int]]:
    """The ``size`` largest counts, most frequent first, ties by value (as ORDER BY n DESC, value)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]


class Aggregates:
    """The counting part of :class:`~.connection.Store` (``conn``: its connection)."""

    conn: sqlite3.Connection

    def count_events(self, f: Filters) -> int:
        only_q = planner.fts_count_query(f)
        if only_q is not None:
            return self.conn.execute(*only_q).fetchone()[0]
        filter_where, filter_params = planner.filter_conditions(f)
        if f.fts:  # once over the matches, not once per span class
            date_where, date_params = planner.window_condition(f)
            where = filter_where + date_where
            sql = f"SELECT count(*) FROM events e WHERE {' AND '.join(where)}"
            return self.conn.execute(sql, filter_params + date_params).fetchone()[0]
        total = 0
        for _cls, where, params in planner.class_parts(f):
            sql = f"SELECT count(*) FROM events e WHERE {' AND '.join(where + filter_where)}"
            total += self.conn.execute(sql, params + filter_params).fetchone()[0]
        return total

    def facets(self, f: Filters, names: Iterable[str], size: int) -> dict[str, list[tuple[str, int]]]:
        """The ``size`` most frequent values of each facet in ``names`` among the matches of
        ``f`` (most frequent first, ties by value).

        A plain date window (no other filter) is answered from the facet counts: one-day
        events of the whole 16-day blocks the window covers from day_facet_counts (those
        of its ragged edges from the index ranges), longer events from span_facet_counts
        under the same per-class range conditions as the events. Anything else:
        facet_counts, one facet at a time over the matching events.
        """
        names = list(dict.fromkeys(names))
        plain_window = planner.plain_window(f)
        result: dict[str, list[tuple[str, int]]] = {}
        if plain_window and ("country" in names or "precision" in names):
            counts: dict[str, Counter] = {"country": Counter(), "precision": Counter()}
            blocks, day_parts, long_parts = planner.window_count_parts(f)
            arms, params = [], []
            if blocks is not None:
                arms.append(
                    "SELECT facet, value, n FROM day_facet_counts "
                    "WHERE facet IN ('country', 'precision') AND block BETWEEN ? AND ?"
                )
                params += blocks
            for where, p in long_parts:
                arms.append(
                    "SELECT e.facet, e.value, e.n FROM span_facet_counts e "
                    "WHERE e.facet IN ('country', 'precision') AND " + " AND ".join(where)
                )
                params += p
            for facet, value, n in self.conn.execute(" UNION ALL ".join(arms), params) if arms else ():
                counts[facet][value] += n
            arms, params = [], []
            for where, p in day_parts:
                arms.append("SELECT e.country, e.precision FROM events e WHERE " + " AND ".join(where))
                params += p
            if arms:
                for (country, precision), n in Counter(
                    self.conn.execute(" UNION ALL ".join(arms), params)
                ).items():
                    if country is not None:
                        counts["country"][country] += n
                    counts["precision"][precision] += n
            result = {facet: _top(c, size) for facet, c in counts.items()}
        out = {}
        for name in names:
            if name in result:
                out[name] = result[name]
            elif plain_window and name in _TERM_FACETS:
                out[name] = self.conn.execute(*planner.term_facet_query(f, name[:-1], size)).fetchall()
            else:
                out[name] = self.facet_counts(f, name, size)
        return out

    def facet_counts(self, f: Filters, facet: str, size: int) -> list[tuple[str, int]]:
        """Most frequent values of ``facet`` (tags, actors, timelines, country, precision) among matches."""
        if planner.unfiltered(f):  # the whole archive: from the facet counts, not every row
            name = facet[:-1] if facet in _TERM_FACETS else facet
            return self.conn.execute(*planner.total_facet_query(name, size)).fetchall()
        m = planner.matches_from(f)
        if facet in _TERM_FACETS:
            kind = facet[:-1]
            key = "e.pk" if m.joined else "w.pk"
            sql = (
                f"SELECT t.value, count(*) AS n FROM {m.src} CROSS JOIN event_terms t "
                f"ON t.event = {key} AND t.kind = ? WHERE {m.where} GROUP BY t.value ORDER BY n DESC, t.value LIMIT ?"
            )
            return self.conn.execute(sql, [*m.src_params, kind, *m.where_params, size]).fetchall()
        column = {"country": "country", "precision": "precision"}[facet]
        if m.joined:
            column = "e." + column
        else:  # read from the covering index ranges, not the rows
            m = planner.matches_from(f, f"w.pk, w.{column}")
            column = "w." + column
        sql = (
            f"SELECT {column}, count(*) AS n FROM {m.src} WHERE {m.where} AND {column} IS NOT NULL "
            f"GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?"
        )
        return self.conn.execute(sql, [*m.params, size]).fetchall()

    def start_counts(
        self, f: Filters, grain: str, bucket: Callable[[int], Any] | None = None
    ) -> tuple[list[tuple], int, str]:
        """Counts of matches grouped by their start, ascending, the number with no start, and
        the grain of the rows: ``day`` (start_key), ``month`` (start_year, start_month) or
        ``year`` (start_year). Over everything it reads start_totals (the events per month of
        start, kept by the writes) at grain month or year, the covering index at grain day;
        inside a window it groups the window's index
        ranges by start_key and answers at grain ``day`` (the caller folds the days).

        ``bucket`` (a day -> a day of the caller's bucket, the same for every day of it, such
        as its first): inside a plain date window the counts come from the facet counts
        (every event has one precision), as facets does: the whole 16-day blocks of one-day
        events that lie in one bucket are one row at that day; blocks across a bucket edge and the window's ragged edges are read from
        the index, longer events from span_facet_counts grouped by start."""
        if bucket is not None and planner.plain_window(f):
            return self._window_start_counts(f, bucket)
        if f.windowed:
            m = planner.matches_from(f, "w.pk, w.start_key")
            by_day = self.conn.execute(
                f"SELECT w.start_key, count(*) FROM {m.src} WHERE {m.where} GROUP BY w.start_key", m.params
            ).fetchall()
            unbucketed = sum(n for day, n in by_day if day == OPEN_START)
            return sorted(r for r in by_day if r[0] != OPEN_START), unbucketed, "day"
        m = planner.matches_from(f)
        if grain != "day" and planner.unfiltered(f):  # the whole archive: from start_totals
            rows = self.conn.execute(planner.total_start_query(grain)).fetchall()
        elif planner.unfiltered(f):  # the whole archive by day: each span class in index order
            parts = [self.conn.execute(sql, params) for sql, params in planner.total_day_queries()]
            rows = [
                (day, sum(n for _, n in same))
                for day, same in itertools.groupby(heapq.merge(*parts), key=operator.itemgetter(0))
            ]
        else:
            # One pass over the matches (with q that is every match's row: two passes took
            # twice as long), the open and unknown starts in its first group: their
            # start_year is NULL, which sorts first, and their start_key OPEN_START.
            cols = {"day": "e.start_key", "month": "e.start_year, e.start_month", "year": "e.start_year"}[
                grain
            ]
            rows = self.conn.execute(
                f"SELECT {cols}, count(*) FROM {m.src} WHERE {m.where} GROUP BY {cols} ORDER BY {cols}",
                m.params,
            ).fetchall()
            if rows and rows[0][0] in (None, OPEN_START):
                return rows[1:], rows[0][-1], grain
            return rows, 0, grain
        # start_year is NULL exactly when the start is open or unknown.
        unbucketed = self.conn.execute(
            f"SELECT count(*) FROM {m.src} WHERE {m.where} AND e.start_year IS NULL", m.params
        ).fetchone()[0]
        return rows, unbucketed, grain

    def _window_start_counts(self, f: Filters, bucket: Callable[[int], Any]) -> tuple[list[tuple], int, str]:
        """start_counts of a plain date window, from the facet counts (see start_counts)."""
        blocks, day_parts, long_parts = planner.window_count_parts(f)
        by_day: Counter = Counter()
        split: list[tuple[int, int]] = []  # day ranges of the whole blocks that cross a bucket edge
        if blocks is not None:
            for block, n in self.conn.execute(
                "SELECT block, n FROM day_facet_counts WHERE facet = 'precision' AND block BETWEEN ? AND ?",
                blocks,
            ):
                first = block << DAY_BLOCK_SHIFT
                last = first + DAY_BLOCK - 1
                if (home := bucket(first)) == bucket(last):
                    by_day[home] += n  # on the bucket's own day: one entry a bucket
                elif split and split[-1][1] == first - 1:  # one range for neighbours
                    split[-1] = (split[-1][0], last)
                else:
                    split.append((first, last))
        arms, params = [], []
        for where, p in day_parts:
            arms.append("SELECT e.start_key AS start_key, 1 AS n FROM events e WHERE " + " AND ".join(where))
            params += p
        if split:  # one index range per split run, however many (a month histogram has hundreds)
            arms.append(
                "SELECT e.start_key AS start_key, 1 AS n FROM json_each(?) AS r CROSS JOIN events e "
                "ON e.span_class = 0 AND e.start_key >= json_extract(r.value, '$[0]') "
                "AND e.start_key <= json_extract(r.value, '$[1]')"
            )
            params.append(orjson.dumps(split).decode())
        for where, p in long_parts:
            arms.append(
                "SELECT e.start_key, e.n FROM span_facet_counts e WHERE e.facet = 'precision' AND "
                + " AND ".join(where)
            )
            params += p
        if arms:
            for start, n in self.conn.execute(
                f"SELECT start_key, sum(n) FROM ({' UNION ALL '.join(arms)}) GROUP BY start_key", params
            ):
                by_day[start] += n
        unbucketed = by_day.pop(OPEN_START, 0)
        return sorted(by_day.items()), unbucketed, "day"
