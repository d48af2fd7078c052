"""HTTP hygiene beyond service.http: security headers, CORS for writes, gzip, write rate limits.

* Every response carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and a
  ``Content-Security-Policy``. HTML pages get :data:`PAGE_CSP`; the widget page ``/`` may be
  framed by any site (``frame-ancestors *``, no ``X-Frame-Options``), every other response
  (docs, API, static files) may not (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``).
  API responses get :data:`API_CSP` (``default-src 'none'``): nothing in them may run.
* CORS: reads from any origin (service.http); writes (POST, PUT, PATCH, DELETE) only from the
  origins in ``WRITE_ORIGINS`` or the service's own origin. A preflight is answered here; a
  write whose ``Origin`` is not allowed is a ``403`` problem before anything else happens.
* gzip for responses of at least 1 KiB whose type compresses, when ``Accept-Encoding`` allows.
  A streamed export (ndjson, csv, geojson) is compressed as it streams, piece by piece, at
  level 1 (:data:`GZIP_STREAM_LEVEL`: about 190 MB/s and a quarter of the bytes here, where
  level 6 manages about 45 MB/s), each piece flushed so that a client can decode it on arrival.
* Writes per token per minute are limited (``WRITE_RATE_PER_MINUTE``, 0 = off): a fixed
  one-minute window counted in a SQLite file beside the database (``<database>-ratelimit``),
  so the limit holds across every gunicorn worker; over it is a ``429`` problem with
  ``Retry-After``. Every authenticated write attempt counts, accepted or not. A fixed window
  lets a token make up to twice the rate across a minute boundary.
"""

from __future__ import annotations

import gzip
import logging
import sqlite3
import time
import zlib

from flask import Flask, current_app, request

from .errors import ApiError, problem
from .store import ratelimit

log = logging.getLogger("service")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BASE = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)
#: The widget page: no inline style elements needed (vis-timeline's peer build sets styles
#: through the CSSOM), and any site may frame it.
WIDGET_CSP = _BASE + "; style-src 'self'; frame-ancestors *"
#: Other HTML pages (/docs, /problems): Redoc injects <style> elements, so inline styles are
#: allowed there; scripts stay 'self' only. Not frameable.
PAGE_CSP = _BASE + "; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
#: Everything else (JSON, problems, exports, static files): nothing may run or frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
WIDGET_PATHS = frozenset({"/"})

ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, X-Request-ID"
EXPOSED_HEADERS = "ETag, Link, Location, Retry-After, X-Request-ID"
_COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/problem+json",
    "application/geo+json",
    "application/x-ndjson",
    "application/javascript",
    "image/svg+xml",
    "application/xml",
)
GZIP_MIN_BYTES = 1024
GZIP_STREAM_LEVEL = 1
_gzip_cache: dict[tuple[str, str], bytes] = {}


def write_origins() -> set[str]:
    raw = current_app.config.get("WRITE_ORIGINS") or ""
    return {o.strip().rstrip("/") for o in str(raw).split(",") if o.strip()}


def origin_may_write(origin: str) -> bool:
    if origin.rstrip("/") == request.host_url.rstrip("/"):
        return True  # the service's own pages
    allowed = write_origins()
    return "*" in allowed or origin.rstrip("/") in allowed


def _preflight():
    """Answer a CORS preflight: reads from anywhere, writes from the configured origins."""
    origin = request.headers.get("Origin", "")
    method = request.headers.get("Access-Control-Request-Method", "").upper()
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE") if adapter.test(request.path, m)]
    if not allowed:
        return problem("not-found", "No resource at this path.")
    if method not in allowed:
        return problem(
            "method-not-allowed",
            f"{request.path} does not take {method or 'that method'}.",
            headers={"Allow": ", ".join(allowed + ["OPTIONS"])},
        )
    if method in WRITE_METHODS and not origin_may_write(origin):
        return problem("forbidden", f"The origin '{origin}' may not write to this service.")
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]
    if method in WRITE_METHODS:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "false"
        response.vary.add("Origin")
        methods = [m for m in allowed if m in WRITE_METHODS]
    else:
        response.headers["Access-Control-Allow-Origin"] = "*"
        methods = [m for m in allowed if m not in WRITE_METHODS]
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods + ["OPTIONS"])
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Allow"] = ", ".join(allowed + ["OPTIONS"])
    return response


def check_write_rate(store, token_name: str) -> None:
    """Count one write for ``token_name``; a 429 ApiError when over the per-minute limit."""
    limit = int(current_app.config.get("WRITE_RATE_PER_MINUTE") or 0)
    if limit <= 0:
        return
    now = time.time()
    window = int(now // 60)
    try:
        count = ratelimit.count_write(store.path, token_name, window)
    except sqlite3.OperationalError:
        log.warning("rate limit not counted for %s: database busy", token_name)
        return  # fail open: the write itself will wait for, or fail on, the same lock
    if count > limit:
        retry = max(1, int((window + 1) * 60 - now + 0.999))
        raise ApiError(
            "rate-limited",
            f"The token '{token_name}' may write {limit} times a minute; retry in {retry} s.",
            headers={"Retry-After": str(retry)},
        )


def _gzip_stream(pieces):
    """A streamed body, gzip-compressed piece by piece (see the module doc); closing it
    closes the body it wraps (which ends the request's context)."""
    z = zlib.compressobj(GZIP_STREAM_LEVEL, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
    try:
        for piece in pieces:
            out = z.compress(piece) + z.flush(zlib.Z_SYNC_FLUSH)
            if out:
                yield out
        yield z.flush()
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


def _gzip(response) -> None:
    if response.status_code != 200 or "Content-Encoding" in response.headers or request.method == "HEAD":
        return
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "").lower()
        or request.accept_encodings.quality("gzip") <= 0
    ):
        return
    mimetype = response.mimetype or ""
    if not mimetype.startswith(_COMPRESSIBLE):
        return
    if response.is_streamed and not response.direct_passthrough:  # a streamed export
        response.response = _gzip_stream(response.response)
        response.headers.pop("Content-Length", None)
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        return
    length = response.content_length
    if length is not None and length < GZIP_MIN_BYTES:
        return
    static = response.direct_passthrough
    key = (request.path, response.headers.get("ETag", "")) if static else None
    body = _gzip_cache.get(key) if key else None
    if body is None:
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < GZIP_MIN_BYTES:
            return
        body = gzip.compress(data, compresslevel=6, mtime=0)
        if key and response.headers.get("ETag"):
            if len(_gzip_cache) > 64:
                _gzip_cache.clear()
            _gzip_cache[key] = body
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    # An ETag the view set names the resource's version (If-Match compares it on writes), so
    # it stays as it is; responses without one get theirs afterwards, over the gzip bytes.


def init_app(app: Flask) -> None:
    @app.before_request
    def cors_and_origin():
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return _preflight()
        origin = request.headers.get("Origin")
        if request.method in WRITE_METHODS and origin is not None and request.routing_exception is None:
            if not origin_may_write(origin):
                raise ApiError(
                    "forbidden",
                    f"The origin '{origin}' may not write to this service; see TIMELINE_WRITE_ORIGINS.",
                )
        return None

    @app.after_request
    def harden(response):
        # The headers every response carries are added by service.http.Edge; here only
        # what depends on the Flask request: CORS for writes, and gzip.
        if request.method in WRITE_METHODS:
            origin = request.headers.get("Origin")
            if origin and origin_may_write(origin):
                headers = response.headers
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
                response.vary.add("Origin")
        _gzip(response)
        return response
