"""A consistent copy of a database, made while the service runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple


class BackupCheck(NamedTuple):
    integrity: str  # PRAGMA integrity_check of the copy: "ok" when sound
    events: int
    seq: int  # the change feed's last seq in the copy


def backup(source: str, target: Path) -> BackupCheck:
    """Copy the database at ``source`` to ``target`` with SQLite's online backup (one
    consistent snapshot: readers and writers carry on; a write committed during the copy
    is either wholly in it or not at all), as a self-contained single file, then check it."""
    source_conn = sqlite3.connect(source, timeout=30)
    target_conn = sqlite3.connect(target)
    try:
        source_conn.backup(target_conn)  # all pages in one step: one consistent snapshot
        target_conn.execute("PRAGMA journal_mode = DELETE")  # a self-contained single file
        integrity = target_conn.execute("PRAGMA integrity_check").fetchone()[0]
        events = target_conn.execute("SELECT count(*) FROM events").fetchone()[0]
        seq = target_conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
    finally:
        target_conn.close()
        source_conn.close()
    return BackupCheck(integrity, events, seq)
