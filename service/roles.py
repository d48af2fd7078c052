"""What a node of a cluster adds to every response (API.md section 9).

* ``X-Timeline-Seq``: the change feed's last seq on this node, read when the request
  starts (a replica's copy cannot move while the request holds it, see below).
* ``X-Timeline-Min-Seq: N``: a node behind N waits up to :data:`MIN_SEQ_WAIT` seconds
  for it; a replica then answers ``307`` to the primary, a primary ``412``.
* ``Cache-Control`` and ``Vary``: anonymous ``GET``/``HEAD`` answers are public for
  ``CACHE_MAX_AGE`` seconds, with ``stale-while-revalidate`` and ``stale-if-error``; any
  request with ``Authorization`` and every write are ``private, no-store``.
* A replica answers writes ``307`` to ``TIMELINE_PRIMARY`` with a problem of type
  ``/problems/read-only-replica``, and holds its copy open only for one request: a
  connection to the copy keeps Litestream's follower from applying anything (see
  :mod:`service.replication`), so each request's connections are closed when its body is.

Readiness (:func:`readiness`) lives here too: it depends on the node's role and on the
file system, not on SQL. Storage faults are mapped to problems in :mod:`service.errors`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from urllib.parse import quote

from werkzeug.wsgi import ClosingIterator

from . import errors
from . import store as store_module

MIN_SEQ_HEADER = "HTTP_X_TIMELINE_MIN_SEQ"
MIN_SEQ_WAIT = 2.0  # seconds, API.md section 9
MIN_SEQ_POLL = 0.05
_READS = frozenset(("GET", "HEAD", "OPTIONS"))
# Request headers that change a GET response: negotiation (format by Accept), compression,
# the cache scope (Authorization) and read-your-writes.
VARY = ("Accept", "Accept-Encoding", "Authorization", "X-Timeline-Min-Seq")
# Statuses a shared cache may keep for an anonymous GET; errors and redirects stay private.
_CACHEABLE = frozenset((200, 203, 204, 300, 301, 304, 404, 410))
PRIVATE = "private, no-store"
# Answers about this node, never to be shared by a cache.
_NODE_STATE = frozenset(("/readyz", "/healthz"))


def cache_control(config) -> str:
    return (
        f"public, max-age={config['CACHE_MAX_AGE']}, "
        f"stale-while-revalidate={config['CACHE_STALE_WHILE_REVALIDATE']}, "
        f"stale-if-error={config['CACHE_STALE_IF_ERROR']}"
    )


class ClusterLayer:
    """WSGI middleware around the whole app (see :func:`init_app`). Other attributes are
    the wrapped layer's (``app.wsgi_app.app`` is still the Edge's inner layer)."""

    def __getattr__(self, name):
        return getattr(self.__dict__["inner"], name)

    def __init__(self, flask_app, wsgi_app):
        config = flask_app.config
        self.inner = wsgi_app
        self.database = config["DATABASE"]
        self.replica = config["ROLE"] == "replica"
        self.primary = (config.get("PRIMARY") or "").rstrip("/")
        self.public = cache_control(config)
        self.max_lag = config["MAX_LAG"]
        self._lag = (0.0, None)  # (when read, lag_seconds)

    def seq(self) -> int | None:
        """This node's last applied seq; None when the database cannot be read (the app
        then answers with the problem that names why)."""
        try:
            return store_module.connect(self.database).data_version()
        except sqlite3.Error:
            return None

    def too_far_behind(self) -> bool:
        """Whether this replica's copy is more than MAX_LAG behind (or its lag unknown: the
        follower is restoring it): it then sends reads to the primary as well."""
        now = time.monotonic()
        if now - self._lag[0] > 0.5:
            from .replication import read_status

            self._lag = (now, read_status(self.database)["lag_seconds"])
        lag = self._lag[1]
        return lag is None or lag > self.max_lag

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        reading = method in _READS
        try:
            if self.replica and not reading:
                return self._redirect(environ, start_response, "read-only-replica", self.seq())
            if self.replica and environ.get("PATH_INFO") not in _NODE_STATE and self.too_far_behind():
                return self._redirect(environ, start_response, "replica-behind", None)
            seq = self.seq()
            wanted = environ.get(MIN_SEQ_HEADER)
            if wanted is not None and reading:
                minimum = _parse_seq(wanted)
                if minimum is None:
                    return _problem(
                        environ,
                        start_response,
                        "bad-request",
                        "X-Timeline-Min-Seq must be a whole number (a seq of the change feed).",
                        _seq_header(seq),
                    )
                if (seq or 0) < minimum:
                    seq = self._wait_for(minimum)
                if (seq or 0) < minimum:
                    if self.replica and self.primary:
                        return self._redirect(environ, start_response, "replica-behind", seq)
                    return _problem(
                        environ,
                        start_response,
                        "seq-not-reached",
                        f"This node is at seq {seq}, before {minimum}.",
                        {**_seq_header(seq), "Retry-After": "1"},
                    )
            private = (
                not reading or "HTTP_AUTHORIZATION" in environ or environ.get("PATH_INFO") in _NODE_STATE
            )
            public = None if private else self.public

            def start(status, headers, exc_info=None):
                code = int(status[:3])
                # A write answers with the seq it reached, for X-Timeline-Min-Seq on the next read.
                now = seq if reading else self.seq()
                vary = _vary(headers)
                headers = [(k, v) for k, v in headers if k.lower() not in ("cache-control", "vary")]
                headers += [
                    *_seq_header(now).items(),
                    ("Vary", vary),
                    ("Cache-Control", public if public and code in _CACHEABLE else PRIVATE),
                ]
                return start_response(status, headers, exc_info)

            body = self.inner(environ, start)
        except BaseException:
            self._release()
            raise
        return ClosingIterator(body, self._release) if self.replica else body

    def _release(self) -> None:
        """A replica lets go of its copy after each request (see the module doc)."""
        if self.replica:
            store_module.close_all()

    def _wait_for(self, minimum: int) -> int:
        deadline = time.monotonic() + MIN_SEQ_WAIT
        seq = self.seq()
        while seq < minimum and time.monotonic() < deadline:
            self._release()  # the follower applies only while nobody holds the copy
            time.sleep(MIN_SEQ_POLL)
            seq = self.seq()
        return seq

    def _redirect(self, environ, start_response, kind: str, seq: int | None):
        self._release()
        target = None
        if self.primary:
            raw = environ.get("RAW_URI") or ""
            if not raw.startswith("/"):
                path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
                query = environ.get("QUERY_STRING")
                raw = quote(path.encode("latin-1", "replace")) + (f"?{query}" if query else "")
            target = self.primary + raw
        detail = (
            "This node is a read-only replica; send writes to the primary."
            if kind == "read-only-replica"
            else "This replica is behind (X-Timeline-Min-Seq not reached within 2 s, or its copy more "
            "than TIMELINE_MAX_LAG seconds behind); read from the primary."
        )
        headers = {"Cache-Control": PRIVATE, **_seq_header(seq)}
        if target:
            headers["Location"] = target
        else:  # no primary known: nothing to redirect to
            return _problem(
                environ, start_response, "not-ready", detail + " (TIMELINE_PRIMARY is not set)", headers
            )
        return _problem(environ, start_response, kind, detail, headers)


def _vary(headers) -> str:
    names = list(VARY)
    for key, value in headers:
        if key.lower() == "vary":
            for name in value.split(","):
                name = name.strip()
                if name and name.lower() not in (n.lower() for n in names):
                    names.append(name)
    return ", ".join(names)


def _seq_header(seq: int | None) -> dict[str, str]:
    return {} if seq is None else {"X-Timeline-Seq": str(seq)}


def _parse_seq(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def _problem(environ, start_response, kind, detail, headers):
    headers = dict(headers)
    headers.setdefault("Cache-Control", PRIVATE)
    headers.setdefault("Vary", ", ".join(VARY))
    from .web.headers import Edge

    response = errors.problem(kind, detail, headers=headers)
    response.headers.pop("Date", None)
    return Edge(response)(environ, start_response)


# --------------------------------------------------------------------------- storage faults

# --------------------------------------------------------------------------- readiness


def readiness(config, store) -> tuple[bool, dict]:
    """(ready, body) for /readyz: role, seq and lag_seconds, and whether this node can do
    its job — a replica within MAX_LAG of the replica URL, a primary able to write."""
    from . import replication

    role = config["ROLE"]
    body: dict = {"status": "ready", "role": role, "seq": store.data_version(), "lag_seconds": 0.0}
    problems = []
    if role == "replica":
        status = replication.read_status(config["DATABASE"])
        lag = status["lag_seconds"]
        body["lag_seconds"] = lag
        if lag is None:
            problems.append("the copy's lag is not known yet (is the follower running?)")
        elif lag > config["MAX_LAG"]:
            problems.append(
                f"the copy is {lag:.1f} s behind the replica (TIMELINE_MAX_LAG={config['MAX_LAG']})"
            )
    else:
        problems += write_problems(config)
    if problems:
        body["status"] = "not ready"
        body["detail"] = "; ".join(problems)
    return not problems, body


def write_problems(config) -> list[str]:
    """Why the primary cannot write now (empty when it can)."""
    path = config["DATABASE"]
    folder = os.path.dirname(path) or "."
    found = []
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        found.append("the database file or its directory is read-only")
    try:
        stat = os.statvfs(folder)
        free = stat.f_bavail * stat.f_frsize
        if free < config["MIN_FREE_BYTES"]:
            found.append(
                f"{free} bytes free on the database's disk (TIMELINE_MIN_FREE_BYTES={config['MIN_FREE_BYTES']})"
            )
    except OSError as exc:
        found.append(f"the database's disk cannot be read: {exc.strerror}")
    fault = errors.last_storage_fault(path)
    if fault and time.time() - fault[1] < 5:
        found.append(f"the last write failed: {fault[0]}")
    return found


def init_app(app) -> None:
    """Put :class:`ClusterLayer` around everything (:class:`service.web.headers.Edge`, the
    fast lane, Flask); its own answers go through an Edge of their own, so they get the
    request id, common headers and access log line like every other."""
    app.wsgi_app = ClusterLayer(app, app.wsgi_app)
