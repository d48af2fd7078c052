"""SQLite storage through sqlite-utils: schema, migrations, queries, transactions, change feed.

The only module with SQL. It takes and returns plain values (dicts, tuples, JSON text) and
imports nothing of ours.

Chronology runs on integer day numbers (days since 1970-01-01, proleptic Gregorian), so
BCE, CE and far-future dates order numerically. A missing start is stored as ``OPEN_START``
and a missing end as ``OPEN_END`` (sentinels beyond every real day), which gives the
contract's total order ``start, end, id`` with open starts first and open ends last.

Overlap queries (``start <= to AND end >= from``) cannot be answered by one range scan on
``start``: the scan would begin at the start of time. Every event therefore carries a
*span class*: the class bounds how long it can be (a day, a week, a month, a season, a
year, ...). Within one class, an event that overlaps ``[from, to]`` must start in
``[from - longest_span, to]``, a short range on the index ``(span_class, start_key,
end_key, id)``. A query runs once per class, each part in index order, and the parts are
merged; open-ended and very long events form one unbounded class, which is small.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
import sqlite_utils

_log = logging.getLogger(__name__)

OPEN_START = -(1 << 62)
OPEN_END = 1 << 62

# Upper bound (inclusive, in days of end_key - start_key) of each span class. The last,
# unbounded class holds open-ended events and spans longer than ten millennia.
SPAN_LIMITS: tuple[int | None, ...] = (0, 7, 31, 92, 366, 3653, 36525, 365250, 3652500, None)
UNBOUNDED = len(SPAN_LIMITS) - 1

# A full-text query whose rarest word is in at least this many events is answered by
# walking the chronological index and probing FTS per row (cheap when most rows match);
# below it, from the (few) matches, sorted. See list_events.
FTS_PROBE_MIN = 20_000

SCHEMA_VERSION = 8


def span_class(start_key: int, end_key: int) -> int:
    if start_key == OPEN_START or end_key == OPEN_END:
        return UNBOUNDED
    span = end_key - start_key
    for cls, limit in enumerate(SPAN_LIMITS[:-1]):
        if span <= limit:
            return cls
    return UNBOUNDED


def _seek(where: list[str], params: list[Any], after: tuple, descending: bool) -> tuple[list[str], list[Any]]:
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


def _past(where: list[str], params: list[Any], after_start: int, descending: bool) -> bool:
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


# A page of (start_key, end_key, id, pk) rows joined with their documents, as UTF-8 bytes
# (the response is bytes: no decode and encode of every document on the way through).
_WITH_DOCS = (
    "SELECT u.start_key, u.end_key, u.id, CAST(d.doc AS BLOB) FROM ({}) AS u JOIN event_docs d ON d.pk = u.pk"
)


def _top(counts: Counter, size: int) -> list[tuple[Any, int]]:
    """The ``size`` largest counts, most frequent first, ties by value (as ORDER BY n DESC, value)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]


