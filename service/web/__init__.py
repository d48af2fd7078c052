"""The WSGI edge: what every response carries, CORS, compression, write rate limits and the
fast lane. Nothing here imports a view (``service.api``); views import the fast lane's mark.

* ``cors``: reads from any origin, writes from the configured ones; preflights. ``errors``.
* ``headers``: :class:`~service.web.headers.Edge` (request id, security headers, access
  log), the request-line limit, ETags and conditional answers. ``errors``, ``cors``.
* ``compression``: gzip, whole or streamed. Nothing of ours.
* ``ratelimit``: the 429 of writes per token per minute. ``errors``, ``store.ratelimit``.
* ``fastlane``: the hot reads without Flask, for views marked ``@fast_lane``. ``errors``,
  ``headers``.
"""

from __future__ import annotations

from flask import Flask

from . import compression, cors, headers
from .fastlane import FastLane


def init_app(app: Flask) -> None:
    """Install the hooks and the WSGI layers: Edge outermost, then the fast lane, then Flask.

    Hooks run in this order: the request id and the 414, then CORS before a request; after
    it, write CORS, then gzip, then ETag and the conditional answer (over the bytes sent)."""
    headers.init_app(app)
    compression.init_app(app)
    cors.init_app(app)
    if app.config.get("FAST_LANE"):
        app.wsgi_app = FastLane(app, app.wsgi_app)
    app.wsgi_app = headers.Edge(app.wsgi_app)
