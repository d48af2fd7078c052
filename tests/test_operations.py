"""Operations: readiness fails when it should, and `timeline backup` makes a consistent copy
while the service is serving writes, from which the service restores."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time

import orjson
import pytest
from factories import make_token

from service import create_app, ingest
from service import store as store_module
from service.cli import main

TOKEN = "tl_operations-token-0123456789abcdefABCDEFGH"


def test_readyz_ready(seeded_reader):
    response = seeded_reader.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"
    assert response.get_json()["schema_version"] == store_module.SCHEMA_VERSION


def test_readyz_503_when_the_database_is_unreachable(app, tmp_path):
    app.config["DATABASE"] = str(tmp_path / "no-such-dir" / "timeline.db")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/not-ready"
    assert "no-such-dir" not in response.get_data(as_text=True)  # no paths leak


def test_readyz_503_when_the_schema_is_behind(app):
    store = store_module.connect(app.config["DATABASE"])
    store.conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(store_module.SCHEMA_VERSION - 1),)
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/not-ready"
    assert "schema" in response.get_json()["detail"]
    assert app.test_client().get("/healthz").status_code == 200  # alive, just not ready


def test_readyz_503_when_the_database_is_not_a_database(app, tmp_path):
    bogus = tmp_path / "garbage.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    app.config["DATABASE"] = str(bogus)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503


def _events(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT id, version FROM events"))
    finally:
        conn.close()


def test_backup_while_serving_writes_and_restore(tmp_path, live_server_factory):
    base, app = live_server_factory(tmp_path / "live")
    make_token(app, "ops", token=TOKEN)
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    stop = threading.Event()
    written: list[str] = []
    errors: list[str] = []

    def writer():
        i = 0
        while not stop.is_set():
            response = session.put(
                f"{base}/api/v1/events/ops-{i}", json={"date": "2021-07", "title": f"Ops {i}"}
            )
            if response.status_code not in (200, 201):
                errors.append(f"{response.status_code} {response.text[:200]}")
            written.append(f"ops-{i}")
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        backup = tmp_path / "backup.db"
        result = app.test_cli_runner().invoke(main, ["backup", str(backup)])
        assert result.exit_code == 0, result.output
        assert "backed up" in result.output
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors
    copied = _events(backup)
    live = _events(app.config["DATABASE"])
    assert 20 <= sum(k.startswith("ops-") for k in copied) <= len(written)
    assert len(live) > len(copied) or live == copied
    # consistent: the copy's change feed replays to exactly the copy's events
    conn = sqlite3.connect(backup)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    replayed: dict[str, int] = {}
    copy = store_module.Store(str(backup))
    for _seq, op, event_id, _at, doc in copy.changes(0, 10**9):
        if op == "delete":
            replayed.pop(event_id, None)
        else:
            replayed[event_id] = orjson.loads(doc)["version"]
    copy.close()
    assert replayed == copied
    # a second backup to the same path needs --force
    again = app.test_cli_runner().invoke(main, ["backup", str(backup)])
    assert again.exit_code != 0 and "--force" in again.output

    # restore: a new service on the copy serves exactly the copied events
    restored_path = tmp_path / "restored" / "timeline.db"
    restored_path.parent.mkdir()
    shutil.copy(backup, restored_path)
    restored = create_app({"TESTING": True, "DATABASE": str(restored_path)})
    client = restored.test_client()
    assert client.get("/readyz").status_code == 200
    ids = set()
    url = "/api/v1/events?limit=500"
    while url:
        page = client.get(url).get_json()
        ids.update(item["id"] for item in page["items"])
        url = f"/api/v1/events?limit=500&cursor={page['next']}" if page["next"] else None
    assert ids == set(copied)
    some = sorted(k for k in copied if k.startswith("ops-"))[0]
    assert client.get(f"/api/v1/events/{some}").get_json()["version"] == copied[some]


@pytest.fixture
def live_server_factory():
    servers = []

    def start(directory):
        from werkzeug.serving import make_server

        directory.mkdir(parents=True, exist_ok=True)
        app = create_app(
            {"TESTING": True, "DATABASE": str(directory / "timeline.db"), "WRITE_RATE_PER_MINUTE": 0}
        )
        with app.app_context():
            ingest.load_seed_dir(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", app

    yield start
    for server in servers:
        server.shutdown()
