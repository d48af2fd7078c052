"""Bulk writes for large imports: the store's upsert, a chunk of rows at a time.

The companion of ``Store.upsert_event`` for ``timeline import``, inside the import's one
transaction (all or nothing is the caller's ``BEGIN IMMEDIATE`` ... ``COMMIT``):

- New events (the bulk of an import) are written with one ``executemany`` per table per
  chunk: ``events`` (with explicit primary keys, the ones SQLite itself would pick:
  max + 1 in input order), ``event_docs``, ``event_terms``, ``events_fts`` and the
  ``changes`` feed (one row per written event, in input order, its document read from
  ``event_docs`` while it is the event's latest: store._migration_8); the new events' facet
  counts (``day_facet_counts``, ``span_facet_counts``) are added at the end, grouped in
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
  default) before writing a segment, so it merges far fewer, larger segments (500k
  events: FTS inserts 14.7 -> 4.0 s); the setting is put back at the end.

It mirrors the store's schema version ``MIRRORS_SCHEMA``; on any other version the import
writes row by row (``ingest.import_items``), and ``tests/test_bulk.py`` fails until this
module is brought up to date. That test proves the result equal to one ``upsert_event``
per row: the events, documents, terms, facet counts, change feed and search results,
with creates, updates, unchanged rows, derived ids and both paths of the index decision.
"""

from __future__ import annotations

from typing import Any

from .ingest import P_CLASS, P_DOC, P_END, P_FTS, P_HASH, P_ID, P_START, P_TERMS, Counts, unpack
from .store import Store, add_facet_counts, fill_facet_counts

# The store schema whose writes this module mirrors (Store.upsert_event, _count_facets).
# With any other, ingest writes row by row through upsert_event instead.
MIRRORS_SCHEMA = 8
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
        counts: Counts,
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
                    p[0],
                    start,
                    end,
                    cls,
                    p[4],
                    p[5],
                    p[6],
                    p[7],
                    p[8],
                    p[9],
                    p[10],
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
        conn.executemany(
            """INSERT INTO events (pk, id, start_key, end_key, span_class, start_year, start_month, precision,
               importance, country, lat, lon, version, created_at, updated_at, content_hash, seq)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?)""",
            events,
        )
        conn.executemany("INSERT INTO event_docs (pk, doc) VALUES (?, ?)", docs)
        terms.sort()  # in key order: each insert lands beside the last one of its term
        conn.executemany(
            "INSERT OR IGNORE INTO event_terms (kind, value, event, span_class, start_key, end_key) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            terms,
        )
        conn.executemany(
            "INSERT INTO events_fts (rowid, title, summary, actors, place, quotes) VALUES (?,?,?,?,?,?)", fts
        )
        conn.executemany("INSERT INTO changes (seq, op, id, at) VALUES (?, 'upsert', ?, ?)", changes)
        self.counts.created += len(run)

    def _count_new_events(self) -> None:
        """Add the events this writer created to the facet counts: grouped in SQL
        (store.add_facet_counts, as the migrations do), or, into an empty database,
        streamed from the chronological indexes (store.fill_facet_counts). Rows created
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
        # worker has finished by now, so the second core is free (1M events: 9 -> 6 s).
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
            # empty tables), and without them the planner guesses: measure the new tables
            # (1M events: 1.3 s).
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
