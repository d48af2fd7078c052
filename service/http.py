"""HTTP behaviour shared by every response: request ids, ETags and 304s, CORS, access log."""
from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
from flask import Flask, g, request

from .errors import ApiError

access_log = logging.getLogger("service.access")
MAX_REQUEST_LINE = 16 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def init_app(app: Flask) -> None:
    @app.before_request
    def start_request():
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        # "METHOD target HTTP/1.1": the request line the contract serves up to 16 KiB.
        if len(request.method) + len(target) + 10 > MAX_REQUEST_LINE:
            raise ApiError("uri-too-long", f"The request line is over {MAX_REQUEST_LINE} bytes.")

    @app.after_request
    def finish_response(response):
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            if not response.is_streamed:
                if "ETag" not in response.headers:
                    response.add_etag()
                response.make_conditional(request)
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if request.method in ("GET", "HEAD", "OPTIONS") and not preflight:  # service.security answers preflights
            # Reads are public: any origin may embed the widget or call the API.
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = "ETag, Link, X-Request-ID"
        response.headers["X-Request-ID"] = getattr(g, "request_id", "-")
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(orjson.dumps({
                "request_id": getattr(g, "request_id", None),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                "bytes": response.content_length,
            }).decode())
        return response
