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
from collections.abc import Callable

import orjson
from flask import Blueprint, Flask, Response, g
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
}
_BY_STATUS = {status: kind for kind, (status, _t, _d) in KINDS.items()}


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

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _from_http_exception(exc)
        log.exception("unhandled error: %s", type(exc).__name__)
        return problem("internal", "An unexpected error occurred; it has been logged.")
