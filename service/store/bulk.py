"""Bulk writes for large imports: the store's upsert, a chunk of rows at a time.

The companion of ``Store.upsert_event`` for ``timeline import``, inside the import's one
transaction (all or nothing: the caller's ``Store.write``). Rows come packed, one flat
tuple each (the ``P_*`` fields below: cheap to build in a worker process and to send
here); :func:`unpack` gives ``upsert_event``'s row back.

- New events (the bulk of an import) are written with one ``executemany`` per table per
  chunk: ``events`` (with explicit primary keys, the ones SQLite itself would pick:
  max + 1 in input order), ``event_docs``, ``event_terms``, ``events_fts`` and the
  ``changes`` feed (one row per written event, in input order, its document read from
  ``event_docs`` while it is the event's latest: migrations._migration_8); the new events' facet
  counts (``day_facet_counts``, ``span_facet_counts``, ``facet_totals``) are added at the end, grouped in
  SQL (into an empty database: streamed from the rebuilt chronological indexes). An id
  that already exists goes through ``Store.upsert_event`` itself (updated or unchanged,
  version + 1, created_at kept), in its place in the order, so the feed keeps input order.
- When the import has written as many rows as half the table held before it (and at
  least ``drop_indexes_after``), the secondary indexes of ``events`` and ``event_terms``
  are dropped and built again at the end (sorting once instead of a random B-tree
  insert per row); SQLite DDL is transactional, so a failure or a kill still leaves
  the old database. Their ``sqlite_stat1`` rows are put back as they were; into an empty
  database, which had none, the filled tables are analysed instead.
  ``event_terms_event`` stays (replacing an event deletes its terms through it) unless
  the table was empty, when every row is new.
- After ``drop_indexes_after`` rows (whatever the table's size), the full-text index
  buffers up to ``fts_hash_bytes`` of new terms in memory (FTS5's ``hashsize``, 1 MB by
  default) before writing a segment, so it merges far fewer, larger segments; the
  setting is put back at the end.

It mirrors the writes of ``Writes.upsert_event`` and ``_count_facets`` (and shares their
INSERT statements): ``tests/test_bulk.py`` proves the result equal to one
``upsert_event`` per row (the events, documents, terms, facet counts, change feed and
search results, with creates, updates, unchanged rows, derived ids and both paths of the
index decision), so a schema change that this module misses fails there.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from .connection import Store
from .model import FTS_COLUMNS
from .writes import (
    EVENT_COLUMNS,
    INSERT_DOC,
    INSERT_FTS,
    INSERT_TERM,
    add_facet_counts,
    fill_facet_counts,
)

# A packed row, one flat tuple: a new event as the bulk writer inserts it. Raw tuples, not
# named ones: an import builds one per event, and these constants name their fields.
(
    P_ID,
    P_START,
    P_END,
    P_CLASS,
    P_YEAR,
    P_MONTH,
    P_PRECISION,
    P_IMPORTANCE,
    P_COUNTRY,
    P_LAT,
    P_LON,
    P_HASH,
    P_DOC,  # the stored document of a new event (version 1), JSON text
    P_TERMS,  # [(kind, value)]
    P_FTS,  # the full-text columns, FTS_COLUMNS order
    P_TIMELINES,
) = range(16)
_INSERT_EVENT_PK = f"INSERT INTO events (pk, {EVENT_COLUMNS}) VALUES ({', '.join('?' * 17)})"
_INSERT_CHANGE = "INSERT INTO changes (seq, op, id, at) VALUES (?, 'upsert', ?, ?)"


class Outcomes(Protocol):
    """Where the writer tallies what it did: ``add("created" | "updated" | "unchanged", n)``."""

    def add(self, outcome: str, n: int = 1) -> None: ...


def unpack(packed: tuple) -> dict[str, Any]:
    """``Store.upsert_event``'s row of a packed row."""
    event = orjson.loads(packed[P_DOC])
    del event["created_at"], event["updated_at"], event["version"]
    return {
        "id": packed[P_ID],
        "start_key": packed[P_START],
        "end_key": packed[P_END],
        "start_year": packed[P_YEAR],
        "start_month": packed[P_MONTH],
        "precision": packed[P_PRECISION],
        "importance": packed[P_IMPORTANCE],
        "country": packed[P_COUNTRY],
        "lat": packed[P_LAT],
        "lon": packed[P_LON],
        "content_hash": packed[P_HASH],
        "event": event,
        "terms": list(packed[P_TERMS]),
        "fts": dict(zip(FTS_COLUMNS, packed[P_FTS], strict=True)),
    }


