"""Writes per token per minute (``WRITE_RATE_PER_MINUTE``, 0 = off): the HTTP side.

A fixed one-minute window counted in a SQLite file beside the database
(:mod:`service.store.ratelimit`), so the limit holds across every gunicorn worker; over it
is a ``429`` problem with ``Retry-After``. Every authenticated write attempt counts,
accepted or not. A fixed window lets a token make up to twice the rate across a minute
boundary.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from flask import current_app

from ..errors import ApiError
from ..store import ratelimit

log = logging.getLogger("service")


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
