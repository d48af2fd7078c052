"""RFC 9457 problem details: one builder and every error handler.

Views raise :class:`ApiError` (or let werkzeug raise an HTTPException), and let the
store's refusals (Conflict, NotFound, PreconditionFailed) and marshmallow's
ValidationError pass: :func:`map_refusals` words those once per resource, and an import
batch with invalid items (``ingest.BatchInvalid``) is one 422 wherever it comes from.
Everything the app can answer with an error status comes out here as
``application/problem+json``. Unexpected exceptions are logged with their traceback and
answered with a bare 500 problem: no stack trace or SQL ever reaches a client.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable

import orjson
from flask import Blueprint, Flask, Response, current_app, g
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from .ingest import BatchInvalid
from .store import Conflict, NotFound, PreconditionFailed

log = logging.getLogger("service")

PROBLEM_TYPE = "application/problem+json"

# kind -> (status, stable title, what it means: documented at /docs)
KINDS: dict[str, tuple[int, str, str]] = {
    "bad-request": (
        400,
        "Bad request parameter",
        "A query parameter is missing, unparsable or out of range; `errors` names it.",
    ),
    # Before malformed-body: _BY_STATUS maps a bare 400 to the last 400 kind listed.
    "empty-body": (
        400,
        "Empty request body",
        "The request has no body, or only white space, where it needs one (an import needs a JSON array or NDJSON).",
    ),
    "malformed-body": (400, "Malformed request body", "The body is not valid JSON (or NDJSON) in UTF-8."),
    "unauthorized": (401, "Authentication required", "No bearer token, or one the service does not know."),
    "forbidden": (
        403,
        "Not allowed",
        "The token's scope does not allow this request, or the origin may not write.",
    ),
    "not-found": (404, "Not found", "No such resource or path."),
    "method-not-allowed": (
        405,
        "Method not allowed",
        "The path exists but does not take this method; see the Allow header.",
    ),
    "not-acceptable": (406, "Not acceptable", "No representation matches the Accept header."),
    "conflict": (409, "Conflict", "The resource exists already, or still has dependants."),
    "precondition-failed": (
        412,
        "Precondition failed",
        "If-Match named a version that is no longer current; nothing changed.",
    ),
    "payload-too-large": (413, "Payload too large", "The body is over the size limit."),
    "uri-too-long": (414, "URI too long", "The request line is over the limit."),
    "unsupported-media-type": (415, "Unsupported media type", "Writes need a JSON content type."),
    "validation": (
        422,
        "Validation failed",
        "The body was understood but breaks the rules of the event or timeline; `errors` maps each field to its messages.",
    ),
    "rate-limited": (429, "Too many requests", "The token wrote too often; retry after Retry-After seconds."),
    "header-too-large": (431, "Request header fields too large", "A request header is over the limit."),
    "internal": (
        500,
        "Internal error",
        "Something failed on the server; it has been logged with the request id.",
    ),
    "not-ready": (503, "Not ready", "The database is unreachable or its schema is not current."),
    # Running on several machines and storage faults (API.md section 9).
    "read-only-replica": (
        307,
        "Read-only replica",
        "This node serves reads only; the write is redirected (Location) to the primary.",
    ),
    "replica-behind": (
        307,
        "Replica behind",
        "This replica has not reached X-Timeline-Min-Seq within 2 s, or its copy is more than TIMELINE_MAX_LAG seconds behind; the read is redirected to the primary.",
    ),
    "seq-not-reached": (
        412,
        "Seq not reached",
        "X-Timeline-Min-Seq names a change this node does not have (yet); retry after Retry-After.",
    ),
    "busy": (
        503,
        "Busy",
        "The write lock stayed taken (a long import holds it) past TIMELINE_WRITE_LOCK_WAIT_MS; nothing was written. Retry after Retry-After.",
    ),
    "storage-full": (507, "Insufficient storage", "The database's disk is full; nothing was written."),
    "storage-read-only": (
        503,
        "Storage read-only",
        "The database file cannot be written; nothing was written.",
    ),
    "storage-unavailable": (
        503,
        "Storage unavailable",
        "The database's storage failed (I/O error); nothing was written.",
    ),
}
_BY_STATUS = {}
for _kind, (_status, _t, _d) in KINDS.items():
    _BY_STATUS.setdefault(_status, _kind)


class ApiError(Exception):
    """An error with a problem kind, a request-specific detail and optional field errors."""

    def __init__(
        self, kind: str, detail: str | None = None, errors: dict | None = None, headers: dict | None = None
    ):
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def bad_param(name: str, message: str) -> ApiError:
    return ApiError("bad-request", f"Parameter '{name}': {message}", {name: [message]})


def problem(
    kind: str,
    detail: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
    status: int | None = None,
) -> Response:
    default_status, title, _ = KINDS[kind]
    body: dict = {"type": f"/problems/{kind}", "title": title, "status": status or default_status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    request_id = getattr(g, "request_id", None) if g else None
    if request_id:
        body["request_id"] = request_id
    response = Response(orjson.dumps(body), status=status or default_status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    kind = _BY_STATUS.get(status)
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    data = getattr(exc, "data", None)  # webargs attaches the field messages here
    if data and "messages" in data:
        messages = data["messages"]
        # webargs nests by location: {"query": {"from": [...]}}
        errors = {}
        for loc_errors in messages.values():
            errors.update(loc_errors if isinstance(loc_errors, dict) else {"_": loc_errors})
        errors = _stringify(errors)
        names = ", ".join(f"'{k}'" for k in errors)
        return problem(
            "bad-request" if status == 400 else "validation",
            f"Invalid parameter {names}." if status == 400 else "Invalid body.",
            errors,
        )
    if kind is None:
        kind = "bad-request" if 400 <= status < 500 else "internal"
        return problem(kind, exc.description, status=status, headers=headers)
    detail = exc.description if status != 500 else None
    if status == 404:
        detail = "No resource at this path."
    return problem(kind, detail, headers=headers)


def _stringify(errors):
    """Field errors as JSON-ready dicts of lists of strings (marshmallow nests ints as keys)."""
    if isinstance(errors, dict):
        return {str(k): _stringify(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [_stringify(v) if isinstance(v, (dict, list)) else str(v) for v in errors]
    return errors


def map_refusals(
    blueprint: Blueprint,
    *,
    invalid: Callable[[ValidationError], str],
    conflict: str,
    missing: str,
    stale: str,
) -> None:
    """Answer what the views of ``blueprint`` let pass, in the words of their resource.

    A ValidationError is a ``validation`` problem whose detail is ``invalid(exc)`` and
    whose ``errors`` are the field messages. The store's Conflict, NotFound and
    PreconditionFailed are ``conflict``, ``not-found`` and ``precondition-failed``
    problems; ``conflict``, ``missing`` and ``stale`` are formats of the key the store
    names (``{}``). Called once, where the blueprint is declared."""

    def validation(exc: ValidationError) -> Response:
        return problem("validation", invalid(exc), _stringify(exc.messages) or None)

    def refusal(kind: str, wording: str):
        return lambda exc: problem(kind, wording.format(exc.args[0]))

    blueprint.register_error_handler(ValidationError, validation)
    blueprint.register_error_handler(Conflict, refusal("conflict", conflict))
    blueprint.register_error_handler(NotFound, refusal("not-found", missing))
    blueprint.register_error_handler(PreconditionFailed, refusal("precondition-failed", stale))


# --------------------------------------------------------------------------- storage faults

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 5, 6, 8, 10, 13, 14
WRITE_BUSY_RETRY_AFTER = 2  # seconds

# database path -> (kind, time) of this process's last storage fault on it
_last_fault: dict[str, tuple[str, float]] = {}


def storage_problem(exc: sqlite3.Error, database: str, writing: bool = True) -> tuple[str, str, dict] | None:
    """(problem kind, detail, headers) for a storage fault, None for anything else.

    A full disk is 507, a read-only file or an I/O error 503, a write lock that stays
    taken past the short wait (a long import holds it) 503 with Retry-After."""
    code = getattr(exc, "sqlite_errorcode", None)
    message = str(exc).lower()
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == SQLITE_IOERR and _disk_nearly_full(database):
        primary = SQLITE_FULL  # a write that met ENOSPC can surface as an I/O error (e.g. growing the WAL)
    if primary == SQLITE_FULL or "disk is full" in message:
        kind, detail = "storage-full", "The database's disk is full; nothing was written. Retry later."
    elif primary == SQLITE_READONLY or "readonly database" in message:
        kind, detail = "storage-read-only", "The database file is read-only here; nothing was written."
    elif primary in (SQLITE_IOERR, SQLITE_CANTOPEN) or "disk i/o error" in message:
        kind, detail = (
            "storage-unavailable",
            "The database's storage failed (I/O error); nothing was written.",
        )
    elif primary in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in message:
        detail = (
            "Another write (a long import) holds the write lock; nothing was written. Retry after Retry-After."
            if writing
            else "The database is locked by a writer (on a replica: the copy being brought up to date); retry."
        )
        return "busy", detail, {"Retry-After": str(WRITE_BUSY_RETRY_AFTER)}
    else:
        return None
    _last_fault[database] = (kind, time.time())
    return kind, detail, {"Retry-After": str(WRITE_BUSY_RETRY_AFTER)}


def _disk_nearly_full(database: str, margin: int = 1 << 20) -> bool:
    """Less than ``margin`` bytes free where the database lives (when that can be read)."""
    try:
        stat = os.statvfs(os.path.dirname(os.path.abspath(database)) or ".")
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < margin


def last_storage_fault(database: str) -> tuple[str, float] | None:
    """(kind, time) of this process's last storage fault (full, read-only, I/O) on ``database``."""
    return _last_fault.get(database)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        return problem(exc.kind, exc.detail, _stringify(exc.errors) if exc.errors else None, exc.headers)

    @app.errorhandler(BatchInvalid)
    def handle_invalid_batch(exc: BatchInvalid):
        detail = f"{len(exc.errors)} item(s) are invalid; nothing was written."
        return problem("validation", detail, _stringify(exc.errors) or None)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        return _from_http_exception(exc)

    @app.errorhandler(sqlite3.Error)
    def handle_storage(exc: sqlite3.Error):
        from flask import request

        found = storage_problem(
            exc, current_app.config["DATABASE"], writing=request.method not in ("GET", "HEAD", "OPTIONS")
        )
        if found is None:
            return handle_unexpected(exc)
        kind, detail, headers = found
        log.warning("storage fault on %s %s: %s (%s)", request.method, request.path, kind, exc)
        return problem(kind, detail, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _from_http_exception(exc)
        log.exception("unhandled error: %s", type(exc).__name__)
        return problem("internal", "An unexpected error occurred; it has been logged.")
