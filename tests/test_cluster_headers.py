"""Section 9 of the contract on one node, in-process: X-Timeline-Seq, X-Timeline-Min-Seq,
Cache-Control and Vary, the replica role, readiness and storage faults as problems.
(tests/test_cluster.py runs the real cluster.)"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from service import auth, create_app
from service import store as store_module

EVENT = {"date": "2021-07-06", "title": "A cluster header test"}


def _token(app, name="writer"):
    token = auth.new_token()
    store_module.connect(app.config["DATABASE"]).add_token(name, "write", auth.hash_token(token))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def primary(tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "primary.db"), "CACHE_MAX_AGE": 7})


@pytest.fixture
def replica(primary, tmp_path):
    """A replica app on a copy of the primary's database (as Litestream would leave it)."""
    headers = _token(primary)
    primary.test_client().put("/api/v1/events/copied", json=EVENT, headers=headers)
    copy = tmp_path / "copy.db"
    source, target = sqlite3.connect(primary.config["DATABASE"]), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    (tmp_path / "copy.db-lag.json").write_text(
        json.dumps({"lag_seconds": 0.5, "checked_at": time.time(), "txid": 3})
    )
    app = create_app(
        {"TESTING": True, "DATABASE": str(copy), "ROLE": "replica", "PRIMARY": "http://primary.example:8000"}
    )
    yield app, headers
    store_module.close_all()


def test_every_answer_carries_the_nodes_seq_and_a_write_the_seq_it_reached(primary):
    client = primary.test_client()
    headers = _token(primary)
    first = client.get("/api/v1/events")
    assert first.headers["X-Timeline-Seq"] == "0"
    written = client.put("/api/v1/events/one", json=EVENT, headers=headers)
    assert written.status_code == 201 and written.headers["X-Timeline-Seq"] == "1"
    assert client.get("/no/such/path").headers["X-Timeline-Seq"] == "1"
    assert client.get("/api/v1/events/one", headers={"X-Timeline-Min-Seq": "1"}).status_code == 200


def test_cache_control_public_for_anonymous_reads_private_otherwise(primary):
    client = primary.test_client()
    headers = _token(primary)
    anonymous = client.get("/api/v1/events")
    assert (
        anonymous.headers["Cache-Control"]
        == "public, max-age=7, stale-while-revalidate=30, stale-if-error=86400"
    )
    assert anonymous.headers["ETag"]
    for name in ("Accept", "Accept-Encoding", "Authorization", "X-Timeline-Min-Seq"):
        assert name in anonymous.headers["Vary"]
    assert client.get("/api/v1/events", headers=headers).headers["Cache-Control"] == "private, no-store"
    write = client.put("/api/v1/events/two", json=EVENT, headers=headers)
    assert write.headers["Cache-Control"] == "private, no-store"
    refused = client.post("/api/v1/events", json=EVENT)  # 401, a write
    assert refused.headers["Cache-Control"] == "private, no-store"
    assert client.get("/readyz").headers["Cache-Control"] == "private, no-store"
    bad = client.get("/api/v1/events?limit=0")
    assert bad.status_code == 400 and bad.headers["Cache-Control"] == "private, no-store"
    gz = client.get("/api/v1/events", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Vary"].count("Accept-Encoding") == 1


def test_min_seq_on_a_primary_that_lacks_it_is_a_412_after_the_wait(primary):
    client = primary.test_client()
    started = time.monotonic()
    response = client.get("/api/v1/events", headers={"X-Timeline-Min-Seq": "5"})
    assert 1.9 < time.monotonic() - started < 3.5
    assert response.status_code == 412
    assert response.get_json()["type"] == "/problems/seq-not-reached"
    assert response.headers["Retry-After"] == "1"
    assert client.get("/api/v1/events", headers={"X-Timeline-Min-Seq": "-1"}).status_code == 400


def test_a_replica_redirects_writes_and_serves_reads_read_only(replica):
    app, headers = replica
    client = app.test_client()
    read = client.get("/api/v1/events/copied")
    assert read.status_code == 200 and read.headers["X-Timeline-Seq"] == "1"
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/events/copied?x=1", json=EVENT, headers=headers)
        assert response.status_code == 307
        assert response.headers["Location"] == "http://primary.example:8000/api/v1/events/copied?x=1"
        assert response.get_json()["type"] == "/problems/read-only-replica"
        assert response.headers["Cache-Control"] == "private, no-store"
    ready = client.get("/readyz").get_json()
    assert ready["role"] == "replica" and ready["seq"] == 1 and ready["lag_seconds"] >= 0.5
    store = store_module.connect(app.config["DATABASE"])
    assert store.read_only
    with pytest.raises(sqlite3.OperationalError):
        store.conn.execute("DELETE FROM events")


def test_a_replica_too_far_behind_sends_reads_to_the_primary(replica, tmp_path):
    app, _ = replica
    (tmp_path / "copy.db-lag.json").write_text(
        json.dumps({"lag_seconds": 60, "checked_at": time.time(), "txid": 3})
    )
    client = app.test_client()
    response = client.get("/api/v1/events?limit=3")
    assert response.status_code == 307
    assert response.headers["Location"] == "http://primary.example:8000/api/v1/events?limit=3"
    assert response.get_json()["type"] == "/problems/replica-behind"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["role"] == "replica"


def test_readiness_of_a_primary_that_cannot_write(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "MIN_FREE_BYTES": 1 << 62})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["type"] == "/problems/not-ready" and body["role"] == "primary" and "free" in body["detail"]
    ok = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db")}).test_client().get("/readyz")
    assert ok.status_code == 200
    assert ok.get_json() == {
        "status": "ready",
        "role": "primary",
        "seq": 0,
        "lag_seconds": 0.0,
        "schema_version": store_module.SCHEMA_VERSION,
    }


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        (13, "database or disk is full", 507, "storage-full"),
        (8, "attempt to write a readonly database", 503, "storage-read-only"),
        (10, "disk I/O error", 503, "storage-unavailable"),
        (5, "database is locked", 503, "busy"),
    ],
)
def test_storage_faults_are_problems_that_name_the_cause(primary, monkeypatch, code, message, status, kind):
    headers = _token(primary)

    def fail(*args, **kwargs):
        exc = sqlite3.OperationalError(message)
        exc.sqlite_errorcode = code
        raise exc

    monkeypatch.setattr(store_module.Store, "upsert_event", fail)
    response = primary.test_client().put("/api/v1/events/x", json=EVENT, headers=headers)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == f"/problems/{kind}" and "sqlite" not in response.get_data(as_text=True).lower()
    assert response.headers["Retry-After"]
    if kind != "busy":
        assert primary.test_client().get("/readyz").status_code == 503  # a fault in the last 5 s


def test_a_write_waits_for_the_lock_only_as_configured(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "WRITE_LOCK_WAIT_MS": 300})
    headers = _token(app)
    holder = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store_module.close_all()  # connections opened from now on wait 300 ms
        started = time.monotonic()
        response = app.test_client().put("/api/v1/events/waits", json=EVENT, headers=headers)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503 and response.get_json()["type"] == "/problems/busy"
    assert response.headers["Retry-After"] == "2"
    assert 0.25 < waited < 1.0
    assert app.test_client().put("/api/v1/events/waits", json=EVENT, headers=headers).status_code == 201
