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