DROP_INDEXES_AFTER = 20_000
FTS_HASH_BYTES = 32 << 20
SORT_THREADS = 2
KEEP_INDEXES = frozenset({"event_terms_event"})  # the write path reads through it
ANALYZED_AFTER_FILL = ("events", "event_terms", "day_facet_counts", "span_facet_counts")


class BulkWriter:
    def __init__(
        self,
        store: Store,
        now: str,
        counts: Outcomes,
        *,
        chunk: int = 2000,
        drop_indexes_after: int | None = DROP_INDEXES_AFTER,
        fts_hash_bytes: int | None = FTS_HASH_BYTES,
    ):
        self.store, self.conn, self.now, self.counts, self.chunk = store, store.conn, now, counts, chunk
        existing = self.conn.execute("SELECT count(*), max(pk) FROM events").fetchone()
        self.next_pk = existing[1] or 0  # the last pk used
        self.first_pk = self.next_pk + 1
        self.check_existing = existing[0] > 0  # into an empty table every id is new
        # Large: the FTS buffer grows after ``drop_indexes_after`` rows; the indexes go when
        # the import has also written half as many rows as the table held.
        self.large_at = drop_indexes_after
        self.drop_at = None if drop_indexes_after is None else max(drop_indexes_after, existing[0] // 2)
        self.fts_hash_bytes = fts_hash_bytes
        self.pending: list[tuple] = []
        self.written = 0
        self.dropped: list[tuple[str, str]] | None = None
        self.stats: list[tuple] = []
        self.fts_hash_before: Any = None
        self.fts_hash_set = False

    # ----------------------------------------------------------------- rows

    def add(self, packed: tuple) -> None:
        self.pending.append(packed)
        if len(self.pending) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        if self.large_at is not None:
            upto = self.written + len(batch)
            if upto >= self.large_at and not self.fts_hash_set and self.fts_hash_bytes:
                self._enlarge_fts_buffer()
            if upto >= self.drop_at and self.dropped is None:
                self._drop_indexes()
        found = self.store.existing_ids(p[P_ID] for p in batch) if self.check_existing else ()
        run: list[tuple] = []
        for packed in batch:
            if packed[P_ID] in found:
                self._insert(run)
                run = []
                outcome, _doc = self.store.upsert_event(unpack(packed), now=self.now)
                self.counts.add(outcome)
            else:
                run.append(packed)
        self._insert(run)
        self.written += len(batch)

    def _insert(self, run: list[tuple]) -> None:
        if not run:
            return
        now = self.now
        pk = self.next_pk
        conn = self.conn
        seq = self.store.data_version()  # the feed's last seq (upsert_event may have taken some)
        events, docs, terms, fts, changes = [], [], [], [], []
        for p in run:
            pk += 1
            seq += 1
            cls, start, end = p[P_CLASS], p[P_START], p[P_END]
            events.append(
                (
                    pk,
                    p[P_ID],
                    start,
                    end,
                    cls,
                    p[P_YEAR],
                    p[P_MONTH],
                    p[P_PRECISION],
                    p[P_IMPORTANCE],
                    p[P_COUNTRY],
                    p[P_LAT],
                    p[P_LON],
                    1,  # version
                    now,
                    now,
                    p[P_HASH],
                    seq,
                )
            )
            docs.append((pk, p[P_DOC]))
            for kind, value in p[P_TERMS]:
                terms.append((kind, value, pk, cls, start, end))
            fts.append((pk, *p[P_FTS]))
            changes.append((seq, p[P_ID], now))  # the document: in event_docs while current
        self.next_pk = pk
        conn.executemany(_INSERT_EVENT_PK, events)
        conn.executemany(INSERT_DOC, docs)
        terms.sort()  # in key order: each insert lands beside the last one of its term
        conn.executemany(INSERT_TERM, terms)
        conn.executemany(INSERT_FTS, fts)
        conn.executemany(_INSERT_CHANGE, changes)
        self.counts.add("created", len(run))

    def _count_new_events(self) -> None:
        """Add the events this writer created to the facet counts: grouped in SQL
        (add_facet_counts, as the migrations do), or, into an empty database,
        streamed from the chronological indexes (fill_facet_counts). Rows created
        here have pks from ``first_pk`` up; rows it replaced were counted by upsert_event."""
        if self.next_pk < self.first_pk:
            return
        if self.check_existing:
            add_facet_counts(self.conn.execute, self.first_pk)
        else:  # events and counts were empty: every event is counted, streaming in index order
            fill_facet_counts(self.conn.execute, self.conn.executemany)

    # ----------------------------------------------------------------- large imports

    def _drop_indexes(self) -> None:
        """Drop the secondary indexes, keeping their statistics (see the module doc)."""
        conn = self.conn
        self.dropped = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('events', 'event_terms') ORDER BY name"
        ).fetchall()
        # Into a table that was empty every row is new, so nothing reads through them.
        keep = KEEP_INDEXES if self.check_existing else frozenset()
        self.dropped = [(name, sql) for name, sql in self.dropped if name not in keep]
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            names = [name for name, _ in self.dropped]
            self.stats = (
                conn.execute(
                    f"SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx IN ({','.join('?' * len(names))})",
                    names,
                ).fetchall()
                if names
                else []
            )
        for name, _sql in self.dropped:
            conn.execute(f'DROP INDEX "{name}"')

    def _enlarge_fts_buffer(self) -> None:
        row = self.conn.execute("SELECT v FROM events_fts_config WHERE k = 'hashsize'").fetchone()
        self.fts_hash_before = row[0] if row else None
        self.conn.execute(
            "INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', ?)", (self.fts_hash_bytes,)
        )
        self.fts_hash_set = True

    def finish(self) -> None:
        """Write what is pending, rebuild what was dropped, restore what was set."""
        self.flush()
        conn = self.conn
        # The grouping and index-build sorts below may use helper threads: the validating
        # worker has finished by now, so the second core is free.
        threads = conn.execute("PRAGMA threads").fetchone()[0]
        conn.execute(f"PRAGMA threads = {max(int(threads), SORT_THREADS)}")
        try:
            for _name, sql in self.dropped or ():
                conn.execute(sql)
            self._count_new_events()  # after: fill_facet_counts reads the chronological indexes
        finally:
            conn.execute(f"PRAGMA threads = {int(threads)}")
        if not self.check_existing and self.next_pk >= self.first_pk:
            # Into an empty database there were no statistics to keep (the migration analysed
            # empty tables), and without them the planner guesses: measure the new tables.
            for table in ANALYZED_AFTER_FILL:
                conn.execute(f"ANALYZE {table}")
        elif self.dropped:
            if self.stats:
                conn.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", self.stats)
                conn.execute("ANALYZE sqlite_schema")  # reload the statistics into this connection
        if self.fts_hash_set:
            before = self.fts_hash_before
            conn.execute(
                "INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', ?)",
                (1 << 20 if before is None else before,),
            )
            if before is None:  # leave the configuration table as it was (the default)
                conn.execute("DELETE FROM events_fts_config WHERE k = 'hashsize'")