_row_key = itemgetter(0, 1, 2)  # (start_key, end_key, id): a page's order


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreError(Exception):
    """Base for storage errors a caller can act on."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class PreconditionFailed(StoreError):
    pass


# --------------------------------------------------------------------------- schema


def _migration_1(db: sqlite_utils.Database) -> None:
    """The events, terms, full-text, timelines, change feed and token tables."""
    db.execute(
        """CREATE TABLE events (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            start_key INTEGER NOT NULL,
            end_key INTEGER NOT NULL,
            span_class INTEGER NOT NULL,
            start_year INTEGER,
            start_month INTEGER,
            precision TEXT NOT NULL,
            importance INTEGER NOT NULL,
            country TEXT,
            lat REAL,
            lon REAL,
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            doc TEXT NOT NULL
        )"""
    )
    # The chronological index: one range scan per span class (see the module docstring).
    db.execute("CREATE INDEX events_chrono ON events (span_class, start_key, end_key, id)")
    db.execute("CREATE INDEX events_year ON events (start_year, start_month)")
    db.execute("CREATE INDEX events_country ON events (country)")
    db.execute(
        """CREATE TABLE event_terms (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            event INTEGER NOT NULL,
            PRIMARY KEY (kind, value, event)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX event_terms_event ON event_terms (event)")
    db.execute(
        """CREATE VIRTUAL TABLE events_fts USING fts5(
            title, summary, actors, place, quotes,
            tokenize = 'unicode61 remove_diacritics 2'
        )"""
    )
    db.execute(
        """CREATE TABLE timelines (
            slug TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            description TEXT,
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            op TEXT NOT NULL,
            id TEXT NOT NULL,
            at TEXT NOT NULL,
            doc TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE tokens (
            name TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT
        )"""
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    """A vocabulary of the full-text index, and an index on precision."""
    # How many documents hold a term: chooses the plan for `q` sorted by date (see list_events).
    db.execute("CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'row')")
    # Facets on precision over a whole archive without reading every row.
    db.execute("CREATE INDEX events_precision ON events (precision)")


def _migration_3(db: sqlite_utils.Database) -> None:
    """The documents move to their own table, event_docs."""
    # The served JSON documents move to their own table: the events table stays narrow
    # (about 100 bytes a row), so filters and aggregations that read rows stay in cache.
    db.execute("CREATE TABLE event_docs (pk INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    db.execute("INSERT INTO event_docs (pk, doc) SELECT pk, doc FROM events")
    db.execute("ALTER TABLE events DROP COLUMN doc")


def _migration_4(db: sqlite_utils.Database) -> None:
    """The chronological index also covers importance, precision and country."""
    # The chronological index also carries the columns that filters and facets read most
    # (importance for the zoomed-out widget, precision, country), so a window scan that
    # filters or counts them never touches the table.
    db.execute("DROP INDEX events_chrono")
    db.execute(
        "CREATE INDEX events_chrono ON events (span_class, start_key, end_key, id, importance, precision, country)"
    )


def _migration_5(db: sqlite_utils.Database) -> None:
    """Term rows carry their event's span class and dates (event_terms_chrono)."""
    # Each term row also carries its event's span class and date keys, and a second index
    # orders them like events_chrono: the tag, actor and timeline facets of a date window
    # read the window's term entries in a few covering range scans instead of looking up
    # the terms of every matching event (22k random seeks for a busy year at 1M events).
    db.execute(
        """CREATE TABLE event_terms_new (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            event INTEGER NOT NULL,
            span_class INTEGER NOT NULL,
            start_key INTEGER NOT NULL,
            end_key INTEGER NOT NULL,
            PRIMARY KEY (kind, value, event)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """INSERT INTO event_terms_new (kind, value, event, span_class, start_key, end_key)
           SELECT t.kind, t.value, t.event, e.span_class, e.start_key, e.end_key
           FROM event_terms t JOIN events e ON e.pk = t.event"""
    )
    db.execute("DROP TABLE event_terms")
    db.execute("ALTER TABLE event_terms_new RENAME TO event_terms")
    db.execute("CREATE INDEX event_terms_event ON event_terms (event)")
    db.execute("CREATE INDEX event_terms_chrono ON event_terms (kind, span_class, start_key, end_key, value)")


# One-day events (span class 0, about 70% of a typical archive) are counted per facet value
# and per block of DAY_BLOCK days of their date, so a window's facets add up the blocks it
# covers instead of reading every one of those events (see Store.facets).
DAY_BLOCK_SHIFT = 4  # blocks of 16 days
DAY_BLOCK = 1 << DAY_BLOCK_SHIFT


def add_facet_counts(execute, first_pk: int, tables: tuple[str, ...] = ("day", "span")) -> None:
    """Add every event with ``pk >= first_pk`` to the facet counts, grouped in SQL: the
    same totals as Store._count_facets once per event. ``tables``: ``day``
    (day_facet_counts, one-day events) and/or ``span`` (span_facet_counts, the rest).
    Used by the migrations that made the tables and by the bulk import (service.bulk)."""
    day = "ON CONFLICT (facet, block, value) DO UPDATE SET n = n + excluded.n"
    span = "ON CONFLICT (facet, span_class, start_key, end_key, value) DO UPDATE SET n = n + excluded.n"
    shift = DAY_BLOCK_SHIFT
    if "day" in tables:
        execute(
            f"""INSERT INTO day_facet_counts (facet, block, value, n)
                    SELECT kind, start_key >> {shift}, value, count(*) FROM event_terms
                    WHERE span_class = 0 AND event >= ? GROUP BY 1, 2, 3 {day}""",
            (first_pk,),
        )
        for column in ("country", "precision"):
            execute(
                f"""INSERT INTO day_facet_counts (facet, block, value, n)
                        SELECT '{column}', start_key >> {shift}, {column}, count(*) FROM events
                        WHERE span_class = 0 AND {column} IS NOT NULL AND pk >= ? GROUP BY 2, 3 {day}""",
                (first_pk,),
            )
    if "span" in tables:
        execute(
            f"""INSERT INTO span_facet_counts (facet, span_class, start_key, end_key, value, n)
                    SELECT kind, span_class, start_key, end_key, value, count(*) FROM event_terms
                    WHERE span_class > 0 AND event >= ? GROUP BY 1, 2, 3, 4, 5 {span}""",
            (first_pk,),
        )
        for column in ("country", "precision"):
            execute(
                f"""INSERT INTO span_facet_counts (facet, span_class, start_key, end_key, value, n)
                        SELECT '{column}', span_class, start_key, end_key, {column}, count(*) FROM events
                        WHERE span_class > 0 AND {column} IS NOT NULL AND pk >= ? GROUP BY 2, 3, 4, 5 {span}""",
                (first_pk,),
            )


def fill_facet_counts(execute, executemany) -> None:
    """Count every event into the facet counts, when events and counts start empty (the
    bulk import into an empty database): the same rows as ``add_facet_counts(execute, 0)``,
    but each source is read in the order of its chronological index (event_terms_chrono,
    events_chrono) and grouped as it streams, so nothing is sorted, memory stays flat, and
    the counts go in in key order (1M events: about 7 s in SQL's GROUP BY -> 5 s)."""
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


def _grouped_counts(facet: str, rows: Iterable[tuple], width: int) -> Iterator[tuple]:
    """(facet, *group, value, n) for rows (*group, value) that arrive grouped by the first
    ``width`` columns: each group's values counted, in value order."""
    key = itemgetter(*range(width)) if width > 1 else itemgetter(0)
    for group, members in groupby(rows, key):
        head = group if width > 1 else (group,)
        for value, n in sorted(Counter(m[width] for m in members).items()):
            yield (facet, *head, value, n)


def _migration_6(db: sqlite_utils.Database) -> None:
    """Facet counts of one-day events per 16-day block (day_facet_counts)."""
    db.execute(
        """CREATE TABLE day_facet_counts (
            facet TEXT NOT NULL,   -- tag, actor, timeline, country or precision
            block INTEGER NOT NULL,  -- start_key >> DAY_BLOCK_SHIFT
            value TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (facet, block, value)
        ) WITHOUT ROWID"""
    )
    add_facet_counts(db.execute, 0, ("day",))
    # Store.upsert_event and Store.delete_event keep the counts exact from then on, in
    # the writing transaction (statements of their own: SQLite triggers here cost ~40 µs
    # a write, because a triggered INSERT interleaved with FTS5 writes is slow).


def _migration_7(db: sqlite_utils.Database) -> None:
    """Facet counts of longer events per exact start and end (span_facet_counts)."""
    # Longer events (span class 1 and up) are counted per facet value and exact (start, end):
    # their dates follow their precision (whole months, years, decades...), so many events
    # share one row, and a window's facets read these rows with the same per-class range
    # conditions as the events themselves (decades: a few hundred rows instead of the
    # thousands of events of the decade).
    db.execute(
        """CREATE TABLE span_facet_counts (
            facet TEXT NOT NULL,   -- tag, actor, timeline, country or precision
            span_class INTEGER NOT NULL,
            start_key INTEGER NOT NULL,
            end_key INTEGER NOT NULL,
            value TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (facet, span_class, start_key, end_key, value)
        ) WITHOUT ROWID"""
    )
    add_facet_counts(db.execute, 0, ("span",))


# The text that full-text search indexes, read from the stored documents (migration 8).
# Token for token the same as ingest's FTS columns (tested): the index is built from those
# values, and FTS5 reads this view to remove an event's old tokens when it is replaced or
# deleted, so the event_docs row must still hold the old document at that moment.
_FTS_TEXT_VIEW = """CREATE VIEW events_fts_text (pk, title, summary, actors, place, quotes) AS
    SELECT pk, json_extract(doc, '$.title'), coalesce(json_extract(doc, '$.summary'), ''),
        coalesce((SELECT group_concat(value, ' ') FROM json_each(doc, '$.actors')), ''),
        coalesce(json_extract(doc, '$.location.name'), ''),
        coalesce((SELECT group_concat(json_extract(value, '$.quote'), ' ') FROM json_each(doc, '$.sources')), '')
    FROM event_docs"""


def _migration_8(db: sqlite_utils.Database) -> None:
    """Each document stored once: the feed's latest changes and the full-text index read event_docs."""
    # Each document is stored once (the bulk of an archive's bytes; a third of what an
    # import writes):
    # - The change feed's latest change of a live event keeps no copy of the document
    #   (doc NULL); the feed reads it from event_docs, and events.seq points at that
    #   change. When the event is replaced or deleted, its old document moves into that
    #   change row, so every older change keeps the document it wrote. Changes written
    #   before this migration keep their own copies (events.seq is NULL for them).
    # - The full-text index keeps no copy of the text (FTS5 external content): it reads
    #   the text from the documents, through the view events_fts_text.
    db.execute("ALTER TABLE events ADD COLUMN seq INTEGER")
    db.execute(_FTS_TEXT_VIEW)
    db.execute("DROP TABLE events_fts")
    db.execute(
        """CREATE VIRTUAL TABLE events_fts USING fts5(
            title, summary, actors, place, quotes,
            tokenize = 'unicode61 remove_diacritics 2',
            content = 'events_fts_text', content_rowid = 'pk'
        )"""
    )
    # Index every event from its document, buffering up to 32 MB of terms (not 1 MB)
    # between segments; the default is put back afterwards. (FTS5's own 'rebuild' cannot
    # read this view: SQLite 3.40 answers "SQL logic error", because of json_each.)
    db.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', 33554432)")
    db.execute(
        "INSERT INTO events_fts (rowid, title, summary, actors, place, quotes) "
        "SELECT pk, title, summary, actors, place, quotes FROM events_fts_text"
    )
    db.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', 1048576)")
    db.execute("DELETE FROM events_fts_config WHERE k = 'hashsize'")  # the default, as before


def _summary(migration) -> str:
    """The first line of a migration's docstring: what it changes, for the log."""
    return (migration.__doc__ or migration.__name__).strip().splitlines()[0]


MIGRATIONS = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
]
assert len(MIGRATIONS) == SCHEMA_VERSION


# --------------------------------------------------------------------------- connection

_local = threading.local()


def connect(path: str) -> Store:
    """The calling thread's Store for ``path`` (one connection per thread and file)."""
    cache = getattr(_local, "stores", None)
    if cache is None:
        cache = _local.stores = {}
    store = cache.get(path)
    if store is None:
        store = cache[path] = Store(path)
    return store


def close_all() -> None:
    for store in getattr(_local, "stores", {}).values():
        store.close()
    _local.stores = {}


class Store:
    def __init__(self, path: str):
        self.path = path
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA mmap_size = 268435456")
        conn.execute("PRAGMA temp_store = MEMORY")
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

    def close(self) -> None:
        self.conn.close()

    # ----------------------------------------------------------------- transactions

    @contextmanager
    def write(self) -> Iterator[Store]:
        """One short ``BEGIN IMMEDIATE`` transaction: all of the block or none of it."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def rollback_if_open(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # ----------------------------------------------------------------- schema

    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def migrate(self) -> int:
        """Bring the schema to SCHEMA_VERSION; returns the number of migrations applied."""
        with self.write():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            current = self.schema_version()
            if 0 < current < SCHEMA_VERSION:
                _log.info(
                    "migrating %s from schema %d to %d (%d events; a large archive takes a while)",
                    self.path,
                    current,
                    SCHEMA_VERSION,
                    self.event_count(),
                )
            for number in range(current + 1, SCHEMA_VERSION + 1):
                started = time.perf_counter()
                MIGRATIONS[number - 1](self.db)
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(number),)
                )
                if current:
                    _log.info(
                        "schema %d: %s (%.1f s)",
                        number,
                        _summary(MIGRATIONS[number - 1]),
                        time.perf_counter() - started,
                    )
            if self.conn.execute("SELECT 1 FROM meta WHERE key = 'secret'").fetchone() is None:
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('secret', ?)", (secrets.token_hex(32),)
                )
        if current < SCHEMA_VERSION:
            self.conn.execute("ANALYZE")
        return SCHEMA_VERSION - current

    def secret(self) -> str:
        return self.conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]

    def ping(self) -> None:
        self.conn.execute("SELECT 1").fetchone()

    def data_version(self) -> int:
        """The change feed's last seq: it moves with every create, update and delete."""
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return row[0] if row else 0

    def event_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    # ----------------------------------------------------------------- single events

    def get_event(self, event_id: str) -> tuple[str, int] | None:
        """(doc JSON, version) of one event, or None."""
        row = self.conn.execute(
            "SELECT d.doc, e.version FROM events e JOIN event_docs d ON d.pk = e.pk WHERE e.id = ?",
            (event_id,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def event_exists(self, event_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is not None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self.conn.execute(f"SELECT id FROM events WHERE id IN ({marks})", chunk)
            )
        return found

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
            # (see _FTS_TEXT_VIEW and _migration_8).
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
            cur = self.conn.execute(
                """INSERT INTO events (id, start_key, end_key, span_class, start_year, start_month, precision,
                   importance, country, lat, lon, version, created_at, updated_at, content_hash, seq)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                values,
            )
            pk = cur.lastrowid
            self.conn.execute("INSERT INTO event_docs (pk, doc) VALUES (?, ?)", (pk, doc))
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
            "INSERT OR IGNORE INTO event_terms (kind, value, event, span_class, start_key, end_key) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(kind, value, pk, cls, row["start_key"], row["end_key"]) for kind, value in row["terms"]],
        )
        fts = row["fts"]
        self.conn.execute(
            "INSERT INTO events_fts (rowid, title, summary, actors, place, quotes) VALUES (?,?,?,?,?,?)",
            (pk, fts["title"], fts["summary"], fts["actors"], fts["place"], fts["quotes"]),
        )
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
        span_facet_counts for a longer one. Counts that reach 0 are removed."""
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
            upsert = (
                "INSERT INTO day_facet_counts (facet, block, value, n) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (facet, block, value) DO UPDATE SET n = n + excluded.n"
            )
            prune = "DELETE FROM day_facet_counts WHERE facet = ? AND block = ? AND value = ? AND n <= 0"
        else:
            keys = values
            upsert = (
                "INSERT INTO span_facet_counts (facet, span_class, start_key, end_key, value, n) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (facet, span_class, start_key, end_key, value) DO UPDATE SET n = n + excluded.n"
            )
            prune = (
                "DELETE FROM span_facet_counts WHERE facet = ? AND span_class = ? AND start_key = ? "
                "AND end_key = ? AND value = ? AND n <= 0"
            )
        self.conn.executemany(upsert, [(*k, delta) for k in keys])
        if delta < 0:
            self.conn.executemany(prune, keys)

    def _record_change(self, op: str, event_id: str, at: str) -> int:
        """Append a change to the feed; its seq. Its document is the event's current one,
        read from event_docs while the change is the event's latest (see _migration_8)."""
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

    # ----------------------------------------------------------------- reading lists

    def _filters(self, f: dict[str, Any], fts: bool = True) -> tuple[list[str], list[Any]]:
        """SQL conditions on ``e`` for every non-date filter of ``f`` (``fts``: with the q filter)."""
        where: list[str] = []
        params: list[Any] = []
        for kind, key in (("tag", "tags"), ("actor", "actors"), ("timeline", "timelines")):
            values = f.get(key)
            if values:
                marks = ",".join("?" * len(values))
                where.append(f"e.pk IN (SELECT event FROM event_terms WHERE kind = ? AND value IN ({marks}))")
                params += [kind, *values]
        if f.get("in_timeline"):
            where.append("e.pk IN (SELECT event FROM event_terms WHERE kind = 'timeline' AND value = ?)")
            params.append(f["in_timeline"])
        if f.get("countries"):
            where.append(f"e.country IN ({','.join('?' * len(f['countries']))})")
            params += f["countries"]
        if f.get("precisions"):
            where.append(f"e.precision IN ({','.join('?' * len(f['precisions']))})")
            params += f["precisions"]
        if f.get("min_importance"):
            where.append("e.importance >= ?")
            params.append(f["min_importance"])
        bbox = f.get("bbox")
        if bbox:
            min_lon, min_lat, max_lon, max_lat = bbox
            where.append("e.lat BETWEEN ? AND ?")
            params += [min_lat, max_lat]
            if min_lon <= max_lon:
                where.append("e.lon BETWEEN ? AND ?")
                params += [min_lon, max_lon]
            else:  # the box crosses the antimeridian
                where.append("(e.lon >= ? OR e.lon <= ?)")
                params += [min_lon, max_lon]
        if f.get("fts") and fts:
            where.append("e.pk IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
            params.append(f["fts"])
        return where, params

    def fts_estimate(self, terms: Iterable[str]) -> int:
        """Documents holding the rarest of ``terms`` (an upper bound of the matches)."""
        counts = []
        for term in terms:
            row = self.conn.execute("SELECT doc FROM events_fts_vocab WHERE term = ?", (term,)).fetchone()
            counts.append(row[0] if row else 0)
        return min(counts) if counts else 0

    def _class_parts(self, f: dict[str, Any]) -> list[tuple[int, list[str], list[Any]]]:
        """Per span class: the date conditions that bound its index range, each with exactly
        one parameter (params[i] belongs to where[i]: _seek relies on it)."""
        lo, hi, match = f.get("from_day"), f.get("to_day"), f.get("match", "overlap")
        parts = []
        for cls, limit in enumerate(SPAN_LIMITS):
            where = ["e.span_class = ?"]
            params: list[Any] = [cls]
            if match == "within":
                # A missing bound (a sentinel key) is never within a finite side of the window.
                if lo is not None:
                    where.append("e.start_key >= ?")
                    params.append(lo)
                if hi is not None:
                    where.append("e.end_key <= ?")
                    params.append(hi)
                    where.append("e.start_key <= ?")
                    params.append(hi - (SPAN_LIMITS[cls - 1] + 1 if cls > 0 and limit is not None else 0))
                if lo is not None and hi is not None and cls > 0 and limit is not None:
                    if SPAN_LIMITS[cls - 1] + 1 > hi - lo:
                        continue  # every event of this class is longer than the window
            elif limit is None and lo is not None:
                # The unbounded class in two ranges. Events without a start all share the
                # start key OPEN_START, so the index orders them by end: seek to end >= from
                # instead of reading every one that ended earlier. The rest (open ends, and
                # spans over ten millennia) overlap as soon as they start by `to`.
                parts.append((cls, where + ["e.start_key = ?", "e.end_key >= ?"], params + [OPEN_START, lo]))
                where.append("e.start_key > ?")
                params.append(OPEN_START)
                if hi is not None:
                    where.append("e.start_key <= ?")
                    params.append(hi)
                where.append("e.end_key >= ?")
                params.append(lo)
            else:
                if hi is not None:
                    where.append("e.start_key <= ?")
                    params.append(hi)
                if lo is not None:
                    where.append("e.end_key >= ?")
                    params.append(lo)
                    if limit is not None:
                        where.append("e.start_key >= ?")
                        params.append(lo - limit)
            parts.append((cls, where, params))
        return parts

    def list_queries(
        self, f: dict[str, Any], limit: int, after: tuple | None = None, descending: bool = False
    ) -> tuple[str, list[tuple[str, list[Any]]]]:
        """The SQL that list_events runs: (plan, [(sql, params)]), one statement.

        plan ``classes``: a UNION ALL of one range on events_chrono per span class, each
        already in order, merged by SQLite and cut at ``limit``. With ``q``, when the rarest word is in at least
        FTS_PROBE_MIN events, each row of that walk is probed in FTS (most rows match, so
        few probes find a page). plan ``matches``: fewer matches than that; they are read
        by rowid from FTS and only that small set is sorted.
        """
        cmp = "<" if descending else ">"
        order = "DESC" if descending else "ASC"
        keyset = f"(e.start_key, e.end_key, e.id) {cmp} (?, ?, ?)"
        ordering = f"ORDER BY e.start_key {order}, e.end_key {order}, e.id {order} LIMIT ?"
        filter_where, filter_params = self._filters(f, fts=False)
        if f.get("fts") and self.fts_estimate(f.get("fts_terms") or []) < FTS_PROBE_MIN:
            date_where, date_params = self._window_condition(f)
            where = filter_where + date_where + ([keyset] if after is not None else [])
            params = [f["fts"], *filter_params, *date_params, *(after or ()), limit]
            sql = (
                "SELECT e.start_key, e.end_key, e.id, e.pk FROM "
                "(SELECT rowid AS pk FROM events_fts WHERE events_fts MATCH ?) AS m "
                f"CROSS JOIN events e ON e.pk = m.pk WHERE {' AND '.join(where) or '1'} {ordering}"
            )
            return "matches", [(_WITH_DOCS.format(sql), params)]
        if f.get("fts"):
            filter_where.append(
                "EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH ? AND events_fts.rowid = e.pk)"
            )
            filter_params.append(f["fts"])
        arms, params = [], []
        for _cls, where, p in self._class_parts(f):
            checked = after is not None and not _past(where, p, after[0], descending)
            if after is not None:
                where, p = _seek(where, p, after, descending)
            where = where + filter_where + ([keyset] if checked else [])
            arms.append(
                f"SELECT e.start_key, e.end_key, e.id, e.pk FROM events e WHERE {' AND '.join(where)}"
            )
            params += p + filter_params + (list(after) if checked else [])
        # One compound statement: SQLite merges the per-class ranges (each already in index
        # order: "MERGE (UNION ALL)", no sort) and stops after `limit` rows, so a page reads
        # about `limit` index entries in all. The documents come in the same statement.
        union = " UNION ALL ".join(arms) + f" ORDER BY 1 {order}, 2 {order}, 3 {order} LIMIT ?"
        return "classes", [(_WITH_DOCS.format(union), params + [limit])]

    def list_events(
        self, f: dict[str, Any], limit: int, after: tuple | None = None, descending: bool = False
    ) -> list[tuple[int, int, str, bytes]]:
        """Up to ``limit`` matches in chronological order (or its exact reverse).

        Returns (start_key, end_key, id, doc) tuples, doc as UTF-8 JSON bytes. ``after`` is the key of the last row
        of the previous page (keyset pagination).
        """
        _plan, [(sql, params)] = self.list_queries(f, limit, after, descending)
        rows = self.conn.execute(sql, params).fetchall()
        # The join with the documents keeps the page's order in practice, but SQL does not
        # promise it: order the (at most `limit`) rows here, by the same key as the SQL.
        rows.sort(key=_row_key, reverse=descending)
        return rows

    def iter_events(
        self, f: dict[str, Any], descending: bool = False, batch: int = 1000, cap: int | None = None
    ) -> Iterator[bytes]:
        """Every match's doc (UTF-8 JSON bytes) in order, fetched in keyset batches so memory stays flat."""
        after = None
        sent = 0
        while True:
            size = batch if cap is None else min(batch, cap - sent)
            if size <= 0:
                return
            rows = self.list_events(f, size, after, descending)
            for row in rows:
                yield row[3]
            sent += len(rows)
            if len(rows) < size:
                return
            after = rows[-1][:3]

    def search_by_relevance(self, f: dict[str, Any], limit: int, offset: int) -> list[bytes]:
        """Docs (bytes) of full-text matches, best first (bm25), ties in chronological order."""
        filter_where, filter_params = self._filters({**f, "fts": None})
        date_where, date_params = self._window_condition(f)
        where = ["events_fts MATCH ?"] + filter_where + date_where
        sql = (
            "SELECT CAST(d.doc AS BLOB) FROM events_fts JOIN events e ON e.pk = events_fts.rowid "
            "JOIN event_docs d ON d.pk = e.pk "
            f"WHERE {' AND '.join(where)} ORDER BY events_fts.rank, e.start_key, e.end_key, e.id LIMIT ? OFFSET ?"
        )
        return [r[0] for r in self.conn.execute(sql, [f["fts"], *filter_params, *date_params, limit, offset])]

    def _window_condition(self, f: dict[str, Any]) -> tuple[list[str], list[Any]]:
        """The date window as one condition (an OR over span classes)."""
        if f.get("from_day") is None and f.get("to_day") is None:
            return [], []
        union, params = self._window_union(f, "w.pk")
        if union is None:
            return ["0"], []
        return [f"e.pk IN ({union})"], params

    def _window_union(self, f: dict[str, Any], columns: str) -> tuple[str | None, list[Any]]:
        """The date window as a UNION ALL of one indexed range per span class, as in
        list_events (an OR of the ranges would make SQLite scan the whole table). Rows are
        ``w``; None when no class can match."""
        arms, params = [], []
        for _cls, where, p in self._class_parts(f):
            arms.append(f"SELECT {columns} FROM events w WHERE " + " AND ".join(where).replace("e.", "w."))
            params += p
        return (" UNION ALL ".join(arms) if arms else None), params

    def count_events(self, f: dict[str, Any]) -> int:
        filter_where, filter_params = self._filters(f)
        if f.get("fts"):  # once over the matches, not once per span class
            date_where, date_params = self._window_condition(f)
            where = filter_where + date_where
            sql = f"SELECT count(*) FROM events e WHERE {' AND '.join(where)}"
            return self.conn.execute(sql, filter_params + date_params).fetchone()[0]
        total = 0
        for _cls, where, params in self._class_parts(f):
            sql = f"SELECT count(*) FROM events e WHERE {' AND '.join(where + filter_where)}"
            total += self.conn.execute(sql, params + filter_params).fetchone()[0]
        return total

    def _matches_from(self, f: dict[str, Any], columns: str = "w.pk"):
        """The matches of ``f`` as a FROM part and a WHERE part, to be joined as callers need.

        With a date window the rows come from the per-span-class index ranges (``w``, a
        UNION ALL of covering-index scans); ``e`` is joined only when another filter needs
        the row. Returns (from_sql, from_params, where_sql, where_params, joined) where
        ``joined`` says whether ``e`` is in the FROM part.
        """
        filter_where, filter_params = self._filters(f)
        where_sql = " AND ".join(filter_where) or "1"
        if f.get("from_day") is None and f.get("to_day") is None:
            return "events e", [], where_sql, filter_params, True
        arms, params = self._window_union(f, columns)
        if arms is None:
            return "(SELECT NULL AS pk, NULL AS start_key) w", [], "0", [], False
        union = f"({arms}) w"
        if not filter_where:
            return union, params, "1", [], False
        return f"{union} CROSS JOIN events e ON e.pk = w.pk", params, where_sql, filter_params, True

    def start_counts(
        self, f: dict[str, Any], grain: str, bucket: Callable[[int], Any] | None = None
    ) -> tuple[list[tuple], int, str]:
        """Counts of matches grouped by their start, ascending, the number with no start, and
        the grain of the rows: ``day`` (start_key), ``month`` (start_year, start_month) or
        ``year`` (start_year). Over everything it reads the covering index (start_year,
        start_month) at the asked grain; inside a window it groups the window's index
        ranges by start_key and answers at grain ``day`` (the caller folds the days).

        ``bucket`` (a day -> the caller's bucket key): inside a plain date window the counts
        come from the facet counts (every event has one precision), as Store.facets does:
        a whole 16-day block of one-day events that lies in one bucket is one row at its
        first day; blocks across a bucket edge and the window's ragged edges are read from
        the index, longer events from span_facet_counts grouped by start."""
        if (
            bucket is not None
            and (f.get("from_day") is not None or f.get("to_day") is not None)
            and not self._filters(f)[0]
        ):
            return self._window_start_counts(f, bucket)
        if f.get("from_day") is not None or f.get("to_day") is not None:
            src, sp, where, wp, _joined = self._matches_from(f, "w.pk, w.start_key")
            by_day = self.conn.execute(
                f"SELECT w.start_key, count(*) FROM {src} WHERE {where} GROUP BY w.start_key", sp + wp
            ).fetchall()
            unbucketed = sum(n for day, n in by_day if day == OPEN_START)
            return sorted(r for r in by_day if r[0] != OPEN_START), unbucketed, "day"
        src, sp, where, wp, _joined = self._matches_from(f)
        cols = {"day": "e.start_key", "month": "e.start_year, e.start_month", "year": "e.start_year"}[grain]
        rows = self.conn.execute(
            f"SELECT {cols}, count(*) FROM {src} WHERE {where} AND e.start_year IS NOT NULL "
            f"GROUP BY {cols} ORDER BY {cols}",
            sp + wp,
        ).fetchall()
        # start_year is NULL exactly when the start is open or unknown.
        unbucketed = self.conn.execute(
            f"SELECT count(*) FROM {src} WHERE {where} AND e.start_year IS NULL", sp + wp
        ).fetchone()[0]
        return rows, unbucketed, grain

    def _window_start_counts(
        self, f: dict[str, Any], bucket: Callable[[int], Any]
    ) -> tuple[list[tuple], int, str]:
        """start_counts of a plain date window, from the facet counts (see start_counts)."""
        blocks, day_parts, long_parts = self._window_count_parts(f)
        by_day: Counter = Counter()
        split: list[tuple[int, int]] = []  # day ranges of the whole blocks that cross a bucket edge
        if blocks is not None:
            for block, n in self.conn.execute(
                "SELECT block, n FROM day_facet_counts WHERE facet = 'precision' AND block BETWEEN ? AND ?",
                blocks,
            ):
                first = block << DAY_BLOCK_SHIFT
                last = first + DAY_BLOCK - 1
                if bucket(first) == bucket(last):
                    by_day[first] += n
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

    def facets(self, f: dict[str, Any], names: Iterable[str], size: int) -> dict[str, list[tuple[str, int]]]:
        """The ``size`` most frequent values of each facet in ``names`` among the matches of
        ``f`` (most frequent first, ties by value).

        A plain date window (no other filter) is answered from the facet counts: one-day
        events of the whole 16-day blocks the window covers from day_facet_counts (those
        of its ragged edges from the index ranges), longer events from span_facet_counts
        under the same per-class range conditions as the events. Anything else:
        facet_counts, one facet at a time over the matching events.
        """
        names = list(dict.fromkeys(names))
        plain_window = (f.get("from_day") is not None or f.get("to_day") is not None) and not self._filters(
            f
        )[0]
        result: dict[str, list[tuple[str, int]]] = {}
        if plain_window and ("country" in names or "precision" in names):
            counts: dict[str, Counter] = {"country": Counter(), "precision": Counter()}
            blocks, day_parts, long_parts = self._window_count_parts(f)
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
            elif plain_window and name in ("tags", "actors", "timelines"):
                out[name] = self.conn.execute(*self.term_facet_query(f, name[:-1], size)).fetchall()
            else:
                out[name] = self.facet_counts(f, name, size)
        return out

    def _window_count_parts(self, f: dict[str, Any]):
        """A date window split for counting: (blocks, day_parts, long_parts).

        ``blocks`` are the whole day blocks (first, last) whose one-day events
        day_facet_counts holds, None when the window covers none; ``day_parts`` the
        (where, params) ranges of the other one-day events (the window's partial blocks,
        or the whole window); ``long_parts`` the per-class ranges of the longer spans,
        read from span_facet_counts (whose start_key, end_key and span_class columns the
        conditions name, as they name the events'). For one-day events overlap and
        within are the same test."""
        lo, hi = f.get("from_day"), f.get("to_day")
        parts = self._class_parts(f)
        long_parts = [(where, p) for cls, where, p in parts if cls != 0]
        day_parts = [(where, p) for cls, where, p in parts if cls == 0]
        if lo is None or hi is None:
            return None, day_parts, long_parts
        first, last = (lo + DAY_BLOCK - 1) >> DAY_BLOCK_SHIFT, ((hi + 1) >> DAY_BLOCK_SHIFT) - 1
        if first > last:
            return None, day_parts, long_parts
        day = "e.span_class = ? AND e.start_key >= ? AND e.start_key <= ?"
        edges = [
            ([day], [0, a, b])
            for a, b in ((lo, (first << DAY_BLOCK_SHIFT) - 1), ((last + 1) << DAY_BLOCK_SHIFT, hi))
            if a <= b
        ]
        return (first, last), edges, long_parts

    def term_facet_query(self, f: dict[str, Any], kind: str, size: int) -> tuple[str, list[Any]]:
        """The SQL of a term facet (``kind`` tag, actor or timeline) inside a plain date
        window, from the facet counts and the window's edges (see _window_count_parts)."""
        blocks, day_parts, long_parts = self._window_count_parts(f)
        arms, params = [], []
        if blocks is not None:
            arms.append("SELECT value, n FROM day_facet_counts WHERE facet = ? AND block BETWEEN ? AND ?")
            params += [kind, *blocks]
        for where, p in day_parts:
            arms.append(
                "SELECT e.value AS value, 1 AS n FROM event_terms e WHERE e.kind = ? AND "
                + " AND ".join(where)
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

    def facet_counts(self, f: dict[str, Any], facet: str, size: int) -> list[tuple[str, int]]:
        """Most frequent values of ``facet`` (tags, actors, timelines, country, precision) among matches."""
        src, sp, where, wp, joined = self._matches_from(f)
        if facet in ("tags", "actors", "timelines"):
            kind = facet[:-1]
            if src == "events e" and where == "1":
                sql = (
                    "SELECT value, count(*) AS n FROM event_terms WHERE kind = ? "
                    "GROUP BY value ORDER BY n DESC, value LIMIT ?"
                )
                return self.conn.execute(sql, [kind, size]).fetchall()
            key = "e.pk" if joined else "w.pk"
            sql = (
                f"SELECT t.value, count(*) AS n FROM {src} CROSS JOIN event_terms t "
                f"ON t.event = {key} AND t.kind = ? WHERE {where} GROUP BY t.value ORDER BY n DESC, t.value LIMIT ?"
            )
            return self.conn.execute(sql, [*sp, kind, *wp, size]).fetchall()
        column = {"country": "country", "precision": "precision"}[facet]
        if joined:
            column = "e." + column
        else:  # read from the covering index ranges, not the rows
            src, sp, where, wp, joined = self._matches_from(f, f"w.pk, w.{column}")
            column = "w." + column
        sql = (
            f"SELECT {column}, count(*) AS n FROM {src} WHERE {where} AND {column} IS NOT NULL "
            f"GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?"
        )
        return self.conn.execute(sql, [*sp, *wp, size]).fetchall()

    def explain(self, sql: str, params: Iterable[Any]) -> list[str]:
        return [r[3] for r in self.conn.execute("EXPLAIN QUERY PLAN " + sql, list(params))]

    # ----------------------------------------------------------------- timelines

    def timeline_slugs(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT slug FROM timelines")}

    def get_timeline(self, slug: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT slug, title, description, version, created_at, updated_at FROM timelines WHERE slug = ?",
            (slug,),
        ).fetchone()
        return self._timeline_dict(row) if row else None

    def list_timelines(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT slug, title, description, version, created_at, updated_at FROM timelines ORDER BY slug"
        ).fetchall()
        return [self._timeline_dict(r) for r in rows]

    def _timeline_dict(self, row) -> dict[str, Any]:
        stats = self.conn.execute(
            """SELECT count(*), min(e.start_key), max(e.end_key) FROM event_terms t JOIN events e ON e.pk = t.event
               WHERE t.kind = 'timeline' AND t.value = ?""",
            (row[0],),
        ).fetchone()
        return {
            "slug": row[0],
            "title": row[1],
            "description": row[2],
            "version": row[3],
            "created_at": row[4],
            "updated_at": row[5],
            "event_count": stats[0],
            "start_key": stats[1],
            "end_key": stats[2],
        }

    def upsert_timeline(
        self,
        tl: dict[str, Any],
        *,
        now: str | None = None,
        create_only: bool = False,
        if_version: int | None = None,
    ) -> str:
        """Create or replace a timeline inside the caller's transaction; returns the outcome."""
        now = now or utc_now()
        row = self.conn.execute(
            "SELECT title, description, version FROM timelines WHERE slug = ?", (tl["slug"],)
        ).fetchone()
        if row is not None and create_only:
            raise Conflict(tl["slug"])
        if if_version is not None and (row is None or row[2] != if_version):
            raise PreconditionFailed(tl["slug"])
        if row is None:
            self.conn.execute(
                "INSERT INTO timelines (slug, title, description, version, created_at, updated_at) VALUES (?,?,?,1,?,?)",
                (tl["slug"], tl["title"], tl.get("description"), now, now),
            )
            return "created"
        if (row[0], row[1]) == (tl["title"], tl.get("description")):
            return "unchanged"
        self.conn.execute(
            "UPDATE timelines SET title = ?, description = ?, version = version + 1, updated_at = ? WHERE slug = ?",
            (tl["title"], tl.get("description"), now, tl["slug"]),
        )
        return "updated"

    def timeline_event_ids(self, slug: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT e.id FROM event_terms t JOIN events e ON e.pk = t.event WHERE t.kind = 'timeline' AND t.value = ?",
                (slug,),
            )
        ]

    def delete_timeline(self, slug: str) -> None:
        if self.conn.execute("DELETE FROM timelines WHERE slug = ?", (slug,)).rowcount == 0:
            raise NotFound(slug)

    # ----------------------------------------------------------------- change feed

    def changes(self, since: int, limit: int) -> list[tuple[int, str, str, str, str | None]]:
        """Changes after ``since``: (seq, op, id, at, doc), doc None for a delete. The latest
        change of a live event reads its document from event_docs (see _migration_8)."""
        return self.conn.execute(
            """SELECT c.seq, c.op, c.id, c.at, coalesce(c.doc, CASE WHEN c.op = 'upsert' THEN
                   (SELECT d.doc FROM events e JOIN event_docs d ON d.pk = e.pk WHERE e.id = c.id) END)
               FROM changes c WHERE c.seq > ? ORDER BY c.seq LIMIT ?""",
            (since, limit),
        ).fetchall()

    # ----------------------------------------------------------------- tokens

    def add_token(self, name: str, scope: str, token_hash: str) -> None:
        with self.write():
            if self.conn.execute("SELECT 1 FROM tokens WHERE name = ?", (name,)).fetchone():
                raise Conflict(name)
            self.conn.execute(
                "INSERT INTO tokens (name, scope, hash, created_at) VALUES (?, ?, ?, ?)",
                (name, scope, token_hash, utc_now()),
            )

    def token_by_hash(self, token_hash: str) -> tuple[str, str, str] | None:
        """(name, scope, stored hash) of the token with this hash, or None."""
        row = self.conn.execute(
            "SELECT name, scope, hash FROM tokens WHERE hash = ?", (token_hash,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def touch_token(self, name: str) -> None:
        try:
            # At most one write a minute per token: last use is informative, not an audit log.
            now = datetime.now(UTC)
            stale = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.conn.execute(
                "UPDATE tokens SET last_used_at = ? WHERE name = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                (now.strftime("%Y-%m-%dT%H:%M:%SZ"), name, stale),
            )
        except sqlite3.OperationalError:
            pass  # last use is informative; never fail a request for it

    def list_tokens(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT name, scope, created_at, last_used_at FROM tokens ORDER BY name")
        return [dict(zip(("name", "scope", "created_at", "last_used_at"), r, strict=True)) for r in rows]

    def revoke_token(self, name: str) -> None:
        with self.write():
            if self.conn.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(name)
