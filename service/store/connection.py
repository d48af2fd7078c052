"""The Store: one SQLite connection with its pragmas, its transactions, and every job of
the package on it; a cache of one Store per thread and file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from .aggregates import Aggregates
from .migrations import Schema
from .reads import Reads
from .timelines import Timelines
from .tokens import Tokens
from .writes import Writes

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -65536",
    "PRAGMA mmap_size = 268435456",
    "PRAGMA temp_store = MEMORY",
)
# A replica's copy belongs to Litestream's follower, which writes pages straight into it:
# it is opened read-only, its journal mode left as the follower keeps it, and without
# mmap (the follower may shrink the file between two of our transactions).
_READ_ONLY_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -65536",
    "PRAGMA mmap_size = 0",
    "PRAGMA temp_store = MEMORY",
)
# How long a statement waits for a lock another connection holds (a write for the write
# lock, a replica's read for the follower applying a transaction), in milliseconds.
_settings = {"busy_timeout_ms": 30_000}
_read_only_paths: set[str] = set()


def configure(*, busy_timeout_ms: int | None = None, read_only: str | None = None) -> None:
    """Settings of the connections opened from now on in this process: the lock wait
    (the web service waits briefly, then answers 503), and a path opened read-only."""
    if busy_timeout_ms is not None:
        _settings["busy_timeout_ms"] = int(busy_timeout_ms)
    if read_only is not None:
        _read_only_paths.add(read_only)


class Store(Schema, Reads, Aggregates, Writes, Timelines, Tokens):
    """One connection to the database at ``path`` (autocommit; :meth:`write` opens a
    transaction). Each base class holds one job and its SQL; they share ``conn``."""

    def __init__(self, path: str):
        self.path = path
        self.read_only = path in _read_only_paths
        wait = _settings["busy_timeout_ms"]
        if self.read_only:
            target, pragmas = "file:" + quote(path) + "?mode=ro", _READ_ONLY_PRAGMAS
        else:
            target, pragmas = path, _PRAGMAS
        conn = sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, timeout=wait / 1000, uri=self.read_only
        )
        conn.execute(f"PRAGMA busy_timeout = {wait}")
        for pragma in pragmas:
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
