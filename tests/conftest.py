"""Shared fixtures: a real app on a real SQLite file, a live server, a real browser."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from factories import new_store

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO.parent / "shared" / "seeds" / "000_b6733ea8aba2a067.txt"
WRITE_TOKEN = "test-write-token-0123456789abcdef"


def _make_app(tmp_path: Path, seeded: bool, **extra):
    from service import create_app

    config = {"TESTING": True, "DATABASE": str(tmp_path / "timeline.db"), **extra}
    app = create_app(config)
    if seeded:
        from service import ingest

        with app.app_context():
            ingest.load_seed_dir(app)
    return app


@pytest.fixture
def app(tmp_path):
    return _make_app(tmp_path, seeded=False)


@pytest.fixture
def store(tmp_path):
    """A migrated store on a new database file of its own (no app)."""
    return new_store(tmp_path / "store.db")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded_app(tmp_path):
    return _make_app(tmp_path, seeded=True)


@pytest.fixture
def seeded_client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The real app, seeded, served over HTTP on 127.0.0.1 by a thread. Yields its base URL."""
    from werkzeug.serving import make_server

    app = _make_app(tmp_path_factory.mktemp("live"), seeded=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
