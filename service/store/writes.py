"""Writing events: upserts and deletes with their terms, full-text rows, change feed and
facet counts, all inside the caller's transaction (see ``Store.write``).

The facet counts (day_facet_counts for one-day events per block of DAY_BLOCK days,
span_facet_counts for longer events per exact start and end, facet_totals for the whole
archive per value, start_totals for the whole archive per month of start) are kept
exact here, by
statements of their own in the writing transaction rather than by SQLite triggers (a
triggered INSERT interleaved with FTS5 writes is slow). The bulk writer (.bulk) shares
the INSERT statements below and adds its events' counts with :func:`add_facet_counts`.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson

from .model import DAY_BLOCK_SHIFT, FTS_COLUMNS, Conflict, NotFound, PreconditionFailed, span_class, utc_now

# The columns of an events row after its pk, in the order of the INSERT statements below
# (upsert_event's values, and the bulk writer's rows after their explicit pk).
EVENT_COLUMNS = (
    "id, start_key, end_key, span_class, start_year, start_month, precision, importance, country, "
    "lat, lon, version, created_at, updated_at, content_hash, seq"
)
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 16)})"
INSERT_DOC = "INSERT INTO event_docs (pk, doc) VALUES (?, ?)"
INSERT_TERM = (
    "INSERT OR IGNORE INTO event_terms (kind, value, event, span_class, start_key, end_key) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_FTS = f"INSERT INTO events_fts (rowid, {', '.join(FTS_COLUMNS)}) VALUES (?{',?' * len(FTS_COLUMNS)})"


class Writes:
    """The writing part of :class:`~.connection.Store` (``conn``: its connection)."""

    conn: sqlite3.Connection

    def upsert_event(
        self,
        row: dict[str, Any],
        *,
        now: str | None = None,
        if_version: int | None = None,
        create_only: bool = False,
    ) -> tuple[str, str]:
        """Create or replace one event inside the caller's transaction.

        ``row`` carries the indexed columns, ``event`` (the event dict without
        created_at/updated_at/version), ``content_hash``, ``terms`` and ``fts``.
        Returns (outcome, doc) with outcome ``created``, ``updated`` or ``unchanged``.
        Raises Conflict when ``create_only`` and the id exists, PreconditionFailed when
        ``if_version`` does not match the stored version (or the event is absent).
        """
        now = now or utc_now()
        existing = self.conn.execute(
            "SELECT pk, version, created_at, updated_at, content_hash, seq FROM events WHERE id = ?",
            (row["id"],),
        ).fetchone()
        if existing is not None and create_only:
            raise Conflict(row["id"])
        if if_version is not None and (existing is None or existing[1] != if_version):
            raise PreconditionFailed(row["id"])
        if existing is not None and existing[4] == row["content_hash"]:
            doc = self.conn.execute("SELECT doc FROM event_docs WHERE pk = ?", (existing[0],)).fetchone()[0]
            return "unchanged", doc
        if existing is None:
            version, created_at = 1, now
        else:
            version, created_at = existing[1] + 1, existing[2]
        doc_dict = dict(row["event"])
        doc_dict["created_at"] = created_at
        doc_dict["updated_at"] = now
        doc_dict["version"] = version
        doc = orjson.dumps(doc_dict).decode()
        if existing is not None:
            pk = existing[0]
            self._count_facets(pk, -1)
            self.conn.execute("DELETE FROM event_terms WHERE event = ?", (pk,))
            # These two read the old document, so they come before it is replaced
            # (see migrations._FTS_TEXT_VIEW and _migration_8).
            self.conn.execute("DELETE FROM events_fts WHERE rowid = ?", (pk,))
            self._keep_old_doc(pk, existing[5])
        seq = self._record_change("upsert", row["id"], now)
        values = (
            row["id"],
            row["start_key"],
            row["end_key"],
            span_class(row["start_key"], row["end_key"]),
            row["start_year"],
            row["start_month"],
            row["precision"],
            row["importance"],
            row["country"],
            row["lat"],
            row["lon"],
            version,
            created_at,
            now,
            row["content_hash"],
            seq,
        )
        if existing is None:
            cur = self.conn.execute(INSERT_EVENT, values)
            pk = cur.lastrowid
            self.conn.execute(INSERT_DOC, (pk, doc))
        else:
            self.conn.execute(
                """UPDATE events SET id=?, start_key=?, end_key=?, span_class=?, start_year=?, start_month=?,
                   precision=?, importance=?, country=?, lat=?, lon=?, version=?, created_at=?, updated_at=?,
                   content_hash=?, seq=? WHERE pk = ?""",
                values + (pk,),
            )
            self.conn.execute("UPDATE event_docs SET doc = ? WHERE pk = ?", (doc, pk))
        cls = values[3]
        self.conn.executemany(
            INSERT_TERM,
            [(kind, value, pk, cls, row["start_key"], row["end_key"]) for kind, value in row["terms"]],
        )
        fts = row["fts"]
        self.conn.execute(INSERT_FTS, (pk, *(fts[column] for column in FTS_COLUMNS)))
        self._count_facets(pk, +1)
        return ("created" if existing is None else "updated"), doc

    def delete_event(self, event_id: str, *, if_version: int | None = None, now: str | None = None) -> None:
        """Delete inside the caller's transaction; NotFound / PreconditionFailed as for upsert."""
        existing = self.conn.execute(
            "SELECT pk, version, seq FROM events WHERE id = ?", (event_id,)
        ).fetchone()
        if existing is None:
            raise NotFound(event_id)
        if if_version is not None and existing[1] != if_version:
            raise PreconditionFailed(event_id)
        pk = existing[0]
        self._count_facets(pk, -1)
        self.conn.execute("DELETE FROM event_terms WHERE event = ?", (pk,))
        self.conn.execute("DELETE FROM events_fts WHERE rowid = ?", (pk,))  # reads the document: first
        self._keep_old_doc(pk, existing[2])
        self.conn.execute("DELETE FROM events WHERE pk = ?", (pk,))
        self.conn.execute("DELETE FROM event_docs WHERE pk = ?", (pk,))
        self._record_change("delete", event_id, now or utc_now())

    def _count_facets(self, pk: int, delta: int) -> None:
        """Add ``delta`` (+1 or -1) to the facet counts of event ``pk`` as it is now stored
        (its terms, country and precision): day_facet_counts for a one-day event,
        span_facet_counts for a longer one, facet_totals, and start_totals for its month of
        start. Counts that reach 0 are removed."""
        shift = DAY_BLOCK_SHIFT
        values = self.conn.execute(
            """SELECT t.kind, e.span_class, e.start_key, e.end_key, t.value FROM events e
                  JOIN event_terms t ON t.event = e.pk WHERE e.pk = ?1
                UNION ALL SELECT 'precision', span_class, start_key, end_key, precision FROM events WHERE pk = ?1
                UNION ALL SELECT 'country', span_class, start_key, end_key, country FROM events
                          WHERE pk = ?1 AND country IS NOT NULL""",
            (pk,),
        ).fetchall()
        if not values:
            return
        if values[0][1] == 0:
            keys = [(facet, start >> shift, value) for facet, _cls, start, _end, value in values]
            upsert = f"INSERT INTO day_facet_counts (facet, block, value, n) VALUES (?, ?, ?, ?) {_ADD_DAY}"
            prune = "DELETE FROM day_facet_counts WHERE facet = ? AND block = ? AND value = ? AND n <= 0"
        else:
            keys = values
            upsert = (
                "INSERT INTO span_facet_counts (facet, span_class, start_key, end_key, value, n) "
                f"VALUES (?, ?, ?, ?, ?, ?) {_ADD_SPAN}"
            )
            prune = (
                "DELETE FROM span_facet_counts WHERE facet = ? AND span_class = ? AND start_key = ? "
                "AND end_key = ? AND value = ? AND n <= 0"
            )
        totals = [(facet, value) for facet, _cls, _start, _end, value in values]
        self.conn.executemany(upsert, [(*k, delta) for k in keys])
        self.conn.executemany(
            f"INSERT INTO facet_totals (facet, value, n) VALUES (?, ?, ?) {_ADD_TOTAL}",
            [(*k, delta) for k in totals],
        )
        if delta < 0:
            self.conn.executemany(prune, keys)
            self.conn.executemany("DELETE FROM facet_totals WHERE facet = ? AND value = ? AND n <= 0", totals)
        month = self.conn.execute(
            "SELECT start_year, start_month FROM events WHERE pk = ? AND start_year IS NOT NULL", (pk,)
        ).fetchone()
        if month is not None:
            self.conn.execute(
                f"INSERT INTO start_totals (start_year, start_month, n) VALUES (?, ?, ?) {_ADD_START}",
                (*month, delta),
            )
            if delta < 0:
                self.conn.execute(
                    "DELETE FROM start_totals WHERE start_year = ? AND start_month = ? AND n <= 0", month
                )

    def _record_change(self, op: str, event_id: str, at: str) -> int:
        """Append a change to the feed; its seq. Its document is the event's current one,
        read from event_docs while the change is the event's latest (see migrations._migration_8)."""
        return self.conn.execute(
            "INSERT INTO changes (op, id, at) VALUES (?, ?, ?)", (op, event_id, at)
        ).lastrowid

    def _keep_old_doc(self, pk: int, seq: int | None) -> None:
        """Before event ``pk``'s document is replaced or deleted: copy it into its latest
        change ``seq``, which from now on is history (None: that change has its own copy)."""
        if seq is not None:
            self.conn.execute(
                "UPDATE changes SET doc = (SELECT doc FROM event_docs WHERE pk = ?) WHERE seq = ?", (pk, seq)
            )


