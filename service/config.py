"""Configuration: documented defaults, overridden by ``TIMELINE_*`` environment variables.

Code reads ``current_app.config``; only :func:`from_env` looks at the environment.
"""

from __future__ import annotations

import os

DEFAULTS: dict[str, object] = {
    # The SQLite file. Relative paths are taken from the working directory.
    "DATABASE": "timeline.db",
    # Secret for signing cursors; by default one is generated and kept in the database,
    # so every worker of one deployment shares it.
    "SECRET_KEY": None,
    # Largest request body for ordinary writes, and for POST /events/import.
    "MAX_BODY_BYTES": 1_048_576,
    "MAX_IMPORT_BYTES": 64 * 1_048_576,
    # Most events the streamed formats (ndjson, csv, geojson) send in one response.
    "EXPORT_CAP": 2_000_000,
    # Most events a non-streamed format (ics, timelinejs, vis) holds in one response.
    "DOCUMENT_CAP": 20_000,
    # Origins allowed to write from a browser (comma separated); reads allow any origin.
    "WRITE_ORIGINS": "",
    # Writes allowed per token per minute (0 switches rate limiting off).
    "WRITE_RATE_PER_MINUTE": 600,
    # Seed directory used by `timeline seed` with no argument and by `serve` on an empty DB.
    "SEED_DIR": None,
    "LOG_LEVEL": "INFO",
    # Answer plain GET /api/v1/events windows and GET /api/v1/events/{id} outside Flask
    # (service/web/fastlane.py; same responses, a fraction of the cost). 0 turns it off.
    "FAST_LANE": 1,
    # Running on several machines (API.md section 9, docs/operations.md).
    # "primary" takes writes; "replica" (`timeline serve --replica`) serves reads from a copy
    # that Litestream keeps in step with REPLICA_URL and sends writes to PRIMARY (a URL).
    "ROLE": "primary",
    "PRIMARY": "",
    "REPLICA_URL": "",
    # A replica more than this many seconds behind REPLICA_URL answers /readyz with 503.
    "MAX_LAG": 10,
    # Cache-Control of anonymous GET responses: fresh for CACHE_MAX_AGE seconds, then served
    # stale for up to CACHE_STALE_WHILE_REVALIDATE while a cache revalidates, and for up to
    # CACHE_STALE_IF_ERROR when the service fails.
    "CACHE_MAX_AGE": 5,
    "CACHE_STALE_WHILE_REVALIDATE": 30,
    "CACHE_STALE_IF_ERROR": 86400,
    # How long a write waits for the write lock (a long import holds it) before a 503 with
    # Retry-After, in milliseconds.
    "WRITE_LOCK_WAIT_MS": 2000,
    # A primary with less free space than this on the database's disk is not ready.
    "MIN_FREE_BYTES": 1_048_576,
}

_INTS = {
    "FAST_LANE",
    "MAX_BODY_BYTES",
    "MAX_IMPORT_BYTES",
    "EXPORT_CAP",
    "DOCUMENT_CAP",
    "WRITE_RATE_PER_MINUTE",
    "MAX_LAG",
    "CACHE_MAX_AGE",
    "CACHE_STALE_WHILE_REVALIDATE",
    "CACHE_STALE_IF_ERROR",
    "WRITE_LOCK_WAIT_MS",
    "MIN_FREE_BYTES",
}
ROLES = ("primary", "replica")


def from_env(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Defaults overlaid with ``TIMELINE_<KEY>`` variables; raises ValueError naming a bad one."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = environ.get(f"TIMELINE_{key}")
        if raw is None or raw == "":
            continue
        if key in _INTS:
            try:
                config[key] = int(raw)
            except ValueError:
                raise ValueError(f"TIMELINE_{key} must be an integer, not {raw!r}") from None
        else:
            config[key] = raw
    if config["ROLE"] not in ROLES:
        raise ValueError(f"TIMELINE_ROLE must be one of {', '.join(ROLES)}, not {config['ROLE']!r}")
    return config
