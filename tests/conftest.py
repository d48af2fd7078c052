"""Shared fixtures: a real app on a real SQLite file, a live server, a real browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import headers_for, make_app, new_store, serving

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test under tests/browser drives a real browser: marked slow, whichever file it is in."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


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
    return make_app(tmp_path, seeded=True)


@pytest.fixture
def seeded_client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture
def auth_headers(app):
    """Headers with a new write token of ``app``."""
    return headers_for(app)


@pytest.fixture
def seeded_headers(seeded_app):
    """Headers with a new write token of ``seeded_app``."""
    return headers_for(seeded_app)


@pytest.fixture(scope="session")
def seeded_reader(tmp_path_factory):
    """A client of one seeded app that every test which only reads shares (building an app
    costs more than most tests): never write through it."""
    return make_app(tmp_path_factory.mktemp("seeded-reader"), seeded=True).test_client()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The real app, seeded, served over HTTP on 127.0.0.1 by a thread. Yields its base URL."""
    from werkzeug.serving import make_server

    app = make_app(tmp_path_factory.mktemp("live"), seeded=True)
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


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
