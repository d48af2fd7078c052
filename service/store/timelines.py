"""Timelines: named groups of events (an event names its timelines among its terms)."""

from __future__ import annotations

import sqlite3
from typing import Any

from .model import Conflict, NotFound, PreconditionFailed, utc_now


class Timelines:
    """The timeline part of :class:`~.connection.Store` (``conn``: its connection)."""

    conn: sqlite3.Connection

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
