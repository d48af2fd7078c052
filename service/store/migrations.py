"""The schema, built by numbered migrations; ``meta`` records the version and the cursor secret.

A database is brought to SCHEMA_VERSION by running, in one transaction, every migration
above its recorded version (a new database runs them all). Each migration's docstring
says in one line what it changes (logged when an existing database is migrated).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time

from .model import FTS_COLUMNS, FTS_TOKENIZE
from .writes import add_facet_counts

_log = logging.getLogger(__name__)

SCHEMA_VERSION = 10


def _migration_1(db: sqlite3.Connection) -> None:
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


def _migration_2(db: sqlite3.Connection) -> None:
    """A vocabulary of the full-text index, and an index on precision."""
    # How many documents hold a term: chooses the plan for `q` sorted by date (see list_events).
    db.execute("CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'row')")
    # Facets on precision over a whole archive without reading every row.
    db.execute("CREATE INDEX events_precision ON events (precision)")


def _migration_3(db: sqlite3.Connection) -> None:
    """The documents move to their own table, event_docs."""
    # The served JSON documents move to their own table: the events table stays narrow
    # (about 100 bytes a row), so filters and aggregations that read rows stay in cache.
    db.execute("CREATE TABLE event_docs (pk INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    db.execute("INSERT INTO event_docs (pk, doc) SELECT pk, doc FROM events")
    db.execute("ALTER TABLE events DROP COLUMN doc")


def _migration_4(db: sqlite3.Connection) -> None:
    """The chronological index also covers importance, precision and country."""
    # The chronological index also carries the columns that filters and facets read most
    # (importance for the zoomed-out widget, precision, country), so a window scan that
    # filters or counts them never touches the table.
    db.execute("DROP INDEX events_chrono")
    db.execute(
        "CREATE INDEX events_chrono ON events (span_class, start_key, end_key, id, importance, precision, country)"
    )


def _migration_5(db: sqlite3.Connection) -> None:
    """Term rows carry their event's span class and dates (event_terms_chrono)."""
    # Each term row also carries its event's span class and date keys, and a second index
    # orders them like events_chrono: the tag, actor and timeline facets of a date window
    # read the window's term entries in a few covering range scans instead of looking up
    # the terms of every matching event.
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


def _migration_6(db: sqlite3.Connection) -> None:
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
    # writes.Writes.upsert_event and delete_event keep the counts exact from then on, in
    # the writing transaction (statements of their own, not SQLite triggers: a triggered
    # INSERT interleaved with FTS5 writes is slow).


def _migration_7(db: sqlite3.Connection) -> None:
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


# The text that full-text search indexed in schema 8, read from the stored documents.
_FTS_TEXT_VIEW_8 = """CREATE VIEW events_fts_text (pk, title, summary, actors, place, quotes) AS
    SELECT pk, json_extract(doc, '$.title'), coalesce(json_extract(doc, '$.summary'), ''),
        coalesce((SELECT group_concat(value, ' ') FROM json_each(doc, '$.actors')), ''),
        coalesce(json_extract(doc, '$.location.name'), ''),
        coalesce((SELECT group_concat(json_extract(value, '$.quote'), ' ') FROM json_each(doc, '$.sources')), '')
    FROM event_docs"""

# The text that full-text search indexes (FTS_COLUMNS), read from the stored documents
# (migration 9). Token for token the same as ingest's FTS columns (tested): the index is
# built from those values, and FTS5 reads this view to remove an event's old tokens when
# it is replaced or deleted, so the event_docs row must still hold the old document at
# that moment.
_FTS_TEXT_VIEW = f"""CREATE VIEW events_fts_text (pk, {", ".join(FTS_COLUMNS)}) AS
    SELECT pk, json_extract(doc, '$.title'), coalesce(json_extract(doc, '$.summary'), ''),
        coalesce((SELECT group_concat(value, ' ') FROM json_each(doc, '$.actors')), ''),
        coalesce(json_extract(doc, '$.location.name'), ''),
        coalesce((SELECT group_concat(json_extract(value, '$.quote'), ' ') FROM json_each(doc, '$.sources')), ''),
        coalesce((SELECT group_concat(value, ' ') FROM json_each(doc, '$.tags')), '')
    FROM event_docs"""
