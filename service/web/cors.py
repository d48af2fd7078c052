"""CORS, all of it: reads from any origin, writes only from the configured origins.

* Reads (``GET``, ``HEAD`` and a plain ``OPTIONS``) may come from any origin: their headers,
  :func:`read_headers`, are added on the WSGI header list by :class:`service.web.headers.Edge`,
  so that every response, the fast lane's too, carries them.
* Writes (POST, PUT, PATCH, DELETE) only from the origins in ``WRITE_ORIGINS`` or the
  service's own origin. A preflight is answered here; a write whose ``Origin`` is not
  allowed is a ``403`` problem before anything else happens.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from ..errors import ApiError, problem

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, X-Request-ID"
EXPOSED_HEADERS = "ETag, Link, Location, Retry-After, X-Request-ID"
READ_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Link, X-Request-ID"),
)


def read_headers(method: str, environ) -> tuple[tuple[str, str], ...]:
    """The CORS headers of a read (none for writes and preflights, which Flask answers)."""
    if method in READ_METHODS and not (
        method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    ):
        return READ_HEADERS
    return ()


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


def preflight_and_write_origin():
    """Before a request: answer a preflight; refuse a write from an origin not allowed (403)."""
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


def write_headers(response):
    """After a write from an allowed origin: its CORS headers."""
    if request.method in WRITE_METHODS:
        origin = request.headers.get("Origin")
        if origin and origin_may_write(origin):
            headers = response.headers
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            response.vary.add("Origin")
    return response


def init_app(app: Flask) -> None:
    app.before_request(preflight_and_write_origin)
    app.after_request(write_headers)
