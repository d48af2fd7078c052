"""API tokens: stored by hash, with a scope and an informative last use."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from .model import Conflict, NotFound, utc_now


class Tokens:
    """The token part of :class:`~.connection.Store` (``conn``: its connection)."""

    conn: sqlite3.Connection

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
        # At most one write a minute per token: last use is informative, not an audit log.
        # It never waits for the write lock either (a long import may hold it): the request's
        # own write waits for it, once.
        now = datetime.now(UTC)
        stale = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        due = "name = ? AND (last_used_at IS NULL OR last_used_at < ?)"
        if self.conn.execute(f"SELECT 1 FROM tokens WHERE {due}", (name, stale)).fetchone() is None:
            return
        wait = self.conn.execute("PRAGMA busy_timeout").fetchone()[0]
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute(
                f"UPDATE tokens SET last_used_at = ? WHERE {due}",
                (now.strftime("%Y-%m-%dT%H:%M:%SZ"), name, stale),
            )
        except sqlite3.OperationalError:
            pass  # last use is informative; never fail a request for it
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(wait)}")

    def list_tokens(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT name, scope, created_at, last_used_at FROM tokens ORDER BY name")
        return [dict(zip(("name", "scope", "created_at", "last_used_at"), r, strict=True)) for r in rows]

    def revoke_token(self, name: str) -> None:
        with self.write():
            if self.conn.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(name)
