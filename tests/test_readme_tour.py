"""The README's quick tour, run as written against `timeline serve`, so it cannot rot.

The commands are taken from the fenced block after the ``<!-- quick-tour`` marker and run
in order by bash, from a directory laid out as a checkout is (``.venv/bin/timeline``,
``docs/examples/``), where the server was started, as the README says. Only the port
changes. Every curl must get a 2xx answer (``--fail-with-body``) and every command must
exit 0.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_gunicorn_start import serve

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TIMELINE = Path(sys.executable).with_name("timeline")


def tour_commands() -> str:
    text = README.read_text("utf-8")
    _, marker, rest = text.partition("<!-- quick-tour")
    assert marker, "README.md has no <!-- quick-tour --> marker before the tour's code block"
    match = re.search(r"```sh\n(.*?)```", rest, re.S)
    assert match, "no ```sh block after the quick-tour marker"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


def test_the_tour_names_the_cli_by_its_path_and_files_that_exist():
    script = tour_commands()
    for line in script.splitlines():
        if not line.lstrip().startswith("#"):
            assert not re.search(r"(^|[\s(])timeline\s", line), f"bare `timeline` (not on PATH): {line}"
    files = re.findall(r"@([\w./-]+)", script)
    assert files, "the tour imports no file"
    for name in files:
        assert (REPO / name).is_file(), f"the tour names {name}, which is not in the repository"


@pytest.mark.slow  # timeline serve and curl in subprocesses
def test_every_command_of_the_quick_tour_works_in_order(tmp_path):
    script = tour_commands()
    assert "127.0.0.1:8000" in script
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # A checkout's layout: the console script under .venv/bin, the example files under docs/.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "timeline").symlink_to(TIMELINE)
    (tmp_path / "docs").symlink_to(REPO / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")}
    env.update(TIMELINE_LOG_LEVEL="WARNING", TIMELINE_WORKERS="1")
    server = serve(tmp_path, port, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(base, "/readyz")
                break
            except OSError:
                assert server.poll() is None, "timeline serve exited"
                assert time.monotonic() < deadline, "timeline serve did not become ready"
                time.sleep(0.1)
        prelude = 'set -euo pipefail\nset -x\ncurl() { command curl --fail-with-body -sS "$@"; echo; }\n'
        run = subprocess.run(
            ["bash", "-c", prelude + script.replace("http://127.0.0.1:8000", base)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, f"the tour failed at the last command below:\n{run.stderr[-3000:]}"
        # what the tour did is there
        patched = get(base, "/api/v1/events/2021-07-05-security-meeting-in-dushanbe")
        assert patched["importance"] == 4 and patched["summary"] is None
        examples = [
            json.loads(line) for line in (REPO / "docs/examples/events.ndjson").read_text().splitlines()
        ]
        for item in examples:
            assert get(base, f"/api/v1/events/{item['id']}")["title"] == item["title"]
        assert '"dry_run":true' in run.stdout and f'"created":{len(examples)}' in run.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    # the token made on the way was the server's (it worked) and was revoked at the end
    listed = subprocess.run(
        [str(TIMELINE), "tokens", "list"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0 and listed.stdout == "", listed.stdout + listed.stderr
