"""Faults: gunicorn (2 workers) is SIGKILLed, whole process group, in the middle of a large
import over HTTP. After a restart the database passes `PRAGMA integrity_check`, holds all of
that import or none of it, and has lost none of the writes acknowledged before it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from factories import make_token

from service import create_app, ingest
from service import store as store_module

pytestmark = pytest.mark.slow  # gunicorn killed in the middle of a 50,000-event import

REPO = Path(__file__).resolve().parents[1]
TOKEN = "tl_faults-token-0123456789abcdefABCDEFGHIJKL"
BULK = 50_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(db: Path, port: int, log: Path, log_level: str = "WARNING") -> subprocess.Popen:
    env = dict(
        os.environ,
        TIMELINE_DATABASE=str(db),
        TIMELINE_WRITE_RATE_PER_MINUTE="0",
        TIMELINE_LOG_LEVEL=log_level,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "service" / "gunicorn_conf.py"),
            "--workers",
            "2",
            "--timeout",
            "120",
            "--bind",
            f"127.0.0.1:{port}",
            "service:create_app()",
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = _request(port, "GET", "/readyz")
            if status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("gunicorn did not become ready")


def _request(port: int, method: str, path: str, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        hdrs = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
        if payload is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=payload, headers=hdrs)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _write_locked(db: Path) -> bool:
    """True while another connection holds the write lock (the import's transaction)."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


@pytest.fixture
def database(tmp_path):
    db = tmp_path / "timeline.db"
    app = create_app({"TESTING": True, "DATABASE": str(db)})
    with app.app_context():
        ingest.load_seed_dir(app)
    make_token(db, "faults", token=TOKEN)
    store_module.close_all()
    return db


def test_sigkill_in_the_middle_of_a_large_import(database, tmp_path):
    log = tmp_path / "gunicorn.log"
    port = _free_port()
    proc = _start(database, port, log)
    try:
        # Writes acknowledged before the import: every one of them must survive.
        acknowledged: dict[str, int] = {}
        for i in range(30):
            status, raw = _request(
                port,
                "PUT",
                f"/api/v1/events/before-{i}",
                {"date": f"2020-0{1 + i % 9}", "title": f"Before {i}", "tags": ["before"]},
            )
            assert status == 201, raw
            acknowledged[f"before-{i}"] = json.loads(raw)["version"]
        for i in range(0, 30, 3):
            status, raw = _request(
                port,
                "PATCH",
                f"/api/v1/events/before-{i}",
                {"summary": "patched"},
                {"Content-Type": "application/merge-patch+json"},
            )
            assert status == 200, raw
            acknowledged[f"before-{i}"] = json.loads(raw)["version"]
        assert _request(port, "DELETE", "/api/v1/events/before-29")[0] == 204
        del acknowledged["before-29"]
        status, _ = _request(port, "POST", "/api/v1/timelines", {"slug": "before-tl", "title": "Before"})
        assert status == 201

        body = b"".join(
            json.dumps(
                {
                    "id": f"bulk-{i:05d}",
                    "date": f"{1900 + i % 120}-0{1 + i % 9}-1{i % 9}",
                    "title": f"Bulk event {i}",
                    "summary": "s" * 200,
                    "tags": ["bulk"],
                    "actors": ["Importer"],
                }
            ).encode()
            + b"\n"
            for i in range(BULK)
        )
        outcome: dict = {}

        def send():
            try:
                outcome["response"] = _request(
                    port,
                    "POST",
                    "/api/v1/events/import",
                    body,
                    {"Content-Type": "application/x-ndjson"},
                    timeout=300,
                )
            except (OSError, http.client.HTTPException) as exc:
                outcome["error"] = repr(exc)

        sender = threading.Thread(target=send)
        sender.start()
        # Wait until the import holds the write lock (its one transaction: on this kind of
        # machine about 3.5 s for 50k events) for several polls in a row, then a little more.
        deadline = time.monotonic() + 120
        held = 0
        while held < 5:
            assert time.monotonic() < deadline and "response" not in outcome, outcome
            held = held + 1 if _write_locked(database) else 0
            time.sleep(0.005)
        time.sleep(0.5)
        assert "response" not in outcome, "the import finished before the kill; make it larger"
        _kill_group(proc)
        sender.join(timeout=30)
        assert "error" in outcome, outcome  # the client never got an answer
    finally:
        _kill_group(proc)

    # Nothing of the killed service is left running.
    time.sleep(0.2)
    assert not _write_locked(database)

    proc = _start(database, port, log)
    try:
        assert _request(port, "GET", "/readyz")[0] == 200
        conn = sqlite3.connect(database)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            bulk = conn.execute("SELECT count(*) FROM events WHERE id LIKE 'bulk-%'").fetchone()[0]
            bulk_changes = conn.execute("SELECT count(*) FROM changes WHERE id LIKE 'bulk-%'").fetchone()[0]
            fts_rows = conn.execute("SELECT count(*) FROM events_fts").fetchone()[0]
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            stored = dict(conn.execute("SELECT id, version FROM events WHERE id LIKE 'before-%'"))
        finally:
            conn.close()
        assert bulk in (0, BULK), bulk  # all or nothing
        assert bulk == 0  # killed before its commit: nothing
        assert bulk_changes == bulk  # the feed agrees with the events
        assert fts_rows == events  # and so does the search index
        assert stored == acknowledged  # every acknowledged write survived
        status, raw = _request(port, "GET", "/api/v1/timelines/before-tl")
        assert status == 200
        # the service takes writes again, and the import can simply be sent again
        status, raw = _request(
            port,
            "POST",
            "/api/v1/events/import",
            body[: body.index(b"bulk-00100") - len(b'{"id": "')],
            {"Content-Type": "application/x-ndjson"},
            timeout=120,
        )
        assert status == 200, raw
        assert json.loads(raw)["created"] == 100
    finally:
        _kill_group(proc)
