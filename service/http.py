"""HTTP behaviour shared by every response: request ids, ETags and 304s, CORS for reads,
security headers, access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
import xxhash
from flask import Flask, g, request

from .errors import ApiError
from .security import API_CSP, PAGE_CSP, WIDGET_CSP, WIDGET_PATHS

access_log = logging.getLogger("service.access")
MAX_REQUEST_LINE = 16 * 1024


def request_line_too_long(environ) -> bool:
    """Whether "METHOD target HTTP/1.1", the request line the contract serves up to 16 KiB,
    is longer than that (the target as the server received it, when it says)."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        target = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    return len(environ.get("REQUEST_METHOD", "GET")) + len(target) + 10 > MAX_REQUEST_LINE


def body_etag(body: bytes) -> str:
    """The strong validator of a response body (unquoted): its XXH3-128 digest.

    A list page is about 45 KB; werkzeug's SHA-1 of it costs about 24 µs a request,
    XXH3 about 1. The ETag only has to change when the bytes change; nothing relies on
    it being a cryptographic hash."""
    return xxhash.xxh3_128_hexdigest(body)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Edge:
    """The WSGI layer around Flask: what every response carries, added as plain tuples.

    * a request id (the client's ``X-Request-ID`` when it is sane, else a new one), put in
      the environ for the app (problem bodies quote it) and echoed in ``X-Request-ID``;
    * the security headers of :mod:`service.security` (``nosniff``, ``Referrer-Policy``,
      the Content-Security-Policy of the path and type, ``X-Frame-Options`` except on the
      widget page);
    * CORS for reads: any origin may read (``GET``, ``HEAD`` and plain ``OPTIONS``);
      preflights and writes get theirs from :mod:`service.security`;
    * one structured access-log line (JSON) per request.

    Doing this on the WSGI header list instead of in Flask hooks costs a few microseconds
    instead of tens: it runs on every request, the hottest ones included.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        environ["timeline.request_id"] = request_id
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")

        def start(status, headers, exc_info=None):
            added = [
                ("X-Request-ID", request_id),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ]
            if path in WIDGET_PATHS:
                added.append(("Content-Security-Policy", WIDGET_CSP))
            else:
                html = any(k.lower() == "content-type" and v.startswith("text/html") for k, v in headers)
                added.append(("Content-Security-Policy", PAGE_CSP if html else API_CSP))
                added.append(("X-Frame-Options", "DENY"))
            if method in _READS and not (
                method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
            ):
                added.append(("Access-Control-Allow-Origin", "*"))
                added.append(("Access-Control-Expose-Headers", "ETag, Link, X-Request-ID"))
            if access_log.isEnabledFor(logging.INFO):
                length = next((v for k, v in headers if k.lower() == "content-length"), None)
                access_log.info(
                    orjson.dumps(
                        {
                            "request_id": request_id,
                            "method": method,
                            "path": path.encode("latin-1", "replace").decode("utf-8", "replace"),
                            "status": int(status[:3]),
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                            "bytes": int(length) if length and length.isdigit() else None,
                        }
                    ).decode()
                )
            return start_response(status, headers + added, exc_info)

        return self.app(environ, start)


_READS = frozenset(("GET", "HEAD", "OPTIONS"))


def init_app(app: Flask) -> None:
    if app.config.get("FAST_LANE"):
        from .fastlane import FastLane

        app.wsgi_app = FastLane(app, app.wsgi_app)
    app.wsgi_app = Edge(app.wsgi_app)

    @app.before_request
    def start_request():
        g.request_id = request.environ.get("timeline.request_id") or uuid.uuid4().hex
        if request_line_too_long(request.environ):
            raise ApiError("uri-too-long", f"The request line is over {MAX_REQUEST_LINE} bytes.")

    @app.after_request
    def finish_response(response):
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            if not response.is_streamed:
                if "ETag" not in response.headers:
                    response.set_etag(body_etag(response.get_data()))
                response.make_conditional(request)
                # make_conditional adds a Date header; the WSGI server sends its own (gunicorn
                # always does), and a response must not carry two.
                response.headers.pop("Date", None)
        return response
