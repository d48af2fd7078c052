"""What one request costs inside the WSGI app: no HTTP server, no test client.

    python -m bench.wsgi_cost [--db bench/data/bench-1m.db] [--scenario "window overlap"] [--no-fast-lane]

Calls ``service.create_app(...)`` directly with a plain WSGI environ for each path of the
chosen scenarios (the benchmark's own random windows and ids, :mod:`bench.scenarios`) and
prints the best of five passes, in milliseconds per request. The access log is formatted
as in production but not written. ``--no-fast-lane`` measures the same requests through
Flask (``TIMELINE_FAST_LANE=0``).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import scenarios  # noqa: E402

DEFAULT = ("window overlap", "window within", "window sort=-date", "window next cursor", "event by id")


def environ(path: str) -> dict:
    url = urlsplit(path)
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": url.path,
        "QUERY_STRING": url.query,
        "RAW_URI": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default=str(REPO / "bench" / "data" / "bench-1m.db"))
    p.add_argument("--scenario", action="append", help="scenario name (repeatable); default: the hot reads")
    p.add_argument("--no-fast-lane", action="store_true")
    a = p.parse_args(argv)
    from service import create_app

    app = create_app({"DATABASE": a.db, "FAST_LANE": 0 if a.no_fast_lane else 1})

    class Discard(logging.Handler):  # format the line as production does, write nothing
        def emit(self, record):
            self.format(record)

    logging.getLogger().handlers = [Discard()]
    logging.getLogger("service.access").setLevel(logging.INFO)

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(status)

    def get_json(path: str) -> dict:
        return json.loads(b"".join(app(environ(path), start_response)))

    sample = scenarios.sample(a.db, 200)
    cursor_pages = scenarios.service_cursor_paths(get_json, sample)  # the benchmark's own `next` pages
    by_name = {s.name: s for s in scenarios.build(a.db, sample, "bench", cursor_pages)}

    for name in a.scenario or DEFAULT:
        paths = by_name[name].paths["service"]
        best = float("inf")
        for _ in range(6):  # the first pass warms the caches and is not counted
            t = time.perf_counter()
            for path in paths:
                body = app(environ(path), start_response)
                b"".join(body)
                getattr(body, "close", lambda: None)()
            best = min(best, (time.perf_counter() - t) / len(paths)) if _ else best
        print(f"{name}: {best * 1000:.3f} ms a request (WSGI, best of 5, {len(paths)} paths)")


if __name__ == "__main__":
    main()
