"""One problem+json shape for every error the app can answer with (RFC 9457)."""

from __future__ import annotations

import logging

import pytest


def assert_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("/problems/") and body["title"]
    assert response.headers["X-Request-ID"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "SELECT" not in text and "sqlite" not in text.lower()
    return body


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/nope", 404),
        ("GET", "/api/v1/nope", 404),
        ("GET", "/api/v1/events/missing", 404),
        ("DELETE", "/api/v1/events/histogram", 405),
        ("POST", "/api/v1/events/facets", 405),
        ("POST", "/healthz", 405),
        ("GET", "/api/v1/events?limit=0", 400),
        ("GET", "/api/v1/events/histogram?interval=fortnight", 400),
    ],
)
def test_every_error_is_a_problem(seeded_reader, method, path, status):
    assert_problem(seeded_reader.open(path, method=method), status)


def test_405_names_the_allowed_methods(seeded_reader):
    response = seeded_reader.post("/healthz")
    assert "GET" in response.headers["Allow"]


def test_unexpected_exception_is_logged_with_traceback_not_shown(app, caplog):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM events")

    with caplog.at_level(logging.ERROR, logger="service"):
        response = app.test_client().get("/boom")
    body = assert_problem(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_health_and_readiness(seeded_reader):
    assert seeded_reader.get("/healthz").json == {"status": "ok"}
    ready = seeded_reader.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ready"
