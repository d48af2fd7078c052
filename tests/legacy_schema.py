"""Turn a database of the current schema back into what an older version left on disk,
so that tests can migrate it forward as a real old archive would be."""

from __future__ import annotations

import sqlite3

from service.store.migrations import _FTS_TEXT_VIEW_8

OLD_FTS = """CREATE VIRTUAL TABLE {} USING fts5(
    title, summary, actors, place, quotes, tokenize = 'unicode61 remove_diacritics 2')"""


def as_schema_7(conn: sqlite3.Connection) -> None:
    """Schema 7 on disk: every upsert in the change feed carries its own document, the
    full-text index keeps its own copy of the text, and events have no ``seq``."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("""UPDATE changes SET doc = (SELECT d.doc FROM events e JOIN event_docs d ON d.pk = e.pk
                    WHERE e.seq = changes.seq) WHERE doc IS NULL AND op = 'upsert'""")
    conn.execute(OLD_FTS.format("events_fts_old"))
    conn.execute(
        "INSERT INTO events_fts_old (rowid, title, summary, actors, place, quotes) "
        "SELECT pk, title, summary, actors, place, quotes FROM events_fts_text"
    )
    conn.execute("DROP TABLE events_fts")
    conn.execute("DROP VIEW events_fts_text")
    conn.execute("ALTER TABLE events_fts_old RENAME TO events_fts")
    conn.execute("ALTER TABLE events DROP COLUMN seq")
    conn.execute("DROP TABLE facet_totals")  # schema 10
    conn.execute("DROP TABLE start_totals")
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.execute("COMMIT")


def as_schema_8(conn: sqlite3.Connection) -> None:
    """Schema 8 on disk: the full-text index (external content, read through the view
    events_fts_text) has no tags column and indexes whole words (unicode61, no stemmer)."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DROP TABLE events_fts_vocab")
    conn.execute("DROP TABLE events_fts")
    conn.execute("DROP VIEW events_fts_text")
    conn.execute(_FTS_TEXT_VIEW_8)
    conn.execute(
        OLD_FTS.format("events_fts").removesuffix(")")
        + ", content = 'events_fts_text', content_rowid = 'pk')"
    )
    conn.execute(
        "INSERT INTO events_fts (rowid, title, summary, actors, place, quotes) "
        "SELECT pk, title, summary, actors, place, quotes FROM events_fts_text"
    )
    conn.execute("CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'row')")
    conn.execute("DROP TABLE facet_totals")  # schema 10
    conn.execute("DROP TABLE start_totals")
    conn.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    conn.execute("COMMIT")
