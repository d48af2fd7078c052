"""The two hottest reads without Flask's per-request machinery.

``GET /api/v1/events`` (a plain date window, page size, sort or cursor) and
``GET /api/v1/events/{id}`` are most of a timeline's traffic: every widget pan and zoom
asks for one. Flask's request context, routing, view wrappers, hooks and response object
cost more than the SQL of such a request (about 0.1 ms of 0.17 ms for one event at 1M
events), so this WSGI layer, inside :class:`service.http.Edge` (request id, common
headers, access log) and in front of Flask, answers them itself through the same code
the views use (:func:`service.api.events.json_page`, :meth:`Store.get_event`,
:func:`service.api.events.event_etag`).

It answers only what it can answer exactly as Flask would; everything else goes on to
Flask untouched: other methods and paths, conditional requests (If-None-Match, ...),
gzip, an Accept header that is not plain JSON, any query that
:meth:`EventListQuerySchema.fast_load` declines (every error, every filter but the date
window), an unknown id, a bad cursor. ``tests/test_fastlane.py`` holds the two paths to
the same status, headers and body on many requests. ``TIMELINE_FAST_LANE=0`` turns it off.
"""

from __future__ import annotations

import logging
import re

from werkzeug.wrappers import Request

from . import store as store_module
from .api.events import base_url, cursor_secret, event_etag, json_page
from .errors import ApiError
from .http import body_etag, request_line_too_long
from .schemas import SLUG_PATTERN, EventListQuerySchema

log = logging.getLogger("service")

LIST_PATH = "/api/v1/events"
ONE_PREFIX = "/api/v1/events/"
_EVENT_ID = re.compile(SLUG_PATTERN)  # what an event id can be; anything else is Flask's 404
_NOT_IDS = frozenset(("histogram", "facets", "import"))
# Request headers that make a response conditional, ranged or negotiated: Flask answers.
_FLASK_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
)
_JSON_ACCEPTS = frozenset(("", "*/*", "application/json"))
_SCHEMA = EventListQuerySchema()


class FastLane:
    def __init__(self, flask_app, wsgi_app):
        self.flask_app = flask_app
        self.next = wsgi_app
        self.database = flask_app.config["DATABASE"]
        self.served = 0  # answered here (tests check that the lane is really taken)

    def __call__(self, environ, start_response):
        answer = None
        if self._eligible(environ):
            try:
                answer = self._answer(environ)
            except ApiError:
                answer = None  # Flask words the problem
            except Exception:  # noqa: BLE001 - Flask's error handling answers it, and logs it
                log.exception("fast lane declined after an error")
                answer = None
        if answer is None:
            return self.next(environ, start_response)
        self.served += 1
        headers, body = answer
        start_response("200 OK", headers)
        return [body]

    @staticmethod
    def _eligible(environ) -> bool:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("SCRIPT_NAME"):
            return False
        if any(name in environ for name in _FLASK_HEADERS):
            return False
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower():
            return False  # service.security compresses
        if environ.get("HTTP_ACCEPT", "").strip() not in _JSON_ACCEPTS:
            return False  # content negotiation (format by Accept)
        return not request_line_too_long(environ)  # Flask answers 414

    def _answer(self, environ):
        path = environ.get("PATH_INFO", "")
        if path == LIST_PATH:
            return self._page(environ)
        if path.startswith(ONE_PREFIX):
            event_id = path[len(ONE_PREFIX) :]
            if event_id not in _NOT_IDS and _EVENT_ID.match(event_id):
                return self._one(event_id)
        return None

    def _one(self, event_id: str):
        found = store_module.connect(self.database).get_event(event_id)
        if found is None:
            return None  # the 404 problem is Flask's
        doc, version = found
        body = doc.encode()
        return [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("ETag", f'"{event_etag(event_id, version)}"'),
        ], body

    def _page(self, environ):
        request = Request(environ)
        args = _SCHEMA.fast_load(request.args)
        if args is None:
            return None
        store = store_module.connect(self.database)
        body, link = json_page(
            store, args, request.args, cursor_secret(self.flask_app, store), base_url(request)
        )
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("ETag", f'"{body_etag(body)}"'),
        ]
        if link:
            headers.append(("Link", link))
        return headers, body
