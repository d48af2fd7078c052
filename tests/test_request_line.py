"""Request lines up to 16 KiB are served (a 5,000-character q works), under gunicorn too."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    db = tmp_path_factory.mktemp("line") / "timeline.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, TIMELINE_DATABASE=str(db))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "service" / "gunicorn_conf.py"),
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "service:create_app()",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
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
