"""The benchmark harness stays alive (issue 7, point 4): a smoke run, not a timing test.

10,000 events built through the service's own import path, the service and the floor app
under gunicorn and Datasette on 127.0.0.1, one second of load on three queries; asserts
that every server answered and that the table was printed and written. No timing is
asserted: the figures of a smoke run on a shared machine mean nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benchmark harness in subprocesses

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def test_bench_harness_smoke(tmp_path):
    if not (shutil.which("datasette", path=str(VENV_BIN)) or shutil.which("datasette")):
        pytest.fail("datasette is not installed: it is a declared test dependency (pip install datasette)")
    out = tmp_path / "RESULTS.md"
    argv = [
        sys.executable,
        "-m",
        "bench.run",
        "--events",
        "10000",
        "--db",
        str(tmp_path / "bench.db"),
        "--duration",
        "1",
        "--windows",
        "20",
        "--out",
        str(out),
        "--import-events",
        "0",
        "--only",
        "window overlap",
        "--only",
        "event by id",
        "--only",
        "q rare word",
    ]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert table and table[0].startswith("| query | service req/s"), log[-4000:]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]] for line in table[1:]}
    assert set(rows) == {"window overlap", "event by id", "q rare word"}, rows
    # every server answered with a throughput figure (columns: service, floor, Datasette req/s)
    for name in ("window overlap", "event by id"):
        for col in (1, 4, 7):
            assert rows[name][col] not in ("—", "0"), (name, rows[name])
    assert rows["q rare word"][1] not in ("—", "0") and rows["q rare word"][7] not in ("—", "0"), rows
    for server in ("service", "floor", "datasette"):
        assert f" {server} " in proc.stdout, log[-4000:]
    assert not re.search(r"errors [1-9]", proc.stdout), log[-4000:]  # every request answered
    text = out.read_text()
    assert "| window overlap |" in text and "Machine:" in text and "datasette" in text

    # The WSGI cost tool runs on the same file, through the fast lane and without it.
    for extra in ([], ["--no-fast-lane"]):
        cost = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.wsgi_cost",
                "--db",
                str(tmp_path / "bench.db"),
                "--scenario",
                "window overlap",
                "--scenario",
                "event by id",
                *extra,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cost.returncode == 0, (cost.stdout + cost.stderr)[-4000:]
        lines = cost.stdout.splitlines()
        assert [line.split(":")[0] for line in lines] == ["window overlap", "event by id"], cost.stdout
        assert all(re.search(r": \d+\.\d{3} ms a request", line) for line in lines), cost.stdout


def test_import_cost_smoke():
    """bench.import_cost runs both stages on generated events and reports each one; the
    writer stage wrote every checked event (the tool itself exits 1 otherwise)."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.import_cost", "--events", "3000", "--all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert re.search(r"^validation alone: [\d.]+ s = [\d.]+ us an event \(check_item", proc.stdout, re.M), out
    assert re.search(
        r"^writer alone: [\d.]+ s = [\d,]+ events/s; .* 3,000 events written", proc.stdout, re.M
    ), out
    for section in ("while rows arrive", "after the last row"):
        assert f"  {section}: " in proc.stdout, out
    for statement in ("INSERT events_fts", "INSERT event_terms", "INSERT events", "COMMIT"):
        assert re.search(rf"^ +\d+\.\d\d s  {statement}$", proc.stdout, re.M), (statement, out)
    assert "the writer alone bounds the command at" in proc.stdout, out