# How a count is added to each count table's row, by the writer of one event
# (Writes._count_facets) and by add_facet_counts alike.
_ADD_DAY = "ON CONFLICT (facet, block, value) DO UPDATE SET n = n + excluded.n"
_ADD_SPAN = "ON CONFLICT (facet, span_class, start_key, end_key, value) DO UPDATE SET n = n + excluded.n"
_ADD_TOTAL = "ON CONFLICT (facet, value) DO UPDATE SET n = n + excluded.n"
_ADD_START = "ON CONFLICT (start_year, start_month) DO UPDATE SET n = n + excluded.n"


def add_facet_counts(execute, first_pk: int, tables: tuple[str, ...] = ("day", "span", "total")) -> None:
    """Add every event with ``pk >= first_pk`` to the facet counts, grouped in SQL: the
    same totals as Writes._count_facets once per event. ``tables``: ``day``
    (day_facet_counts, one-day events), ``span`` (span_facet_counts, the rest) and/or
    ``total`` (facet_totals and start_totals, every event). Used by the migrations that
    made the tables and by the bulk import (.bulk)."""
    shift = DAY_BLOCK_SHIFT
    if "day" in tables:
        execute(
            f"""INSERT INTO day_facet_counts (facet, block, value, n)
                    SELECT kind, start_key >> {shift}, value, count(*) FROM event_terms
                    WHERE span_class = 0 AND event >= ? GROUP BY 1, 2, 3 {_ADD_DAY}""",
            (first_pk,),
        )
        for column in ("country", "precision"):
            execute(
                f"""INSERT INTO day_facet_counts (facet, block, value, n)
                        SELECT '{column}', start_key >> {shift}, {column}, count(*) FROM events
                        WHERE span_class = 0 AND {column} IS NOT NULL AND pk >= ? GROUP BY 2, 3 {_ADD_DAY}""",
                (first_pk,),
            )
    if "span" in tables:
        execute(
            f"""INSERT INTO span_facet_counts (facet, span_class, start_key, end_key, value, n)
                    SELECT kind, span_class, start_key, end_key, value, count(*) FROM event_terms
                    WHERE span_class > 0 AND event >= ? GROUP BY 1, 2, 3, 4, 5 {_ADD_SPAN}""",
            (first_pk,),
        )
        for column in ("country", "precision"):
            execute(
                f"""INSERT INTO span_facet_counts (facet, span_class, start_key, end_key, value, n)
                        SELECT '{column}', span_class, start_key, end_key, {column}, count(*) FROM events
                        WHERE span_class > 0 AND {column} IS NOT NULL AND pk >= ? GROUP BY 2, 3, 4, 5 {_ADD_SPAN}""",
                (first_pk,),
            )
    if "total" in tables:
        execute(
            f"""INSERT INTO facet_totals (facet, value, n)
                    SELECT kind, value, count(*) FROM event_terms WHERE event >= ? GROUP BY 1, 2 {_ADD_TOTAL}""",
            (first_pk,),
        )
        for column in ("country", "precision"):
            execute(
                f"""INSERT INTO facet_totals (facet, value, n)
                        SELECT '{column}', {column}, count(*) FROM events
                        WHERE {column} IS NOT NULL AND pk >= ? GROUP BY 2 {_ADD_TOTAL}""",
                (first_pk,),
            )
        execute(
            f"""INSERT INTO start_totals (start_year, start_month, n)
                   SELECT start_year, start_month, count(*) FROM events
                   WHERE start_year IS NOT NULL AND pk >= ? GROUP BY 1, 2 {_ADD_START}""",
            (first_pk,),
        )


