"""Write counters for the rate limit, in a small SQLite file beside the database.

The counters live in ``<database>-ratelimit``, not in the database: every gunicorn worker
shares them, yet a refused or failed write leaves the database itself byte for byte
unchanged, and backups hold no throwaway counters.
"""

from __future__ import annotations

import sqlite3
import threading

_counters = threading.local()


def _counter_db(database: str) -> sqlite3.Connection:
    """The calling thread's connection to the rate-limit counters of ``database``."""
    cache = getattr(_counters, "conns", None)
    if cache is None:
        cache = _counters.conns = {}
    conn = cache.get(database)
    if conn is None:
        conn = sqlite3.connect(
            database + "-ratelimit", isolation_level=None, timeout=10, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")  # counters: losing the last second of them is harmless
        conn.execute(
            "CREATE TABLE IF NOT EXISTS write_counts (token TEXT NOT NULL, minute INTEGER NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (token, minute)) WITHOUT ROWID"
        )
        cache[database] = conn
    return conn


def count_write(database: str, token: str, minute: int) -> int:
    """Count one write by ``token`` in ``minute``; the count so far (its own tiny transaction).
    Raises sqlite3.OperationalError when the counters stay locked."""
    conn = _counter_db(database)
    rows = conn.execute(
        """INSERT INTO write_counts (token, minute, count) VALUES (?, ?, 1)
           ON CONFLICT (token, minute) DO UPDATE SET count = count + 1 RETURNING count""",
        (token, minute),
    ).fetchall()  # fetch all: the statement, and its transaction, end here
    count = rows[0][0]
    if count == 1:  # the token's first write this minute: forget its earlier minutes
        conn.execute("DELETE FROM write_counts WHERE token = ? AND minute < ?", (token, minute))
    return count
