"""The `timeline` command line: tokens, help texts, and the README naming every command."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import click
import click.testing
import pytest
from factories import dump

from service.cli import main

REPO = Path(__file__).resolve().parents[1]
EVENT = {"id": "e1", "date": "2021-07-02", "title": "T"}


def create_token(runner, name="t1", scope="write") -> str:
    r = runner.invoke(main, ["tokens", "create", name, "--scope", scope])
    assert r.exit_code == 0, r.output
    return r.stdout.splitlines()[0]


def entropy_bits(token: str) -> float:
    counts = Counter(token)
    return -sum(c / len(token) * math.log2(c / len(token)) for c in counts.values()) * len(token)


# --------------------------------------------------------------------------- tokens


def test_tokens_create_prints_a_high_entropy_token_once(app, runner):
    r = runner.invoke(main, ["tokens", "create", "bot", "--scope", "write"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert len(token) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert entropy_bits(token) > 128
    others = {create_token(runner, f"bot{i}") for i in range(5)}
    assert token not in others and len(others) == 5
    # only a hash is stored
    assert token not in dump(app)
    listing = runner.invoke(main, ["tokens", "list"])
    assert token not in listing.output


def test_tokens_are_accepted_by_scope(app, client, runner):
    read, write, admin = (create_token(runner, s, s) for s in ("read", "write", "admin"))
    for token, status in ((read, 403), (write, 201), (admin, 409)):
        r = client.post("/api/v1/events", json=EVENT, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, r.get_data(as_text=True)


def test_tokens_create_refuses_a_duplicate_name_and_bad_scope(runner):
    create_token(runner, "bot")
    r = runner.invoke(main, ["tokens", "create", "bot"])
    assert r.exit_code != 0 and "bot" in r.output and r.stdout.strip() == ""
    r = runner.invoke(main, ["tokens", "create", "x", "--scope", "root"])
    assert r.exit_code != 0


def test_tokens_list_shows_name_scope_created_last_used_never_the_secret(app, client, runner):
    used = create_token(runner, "used-one", "admin")
    unused = create_token(runner, "idle-one", "read")
    assert (
        client.post("/api/v1/events", json=EVENT, headers={"Authorization": f"Bearer {used}"}).status_code
        == 201
    )
    out = runner.invoke(main, ["tokens", "list"])
    assert out.exit_code == 0
    text = out.output
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert set(lines) == {"used-one", "idle-one"}
    assert "admin" in lines["used-one"] and "read" in lines["idle-one"]
    assert re.search(r"created \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines["idle-one"])
    assert re.search(r"last used \d{4}-\d\d-\d\dT", lines["used-one"])
    assert "last used never" in lines["idle-one"]
    conn = sqlite3.connect(app.config["DATABASE"])
    hashes = [r[0] for r in conn.execute("SELECT hash FROM tokens")]
    conn.close()
    for secret in [used, unused, *hashes]:
        assert secret not in text
        assert secret[:16] not in text


def test_tokens_revoke_takes_effect_on_the_next_request(client, runner):
    token = create_token(runner, "bot")
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/events", json=EVENT, headers=h).status_code == 201
    r = runner.invoke(main, ["tokens", "revoke", "bot"])
    assert r.exit_code == 0 and "revoked" in r.output
    after = client.patch("/api/v1/events/e1", json={"title": "x"}, headers=h)
    assert after.status_code == 401 and after.headers["WWW-Authenticate"].startswith("Bearer")
    assert "bot" not in runner.invoke(main, ["tokens", "list"]).stdout
    again = runner.invoke(main, ["tokens", "revoke", "bot"])
    assert again.exit_code != 0 and "bot" in again.output
    # the name can be used again, with a new secret
    assert create_token(runner, "bot") != token


def test_tokens_never_appear_in_logs(app, client, runner, caplog):
    token = create_token(runner, "bot")
    with caplog.at_level(logging.DEBUG):
        client.post("/api/v1/events", json=EVENT, headers={"Authorization": f"Bearer {token}"})
        client.post("/api/v1/events", json=EVENT, headers={"Authorization": f"Bearer {token}x"})
        client.post("/api/v1/events", json=EVENT, headers={"Authorization": f"Basic {token}"})
    assert caplog.records  # the access log ran
    assert token not in caplog.text


def script(name: str, *args: str, env: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """An installed console script (``timeline``, ``flask``) of this environment, run to its end."""
    command = [str(Path(sys.executable).with_name(name)), *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # runs the console script in subprocesses
def test_console_script_end_to_end(tmp_path):
    """The installed `timeline` script: create a token in a fresh database, list it, revoke it."""
    env = dict(os.environ, TIMELINE_DATABASE=str(tmp_path / "cli.db"))
    r = script("timeline", "tokens", "create", "ci", "--scope", "read", "--create", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"timeline: database {tmp_path / 'cli.db'}" in r.stderr.splitlines()
    token = r.stdout.strip()
    assert len(token) >= 32 and "\n" not in token
    listed = script("timeline", "tokens", "list", env=env)
    assert "ci" in listed.stdout and "read" in listed.stdout and token not in listed.stdout + listed.stderr
    revoked = script("timeline", "tokens", "revoke", "ci", env=env)
    assert revoked.returncode == 0
    missing = script("timeline", "tokens", "revoke", "ci", env=env)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr


# --------------------------------------------------------------------------- which database


def run_cli(args, db: Path, **env):
    """``timeline ARGS`` in this process, TIMELINE_DATABASE=db, as the console script runs it
    (no test app: the command makes its own)."""
    return click.testing.CliRunner().invoke(main, args, env={"TIMELINE_DATABASE": str(db), **env})


NEEDS_DATABASE = [
    ["tokens", "create", "bot"],
    ["tokens", "list"],
    ["tokens", "revoke", "bot"],
    ["import", str(REPO / "docs" / "examples" / "events.ndjson")],
    ["export"],
    ["backup", "copy.db"],
]


@pytest.mark.parametrize("args", NEEDS_DATABASE, ids=" ".join)
def test_a_command_refuses_to_create_a_missing_database_without_create(tmp_path, args):
    db = tmp_path / "elsewhere" / "timeline.db"
    db.parent.mkdir()
    r = run_cli(args, db)
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1, r.stderr  # one line
    assert f"no database at {db}" in r.stderr and "--create" in r.stderr and "TIMELINE_DATABASE" in r.stderr
    assert os.listdir(db.parent) == []


def test_create_makes_the_database_and_every_command_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "new.db"
    said = f"timeline: database {db}"
    r = run_cli(["tokens", "create", "bot", "--create"], db)
    assert r.exit_code == 0, r.output
    assert db.exists() and said in r.stderr.splitlines()
    for args in NEEDS_DATABASE[1:] + [["seed"]]:
        r = run_cli(args, db)
        assert r.exit_code == 0, (args, r.output)
        assert r.stderr.splitlines()[0] == said, (args, r.stderr)


def test_seed_may_create_the_database(tmp_path):
    db = tmp_path / "fresh.db"
    r = run_cli(["seed"], db)
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [f"timeline: database {db}"]
    seeded = len(json.loads((REPO / "seed" / "events.json").read_text("utf-8")))
    assert f"events created {seeded}," in r.stdout


def test_a_bad_setting_is_one_line_not_a_traceback(tmp_path):
    r = run_cli(["tokens", "list"], tmp_path / "x.db", TIMELINE_EXPORT_CAP="many")
    assert r.exit_code == 1 and "TIMELINE_EXPORT_CAP must be an integer" in r.stderr
    assert "Traceback" not in r.output


def test_help_and_version_make_no_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["--help"], ["tokens", "--help"], ["import", "--help"], ["--version"]):
        assert run_cli(args, tmp_path / "timeline.db").exit_code == 0
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- help texts


def test_version_is_the_package_version():
    from importlib.metadata import version

    r = click.testing.CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0
    assert r.stdout == f"timeline {version('timeline-service')}\n"
    assert "Flask" not in r.stdout and "Werkzeug" not in r.stdout


def test_help_has_no_flask_boilerplate():
    text = click.testing.CliRunner().invoke(main, ["--help"]).stdout
    for flask_option in ("--env-file", "--app", "--debug", "python-dotenv", "Flask"):
        assert flask_option not in text, flask_option
    assert "--version" in text and "TIMELINE_DATABASE" in text and "--create" in text


@pytest.mark.slow  # runs the console scripts in subprocesses
def test_flask_cli_has_the_same_commands(tmp_path):
    """The contract: `flask --app service ...` works as well as `timeline ...`."""
    env = dict(os.environ, TIMELINE_DATABASE=str(tmp_path / "f.db"))
    r = script("flask", "--app", "service", "tokens", "create", "via-flask", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    listed = script("timeline", "tokens", "list", env=env)
    assert listed.stdout.startswith("via-flask\t"), listed.stderr


def _commands(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


COMMANDS = list(_commands(main))


def test_the_contract_commands_exist():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {
        "serve",
        "seed",
        "import",
        "export",
        "tokens",
        "tokens create",
        "tokens list",
        "tokens revoke",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS] + [()], ids=lambda p: " ".join(p) or "timeline")
def test_every_command_has_help_with_an_example(runner, path):
    r = runner.invoke(main, [*path, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output
    assert "Example" in r.output, f"`timeline {' '.join(path)} --help` gives no example:\n{r.output}"
    assert len(r.output.strip().splitlines()) >= 4


def test_readme_mentions_every_command():
    """The README documents each command that exists (checked against the CLI itself)."""
    readme = (REPO / "README.md").read_text("utf-8")
    missing = [
        " ".join(path)
        for path, _ in COMMANDS
        if f"timeline {' '.join(path)}" not in readme
        and not (len(path) == 2 and f"{path[0]} {path[1]}" in readme)
    ]
    assert not missing, f"README.md does not mention: {missing}"