def fill_facet_counts(execute, executemany) -> None:
    """Count every event into the facet counts, when events and counts start empty (the
    bulk import into an empty database): the same rows as ``add_facet_counts(execute, 0)``,
    but the day and span counts are read in the order of each source's chronological index
    (event_terms_chrono, events_chrono) and grouped as they stream, so nothing is sorted,
    memory stays flat, and the counts go in in key order (faster than SQL's GROUP BY, which
    sorts). The totals are add_facet_counts' own."""
    shift = DAY_BLOCK_SHIFT
    terms = ("actor", "tag", "timeline")
    # Facets in key order ('actor' < 'country' < 'precision' < 'tag' < 'timeline'), so every
    # row lands after the last one.
    day = {
        kind: (
            "SELECT start_key >> ?, value FROM event_terms WHERE kind = ? AND span_class = 0 "
            "ORDER BY start_key",
            (shift, kind),
        )
        for kind in terms
    }
    span = {
        kind: (
            "SELECT span_class, start_key, end_key, value FROM event_terms WHERE kind = ? "
            "AND span_class > 0 ORDER BY span_class, start_key, end_key",
            (kind,),
        )
        for kind in terms
    }
    for column in ("country", "precision"):
        day[column] = (
            f"SELECT start_key >> ?, {column} FROM events WHERE span_class = 0 "
            f"AND {column} IS NOT NULL ORDER BY start_key",
            (shift,),
        )
        span[column] = (
            f"SELECT span_class, start_key, end_key, {column} FROM events WHERE span_class > 0 "
            f"AND {column} IS NOT NULL ORDER BY span_class, start_key, end_key",
            (),
        )
    for table, sources, width in (
        ("day_facet_counts (facet, block, value, n)", day, 1),
        ("span_facet_counts (facet, span_class, start_key, end_key, value, n)", span, 3),
    ):
        marks = ", ".join("?" * (width + 3))
        for facet in sorted(sources):
            executemany(
                f"INSERT INTO {table} VALUES ({marks})",
                _grouped_counts(facet, execute(*sources[facet]), width),
            )
    add_facet_counts(execute, 0, ("total",))


def _grouped_counts(facet: str, rows: Iterable[tuple], width: int) -> Iterator[tuple]:
    """(facet, *group, value, n) for rows (*group, value) that arrive grouped by the first
    ``width`` columns: each group's values counted, in value order."""
    key = itemgetter(*range(width)) if width > 1 else itemgetter(0)
    for group, members in groupby(rows, key):
        head = group if width > 1 else (group,)
        for value, n in sorted(Counter(m[width] for m in members).items()):
            yield (facet, *head, value, n)
