"""Request lines up to 16 KiB are served (a 5,000-character q works), under gunicorn too."""

from __future__ import annotations

import http.client
import os
import signal
from pathlib import Path

import pytest
from test_faults import _free_port, _start

REPO = Path(__file__).resolve().parents[1]
LIMIT = 16 * 1024


def _line(method: str, target: str) -> int:
    return len(f"{method} {target} HTTP/1.1")


def _target_of_length(total: int) -> str:
    base = "/api/v1/events?q=war&ignored="  # unknown parameters are ignored; q itself stops at 5,000
    return base + "a" * (total - _line("GET", base))


def test_a_long_q_is_served(seeded_reader):
    assert seeded_reader.get("/api/v1/events", query_string={"q": "war " * 1250}).status_code == 200


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("line")
    port = _free_port()
    proc = _start(directory / "timeline.db", port, directory / "gunicorn.log")
    try:
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


@pytest.mark.slow  # starts gunicorn
@pytest.mark.parametrize("length,status", [(8191, 200), (LIMIT, 200), (LIMIT + 1, 414)])
def test_gunicorn_serves_request_lines_up_to_16_kib(gunicorn_server, length, status):
    target = _target_of_length(length)
    assert _line("GET", target) == length
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn_server, timeout=10)
    conn.request("GET", target)
    response = conn.getresponse()
    body = response.read()
    assert response.status == status, body[:200]
    if status == 414:
        assert response.getheader("Content-Type") == "application/problem+json"
