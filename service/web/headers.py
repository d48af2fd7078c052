"""What every response carries, and the request-level rules every request meets.

* :class:`Edge`, the WSGI layer around Flask (and around the fast lane): a request id (the
  client's ``X-Request-ID`` when it is sane, else a new one), echoed in ``X-Request-ID``
  and put in the environ for the app (problem bodies quote it); the security headers
  (``nosniff``, ``Referrer-Policy``, the Content-Security-Policy of the path and type,
  ``X-Frame-Options`` except on the widget page); the CORS headers of reads
  (:mod:`service.web.cors`); one structured access-log line (JSON) per request. It works
  on the WSGI header list rather than in Flask hooks because it runs on every request,
  the hottest ones included.
* The request line is served up to :data:`MAX_REQUEST_LINE`; longer is a ``414`` problem.
* Caching: a 200 GET or HEAD gets a strong ETag (the view's, or :func:`body_etag` of its
  bytes) and is answered ``304``/``412`` by its conditional headers.

HTML pages get :data:`PAGE_CSP`; the widget page ``/`` may be framed by any site
(``frame-ancestors *``, no ``X-Frame-Options``), every other response (docs, API, static
files) may not. API responses get :data:`API_CSP` (``default-src 'none'``): nothing in
them may run.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
import xxhash
from flask import Flask, g, request

from ..errors import ApiError
from .cors import read_headers

access_log = logging.getLogger("service.access")
MAX_REQUEST_LINE = 16 * 1024

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

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_line_too_long(environ) -> bool:
    """Whether "METHOD target HTTP/1.1", the request line the contract serves up to 16 KiB,
    is longer than that (the target as the server received it, when it says)."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        target = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    return len(environ.get("REQUEST_METHOD", "GET")) + len(target) + 10 > MAX_REQUEST_LINE


def body_etag(body: bytes) -> str:
    """The strong validator of a response body (unquoted): its XXH3-128 digest.

    The ETag only has to change when the bytes change; nothing relies on it being a
    cryptographic hash, and a non-cryptographic digest costs a fraction of SHA-1 on every
    list page."""
    return xxhash.xxh3_128_hexdigest(body)


class Edge:
    """The WSGI layer around the application: the headers every response carries, added
    as plain tuples, and the access log (see the module doc)."""

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
            added.extend(read_headers(method, environ))
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


def start_request():
    """Before a request: its id on ``g``; a request line over the limit is a 414."""
    g.request_id = request.environ.get("timeline.request_id") or uuid.uuid4().hex
    if request_line_too_long(request.environ):
        raise ApiError("uri-too-long", f"The request line is over {MAX_REQUEST_LINE} bytes.")


def etag_and_conditional(response):
    """After a 200 GET or HEAD: a strong ETag, then 304/412 by the conditional headers."""
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        if not response.is_streamed:
            if "ETag" not in response.headers:
                response.set_etag(body_etag(response.get_data()))
            response.make_conditional(request)
            # make_conditional adds a Date header; the WSGI server sends its own (gunicorn
            # always does), and a response must not carry two.
            response.headers.pop("Date", None)
    return response


def init_app(app: Flask) -> None:
    app.before_request(start_request)
    app.after_request(etag_and_conditional)
