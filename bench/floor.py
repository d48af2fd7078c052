"""The floor: the simplest indexed read over the same SQLite file, no framework.

Plain WSGI + ``sqlite3`` + ``orjson``. Two routes:

* ``/range?from=K&to=K`` — the first 50 one-day events *starting* in [from, to] (integer day
  keys): ``span_class = 0 AND start_key BETWEEN ? AND ? ORDER BY start_key LIMIT 50``, one
  range scan of the service's own ``events_chrono (span_class, start_key, end_key, id)``
  index (span class 0 = one-day events, ~70% of rows). The floor adds no index of its own,
  so the service's query plans over the shared file stay exactly as the service made them.
  It is not the overlap query the contract asks for: it is what the hardware does for one
  index range scan of 50 rows plus 50 row lookups.
* ``/event/<id>`` — one event by its unique ``id``.

Both answer ``{"items": [doc, ...]}`` / the doc, built from the stored JSON as the service
does. Run it under the service's gunicorn settings:

    BENCH_DB=bench/data/bench-1m.db gunicorn -c service/gunicorn_conf.py 'bench.floor:app'
"""

from __future__ import annotations

import os
import sqlite3
import threading
from urllib.parse import parse_qs

_local = threading.local()


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["BENCH_DB"], check_same_thread=False)
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA mmap_size = 268435456")
        _local.conn = conn
    return conn


def _respond(start_response, status: str, body: bytes):
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    conn = _conn()
    if path == "/range":
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            lo, hi = int(qs["from"][0]), int(qs["to"][0])
        except (KeyError, ValueError):
            return _respond(start_response, "400 Bad Request", b'{"error":"from and to are day keys"}')
        docs = [
            r[0]
            for r in conn.execute(
                "SELECT d.doc FROM events e INDEXED BY events_chrono JOIN event_docs d ON d.pk = e.pk "
                "WHERE e.span_class = 0 AND e.start_key BETWEEN ? AND ? ORDER BY e.start_key LIMIT 50",
                (lo, hi),
            )
        ]
        return _respond(start_response, "200 OK", b'{"items":[' + ",".join(docs).encode() + b"]}")
    if path.startswith("/event/"):
        row = conn.execute(
            "SELECT d.doc FROM events e JOIN event_docs d ON d.pk = e.pk WHERE e.id = ?",
            (path[len("/event/") :],),
        ).fetchone()
        if row is None:
            return _respond(start_response, "404 Not Found", b'{"error":"not found"}')
        return _respond(start_response, "200 OK", row[0].encode())
    if path == "/healthz":
        return _respond(start_response, "200 OK", b'{"ok":true}')
    return _respond(start_response, "404 Not Found", b'{"error":"no such path"}')
