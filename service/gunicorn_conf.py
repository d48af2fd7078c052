"""gunicorn settings used by `timeline serve` and the Docker image.

Every value can be overridden on the gunicorn command line or by GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("TIMELINE_BIND", "127.0.0.1:8000")
# Sync workers: SQLite reads are CPU-bound and short; one worker per core plus one.
workers = int(os.environ.get("TIMELINE_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = int(os.environ.get("TIMELINE_TIMEOUT", 60))  # a streamed export of a big archive takes a while
graceful_timeout = 30  # on SIGTERM, finish requests in flight for up to 30 s
keepalive = 5
# The contract serves request lines up to 16 KiB (a 5,000-character q). gunicorn clamps any
# limit of 8190 or more down to 8190, so its own check is off (0) and the app enforces
# 16 KiB itself (service/web/headers.py answers 414 beyond it).
limit_request_line = 0
limit_request_fields = 100
limit_request_field_size = 16384
max_requests = 0
accesslog = None  # the app writes its own structured access log
errorlog = "-"
loglevel = os.environ.get("TIMELINE_LOG_LEVEL", "info").lower()
wsgi_app = "service:create_app()"


def on_starting(server):
    """Bring the database's schema up to date in the master, before any worker is forked.

    Every worker's create_app migrates too, which is a no-op once this has run; without it,
    the workers of a large archive's first start on a new version would each wait for the
    one migrating, which for a large archive can last past their 30 s busy timeout.
    """
    import logging

    from service import config, store

    settings = config.from_env()
    logging.basicConfig(level=settings["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if settings["ROLE"] == "replica":
        return  # a replica's copy is Litestream's to write (service/replication.py)
    path = os.path.abspath(str(settings["DATABASE"]))
    db = store.Store(path)
    try:
        db.migrate()
    finally:
        db.close()


# --------------------------------------------------------------------------- one write per answer
# gunicorn's sync worker puts a response on the wire in two sendall calls: the status line
# and headers (Response.send_headers), then the body (Response.write). A worker killed
# between the two (kill -9, OOM, a node lost) leaves nginx holding a complete header and no
# body; nginx has sent that header to the client already, and retries another upstream only
# while nothing was sent (proxy_next_upstream), so the client gets a truncated answer
# (IncompleteRead). OneWriteResponse holds the header bytes until the first body bytes and
# sends both in one sendall: a worker that dies before then has sent nothing, and nginx tries
# the next replica. Built on gunicorn's own extension point (Response._emit_body, "so a
# subclass can frame it differently"); pyproject.toml pins gunicorn to the range this was
# read against and tests/test_cluster.py checks the pieces it relies on.
sendfile = False  # static files go through write() too, so their headers wait for their bytes


def one_write_response():
    """gunicorn's HTTP/1 Response, with the headers sent in the same sendall as the first
    non-empty body piece (or, for a response without body, by close())."""
    from gunicorn.http import wsgi

    base = wsgi.Response
    if getattr(base, "holds_headers", False):
        return base
    for name in ("send_headers", "_emit_body", "close", "default_headers", "sendfile"):
        if not callable(getattr(base, name, None)):
            raise RuntimeError(
                f"gunicorn's Response has no {name}(): service/gunicorn_conf.py needs a review"
            )

    class OneWriteResponse(base):
        holds_headers = True
        held = b""

        def send_headers(self):
            if self.headers_sent:
                return
            lines = self.default_headers()
            lines.extend(f"{k}: {v}\r\n" for k, v in self.headers)
            self.held = ("".join(lines) + "\r\n").encode("latin-1")
            self.headers_sent = True

        def _emit_body(self, data):
            if not data:
                return  # an empty piece sends nothing, not even the held header
            if self.chunked:
                data = b"%X\r\n%s\r\n" % (len(data), data)
            held, self.held = self.held, b""
            self.sock.sendall(held + data)

        def flush_headers(self):
            held, self.held = self.held, b""
            if held:
                self.sock.sendall(held)

        def sendfile(self, respiter):
            return False  # write_file() falls back to write()

        def close(self):
            if not self.headers_sent:
                self.send_headers()
            if self.chunked and self.held:
                self.held, held = b"", self.held
                self.sock.sendall(held + b"0\r\n\r\n")
                return
            self.flush_headers()
            super().close()

    return OneWriteResponse


def install_one_write_response():
    """Make gunicorn's workers build OneWriteResponse (wsgi.create looks Response up in its
    module at each request)."""
    from gunicorn.http import wsgi

    wsgi.Response = one_write_response()


def post_fork(server, worker):
    install_one_write_response()
