"""Concurrent writes against the real server: gunicorn, 4 worker processes, one SQLite file.

No 5xx, no "database is locked", every acknowledged write present at its final version,
no gaps in any event's versions, and the change feed holds each acknowledged write once.
"""

from __future__ import annotations

import collections
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from factories import make_token

from service import create_app
from service import store as store_module

pytestmark = pytest.mark.slow  # load: gunicorn with 4 workers under concurrent writers

REPO = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
THREADS = 16
OPS_PER_THREAD = 16  # 256 writes
POOL = [f"pool-{i:02d}" for i in range(24)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, body=None, token=None, content_type="application/json", headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, raw
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def etag_of(base, event_id):
    """The ETag of an event (None when absent)."""
    try:
        with urllib.request.urlopen(f"{base}/api/v1/events/{event_id}", timeout=30) as r:
            return r.headers["ETag"]
    except urllib.error.HTTPError as e:
        assert e.code == 404, e.code
        return None


@pytest.fixture
def server(tmp_path):
    db = tmp_path / "concurrent.db"
    create_app({"DATABASE": str(db)})  # creates the schema
    tokens = {name: make_token(db, name) for name in ("load", "doomed")}
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = dict(os.environ, TIMELINE_DATABASE=str(db), TIMELINE_WRITE_RATE_PER_MINUTE="0")
    env.pop("GUNICORN_CMD_ARGS", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(GUNICORN),
                "-c",
                "service/gunicorn_conf.py",
                "--workers",
                "4",
                "--bind",
                f"127.0.0.1:{port}",
                "service:create_app()",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited: {log_path.read_text(errors='replace')}")
            try:
                if request(base, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not answer /healthz in 20 s")
            time.sleep(0.1)
        yield base, tokens, log_path, str(db)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_concurrent_mixed_writes(server):
    base, tokens, log_path, db = server
    token = tokens["load"]
    acks = []  # (op, id, doc or None)
    problems = []
    lock = threading.Lock()

    def worker(n: int):
        rng = random.Random(1000 + n)
        for step in range(OPS_PER_THREAD):
            event_id = rng.choice(POOL)
            title = f"thread {n} step {step}"
            op = rng.choice(["POST", "PUT", "PUT", "PATCH", "PATCH", "DELETE", "CAS"])
            if op == "POST":
                status, raw = request(
                    base,
                    "POST",
                    "/api/v1/events",
                    {"id": event_id, "date": "2021-07-05", "title": title, "tags": [f"t{n}"]},
                    token,
                )
                ok = (201,)
                expected = (201, 409)
            elif op == "PUT":
                status, raw = request(
                    base,
                    "PUT",
                    f"/api/v1/events/{event_id}",
                    {
                        "date": rng.choice(["2021", "2021-07", "199X"]),
                        "title": title,
                        "importance": rng.randint(1, 5),
                    },
                    token,
                )
                ok = expected = (200, 201)
            elif op == "PATCH":
                status, raw = request(
                    base,
                    "PATCH",
                    f"/api/v1/events/{event_id}",
                    {"title": title, "summary": None if rng.random() < 0.3 else f"s{n}.{step}"},
                    token,
                    content_type="application/merge-patch+json",
                )
                ok = (200,)
                expected = (200, 404)
            elif op == "CAS":  # read, then write only if nobody wrote in between
                etag = etag_of(base, event_id)
                status, raw = request(
                    base,
                    "PATCH",
                    f"/api/v1/events/{event_id}",
                    {"title": title},
                    token,
                    content_type="application/merge-patch+json",
                    headers={"If-Match": etag} if etag else None,
                )
                ok = (200,)
                expected = (200, 404, 412)
            else:
                status, raw = request(base, "DELETE", f"/api/v1/events/{event_id}", None, token)
                ok = (204,)
                expected = (204, 404)
            text = raw.decode("utf-8", "replace")
            with lock:
                if status >= 500 or status not in expected or "locked" in text.lower():
                    problems.append((op, event_id, status, text[:300]))
                elif status in ok:
                    acks.append((op, event_id, json.loads(raw) if raw else None))

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    elapsed = time.monotonic() - started
    assert not problems, problems[:5]
    assert THREADS * OPS_PER_THREAD >= 200
    assert len(acks) > 100, len(acks)

    # ---- the change feed, read whole
    feed, since = [], 0
    while True:
        status, raw = request(base, "GET", f"/api/v1/changes?since={since}&limit=1000")
        assert status == 200
        page = json.loads(raw)
        if not page["changes"]:
            break
        feed += page["changes"]
        since = page["next_since"]
    seqs = [c["seq"] for c in feed]
    assert seqs == sorted(set(seqs))

    # each acknowledged write is in the feed exactly once (titles make every write's document unique)
    def key(op, event_id, doc):
        return (
            ("delete", event_id) if op == "delete" else ("upsert", event_id, json.dumps(doc, sort_keys=True))
        )

    acked = collections.Counter(key("delete" if op == "DELETE" else "upsert", i, d) for op, i, d in acks)
    fed = collections.Counter(key(c["op"], c["id"], c.get("event")) for c in feed)
    assert fed == acked

    # no version gaps: per event, each life runs 1, 2, 3, ... and ends with a delete or the present
    lives: dict[str, list[int]] = collections.defaultdict(list)
    last: dict[str, dict | None] = {}
    for c in feed:
        if c["op"] == "delete":
            assert lives[c["id"]], c
            lives[c["id"]] = []
            last[c["id"]] = None
        else:
            versions = lives[c["id"]]
            assert c["event"]["version"] == len(versions) + 1, (c["id"], versions, c["event"]["version"])
            versions.append(c["event"]["version"])
            last[c["id"]] = c["event"]

    # every acknowledged write is present at its final version: the service holds the last one
    for event_id in POOL:
        status, raw = request(base, "GET", f"/api/v1/events/{event_id}")
        if last.get(event_id) is None:
            assert status == 404, event_id
        else:
            assert status == 200
            assert json.loads(raw) == last[event_id]

    # a revoked token fails at once in every worker
    for _ in range(4):
        assert request(base, "POST", "/api/v1/events/import?dry_run=true", [], tokens["doomed"])[0] == 200
    revoker = store_module.Store(db)
    try:
        revoker.revoke_token("doomed")
    finally:
        revoker.close()
    for _ in range(12):
        status, raw = request(base, "POST", "/api/v1/events/import?dry_run=true", [], tokens["doomed"])
        assert status == 401, raw

    log_text = log_path.read_text(errors="replace")
    assert "database is locked" not in log_text
    assert "Traceback" not in log_text
    assert tokens["load"] not in log_text and tokens["doomed"] not in log_text
    assert elapsed < 30


def test_a_slow_import_upload_does_not_block_other_writers(server):
    """An NDJSON import whose client sends slowly must not hold the write lock while it waits."""
    import http.client

    base, tokens, _log, _db = server
    host, port = base.removeprefix("http://").split(":")
    lines = [
        json.dumps({"id": f"slow-{i}", "date": "2021", "title": f"Slow {i}"}).encode() + b"\n"
        for i in range(3)
    ]
    body = b"".join(lines)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/events/import")
        conn.putheader("Content-Type", "application/x-ndjson")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Authorization", f"Bearer {tokens['load']}")
        conn.endheaders()
        conn.send(lines[0])
        time.sleep(0.5)  # the import is now reading its body
        outcome = {}

        def fast_write():
            started = time.monotonic()
            outcome["status"], outcome["raw"] = request(
                base,
                "POST",
                "/api/v1/events",
                {"id": "fast", "date": "2021", "title": "Fast"},
                tokens["load"],
            )
            outcome["waited"] = time.monotonic() - started

        writer = threading.Thread(target=fast_write)
        writer.start()
        time.sleep(3.0)
        conn.send(b"".join(lines[1:]))
        response = conn.getresponse()
        result = json.loads(response.read())
    finally:
        conn.close()
    writer.join(timeout=40)
    assert outcome["status"] == 201, outcome
    assert outcome["waited"] < 2.0, f"a write waited {outcome['waited']:.1f} s for a slow import upload"
    assert response.status == 200 and result["created"] == 3
