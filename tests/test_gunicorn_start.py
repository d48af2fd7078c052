"""gunicorn started directly on an archive of an older schema: the master migrates it once,
before any worker boots (service/gunicorn_conf.py on_starting), and the service serves it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import Generator, new_store
from legacy_schema import as_schema_7
from test_faults import _free_port, _request, _start

from service import ingest
from service import store as store_module

pytestmark = pytest.mark.slow  # starts gunicorn


def test_the_master_migrates_an_old_archive_before_the_workers_boot(tmp_path):
    db = tmp_path / "old.db"
    st = new_store(db)
    gen = Generator(3)
    ingest.import_items(st, [gen.event(i, []) for i in range(50)])
    feed = st.changes(0, 1000)
    as_schema_7(st.conn)
    store_module.close_all()
    log = tmp_path / "gunicorn.log"
    port = _free_port()
    proc = _start(db, port, log, log_level="INFO")
    try:
        text = log.read_text()
        assert text.count("migrating") == 1, text
        assert text.index(f"from schema 7 to {store_module.SCHEMA_VERSION}") < text.index("Booting worker"), (
            text
        )
        status, body = _request(port, "GET", "/api/v1/changes?since=0&limit=1000")
        assert status == 200
        served = json.loads(body)["changes"]
        assert [(c["seq"], c["id"], c["event"]["version"]) for c in served] == [
            (seq, event_id, json.loads(doc)["version"]) for seq, _op, event_id, _at, doc in feed
        ]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert store_module.Store(str(db)).schema_version() == store_module.SCHEMA_VERSION


# --------------------------------------------------------------------------- timeline serve

REPO = Path(__file__).resolve().parents[1]
TIMELINE = Path(sys.executable).with_name("timeline")


def serve(cwd: Path, port: int, env: dict, **popen) -> subprocess.Popen:
    """`timeline serve` with one worker on 127.0.0.1:port, in a process group of its own."""
    return subprocess.Popen(
        [str(TIMELINE), "serve", "--port", str(port), "--workers", "1"],
        cwd=cwd,
        env=env,
        start_new_session=True,
        **popen,
    )


def _serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, TIMELINE_DATABASE=str(tmp_path / "served.db"), TIMELINE_LOG_LEVEL="WARNING")
    return serve(tmp_path, port, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_reports_a_port_in_use_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path, port)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "serving" not in out
    lines = err.splitlines()
    assert lines == [
        f"timeline: database {tmp_path / 'served.db'}",
        f"Error: port {port} on 127.0.0.1 is already in use (is the service running already? try --port)",
    ]


def test_serve_says_where_once_it_listens_and_serves_there(tmp_path):
    port = _free_port()
    proc = _serve(tmp_path, port)
    try:
        first = proc.stdout.readline()  # the seed line of an empty database
        serving = proc.stdout.readline()
        seeded = len(json.loads((REPO / "seed" / "events.json").read_text("utf-8")))
        assert first.startswith(f"empty database: seeded {seeded} events"), first
        assert serving == f"serving {tmp_path / 'served.db'} at http://127.0.0.1:{port}/\n"
        # the port is bound before that line: a connection is accepted at once (and answered
        # once a worker has booted)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _request(port, "GET", "/api/v1/events?limit=1&count=true")
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200 and json.loads(body)["total"] == seeded
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
