"""Reading events: one event, pages in chronological order, relevance, the change feed."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from operator import itemgetter
from typing import Any

from . import planner
from .model import ALL, FTS_MIN_PREFIX, FTS_TOKENIZE, Filters

_row_key = itemgetter(0, 1, 2)  # (start_key, end_key, id): a page's order

_tokenizer_lock = threading.Lock()
_tokenizer: dict[int, sqlite3.Connection] = {}  # by process id: a connection never crosses a fork


@lru_cache(maxsize=4096)
def fts_tokens(text: str) -> tuple[str, ...]:
    """The terms the full-text index holds for ``text``, in order: FTS5's own tokenizer
    (FTS_TOKENIZE, so stems), run on a contentless index in a private in-memory database."""
    with _tokenizer_lock:
        conn = _tokenizer.get(os.getpid())
        if conn is None:
            _tokenizer.clear()
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.execute(
                f"CREATE VIRTUAL TABLE words USING fts5(x, tokenize = '{FTS_TOKENIZE}', content = '')"
            )
            conn.execute("CREATE VIRTUAL TABLE word_terms USING fts5vocab(words, 'instance')")
            _tokenizer[os.getpid()] = conn
        conn.execute("INSERT INTO words (rowid, x) VALUES (1, ?)", (text,))
        try:
            return tuple(r[0] for r in conn.execute("SELECT term FROM word_terms ORDER BY offset"))
        finally:
            conn.execute("INSERT INTO words (words) VALUES ('delete-all')")


class Reads:
    """The reading half of :class:`~.connection.Store` (``conn``: its connection)."""

    conn: sqlite3.Connection

    def ping(self) -> None:
        self.conn.execute("SELECT 1").fetchone()

    def data_version(self) -> int:
        """The change feed's last seq: it moves with every create, update and delete."""
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return row[0] if row else 0

    def event_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def get_event(self, event_id: str) -> tuple[str, int] | None:
        """(doc JSON, version) of one event, or None."""
        row = self.conn.execute(
            "SELECT d.doc, e.version FROM events e JOIN event_docs d ON d.pk = e.pk WHERE e.id = ?",
            (event_id,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def event_exists(self, event_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is not None

    def content_hash(self, event_id: str) -> str | None:
        """The stored content hash of one event (see Writes.upsert_event), or None."""
        row = self.conn.execute("SELECT content_hash FROM events WHERE id = ?", (event_id,)).fetchone()
        return row[0] if row else None

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

    def fts_estimate(self, words: Iterable[str]) -> planner.FtsEstimate:
        """What planning a query of ``words`` (see planner.match_query) needs: documents
        holding the rarest word, and whether a prefix matches more than its word's stem.

        Bounded: one vocabulary row per word, two for a prefix (its stem, and the next
        indexed term that begins with it, if any). Each row counts a term's documents,
        reading its doclist once.
        """
        counts, prefixed = [], False
        for word in words:
            tokens = fts_tokens(word)
            for i, token in enumerate(tokens):
                if i == len(tokens) - 1 and len(word) >= FTS_MIN_PREFIX:
                    rows = self.conn.execute(
                        "SELECT term, doc FROM events_fts_vocab WHERE term >= ? AND term < ? LIMIT 2",
                        (token, token + "\U0010ffff"),
                    ).fetchall()
                    prefixed = prefixed or any(term != token for term, _ in rows)
                    counts.append(sum(doc for term, doc in rows if term == token))
                else:
                    row = self.conn.execute(
                        "SELECT doc FROM events_fts_vocab WHERE term = ?", (token,)
                    ).fetchone()
                    counts.append(row[0] if row else 0)
        return planner.FtsEstimate(min(counts) if counts else 0, prefixed)

    def list_queries(
        self, f: Filters, limit: int, after: tuple | None = None, descending: bool = False
    ) -> tuple[str, list[tuple[str, list[Any]]]]:
        """The SQL that list_events runs (see planner.list_queries)."""
        return planner.list_queries(
            f, limit, after, descending, self.fts_estimate, self.parts_with_matches(f)
        )

    def parts_with_matches(self, f: Filters) -> set[int] | None:
        """The class parts that can hold a match of a precision filter (planner.precision_probe),
        None for all of them."""
        probe = None if f.fts else planner.precision_probe(f)
        if probe is None:
            return None
        return {row[0] for row in self.conn.execute(*probe)}

    def list_events(
        self, f: Filters, limit: int, after: tuple | None = None, descending: bool = False
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
        self, f: Filters = ALL, descending: bool = False, batch: int = 1000, cap: int | None = None
    ) -> Iterator[bytes]:
        """Every match's doc (UTF-8 JSON bytes) in order, fetched in keyset batches so memory
        stays flat (every event's, without ``f``)."""
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

    def search_by_relevance(self, f: Filters, limit: int, offset: int) -> list[bytes]:
        """Docs (bytes) of full-text matches, best first (bm25), ties in chronological order."""
        return [r[0] for r in self.conn.execute(*planner.relevance_query(f, limit, offset))]

    def changes(self, since: int, limit: int) -> list[tuple[int, str, str, str, str | None]]:
        """Changes after ``since``: (seq, op, id, at, doc), doc None for a delete. The latest
        change of a live event reads its document from event_docs (see migrations._migration_8)."""
        return self.conn.execute(
            """SELECT c.seq, c.op, c.id, c.at, coalesce(c.doc, CASE WHEN c.op = 'upsert' THEN
                   (SELECT d.doc FROM events e JOIN event_docs d ON d.pk = e.pk WHERE e.id = c.id) END)
               FROM changes c WHERE c.seq > ? ORDER BY c.seq LIMIT ?""",
            (since, limit),
        ).fetchall()

    def explain(self, sql: str, params: Iterable[Any]) -> list[str]:
        return [r[3] for r in self.conn.execute("EXPLAIN QUERY PLAN " + sql, list(params))]