assert FTS_COLUMNS == ("title", "summary", "actors", "place", "quotes", "tags")  # the view's order


def _fill_fts(db: sqlite3.Connection, columns: str) -> None:
    """Index every event from its document, buffering up to 32 MB of terms (not 1 MB)
    between segments; the default is put back afterwards. (FTS5's own 'rebuild' cannot
    read the view: SQLite 3.40 answers "SQL logic error", because of json_each.)"""
    db.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', 33554432)")
    db.execute(f"INSERT INTO events_fts (rowid, {columns}) SELECT pk, {columns} FROM events_fts_text")
    db.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', 1048576)")
    db.execute("DELETE FROM events_fts_config WHERE k = 'hashsize'")  # the default, as before


def _migration_8(db: sqlite3.Connection) -> None:
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
    db.execute(_FTS_TEXT_VIEW_8)
    db.execute("DROP TABLE events_fts")
    db.execute(
        """CREATE VIRTUAL TABLE events_fts USING fts5(
            title, summary, actors, place, quotes,
            tokenize = 'unicode61 remove_diacritics 2',
            content = 'events_fts_text', content_rowid = 'pk'
        )"""
    )
    _fill_fts(db, "title, summary, actors, place, quotes")


def _migration_9(db: sqlite3.Connection) -> None:
    """The full-text index also holds tags, and indexes word stems (word forms and prefixes)."""
    # Rebuilt with the Porter stemmer over unicode61 (FTS_TOKENIZE) and a tags column, the
    # same external-content design as schema 8 (no copy of the text; the writers insert
    # and delete the index rows themselves). No prefix index (FTS5's prefix option): one
    # prefix length roughly doubles the index and adds to every write, and only serves
    # prefixes of exactly that length; prefix queries are planned to read their matches
    # once instead (see planner.list_queries).
    db.execute("DROP TABLE events_fts_vocab")
    db.execute("DROP TABLE events_fts")
    db.execute("DROP VIEW events_fts_text")
    db.execute(_FTS_TEXT_VIEW)
    db.execute(
        f"""CREATE VIRTUAL TABLE events_fts USING fts5(
            {", ".join(FTS_COLUMNS)},
            tokenize = '{FTS_TOKENIZE}',
            content = 'events_fts_text', content_rowid = 'pk'
        )"""
    )
    db.execute("CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'row')")
    _fill_fts(db, ", ".join(FTS_COLUMNS))


def _migration_10(db: sqlite3.Connection) -> None:
    """Totals of the whole archive: facet_totals (per facet value) and start_totals (per month of start)."""
    # The sums of day_facet_counts and span_facet_counts per value, and the events per
    # month of their start, kept by the same writes. Without them, the tags and actors of
    # the whole archive and its year histogram (what the widget asks for on every page
    # load) summed 200,000-500,000 count rows or read a 1M-entry index at 1M events
    # (0.1-0.5 s each), again after every write, which changes the data version the
    # answers are cached by.
    db.execute(
        """CREATE TABLE facet_totals (
            facet TEXT NOT NULL,   -- tag, actor, timeline, country or precision
            value TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (facet, value)
        ) WITHOUT ROWID"""
    )
    # No index by count: each write would move its values' entries in it (about 20% more
    # per single write here), and a facet's values are sorted fast enough at read time.
    db.execute(
        """CREATE TABLE start_totals (
            start_year INTEGER NOT NULL,  -- events with an open or unknown start are not here
            start_month INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (start_year, start_month)
        ) WITHOUT ROWID"""
    )
    add_facet_counts(db.execute, 0, ("total",))


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
    _migration_9,
    _migration_10,
]
assert len(MIGRATIONS) == SCHEMA_VERSION


class Schema:
    """Migrating and reading ``meta``: part of :class:`~.connection.Store`."""

    conn: sqlite3.Connection
    path: str

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
                MIGRATIONS[number - 1](self.conn)
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
