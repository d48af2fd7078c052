"""The Store: one SQLite connection with its pragmas, its transactions, and every job of
the package on it; a cache of one Store per thread and file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .aggregates import Aggregates
from .migrations import Schema
from .reads import Reads
from .timelines import Timelines
from .tokens import Tokens
from .writes import Writes

_PRAGMAS = (
    "PRAGMA busy_timeout = 30000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -65536",
    "PRAGMA mmap_size = 268435456",
    "PRAGMA temp_store = MEMORY",
)


class Store(Schema, Reads, Aggregates, Writes, Timelines, Tokens):
    """One connection to the database at ``path`` (autocommit; :meth:`write` opens a
    transaction). Each base class holds one job and its SQL; they share ``conn``."""

    def __init__(self, path: str):
        self.path = path
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def write(self, *, spill_to_disk: bool = False) -> Iterator[Store]:
        """One ``BEGIN IMMEDIATE`` transaction: all of the block or none of it (an exception
        rolls it back and goes on).

        ``spill_to_disk``: the transaction's sorts (index builds, grouped counts of a bulk
        import) spill to temporary files instead of memory, as the connection otherwise
        keeps them; the setting is put back afterwards (it cannot change inside a
        transaction)."""
        temp_store = None
        if spill_to_disk:
            temp_store = int(self.conn.execute("PRAGMA temp_store").fetchone()[0])
            self.conn.execute("PRAGMA temp_store = FILE")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
        finally:
            if temp_store is not None and not self.conn.in_transaction:
                self.conn.execute(f"PRAGMA temp_store = {temp_store}")

    def rollback_if_open(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


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
