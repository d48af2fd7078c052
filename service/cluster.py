"""``timeline cluster``: the whole topology of API.md section 9 on one machine.

The primary (``timeline serve`` on ``TIMELINE_DATABASE``) and ``litestream replicate`` to
``TIMELINE_REPLICA_URL`` (default ``file://DIR/replica``), N replicas (``litestream
restore -f`` into ``DIR/replica-I/timeline.db`` and gunicorn in the replica role on it), and
nginx on ``--port`` in front, from the same ``deploy/`` files a real deployment uses. Every
process runs on 127.0.0.1 (nginx on ``--host``) in its own process group, and is started
again if it dies while the cluster runs; ``DIR/cluster.json`` says where everything is::

    {"proxy": URL, "primary": {"url": URL, "pids": [...]}, "replicas": [{"url": URL, "pids": [...]}]}

Ports: nginx on P, the primary on P+1, replica I (from 0) on P+2+I. Each ``pids`` entry
leads a process group (gunicorn's master with its workers, litestream): ``kill -9 -PID``
is that process dying with everything it started.

``python -m service.cluster proxy ...`` renders the same nginx template for a proxy whose
nodes run elsewhere (docker-compose.yml) and runs nginx in the foreground.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import replication

log = logging.getLogger("service.cluster")

# Streamed exports (ndjson, csv, geojson) one nginx lets run at once.
MAX_EXPORTS = 4
RESTART_DELAY = 1.0


def nginx_binary() -> str:
    for candidate in (os.environ.get("TIMELINE_NGINX"), "/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise replication.ReplicationError("nginx is not installed (Debian: apt-get install nginx)")


def render_nginx(
    *,
    listen: str,
    primary: str,
    replicas: list[str],
    directory: Path,
    max_exports: int = MAX_EXPORTS,
    max_body: int = 64 * 1024 * 1024,
    workers: int | str = "auto",
) -> str:
    """deploy/nginx.conf with its @@NAME@@ fields filled in; makes the directories it names."""
    for sub in (
        "logs",
        "nginx/body",
        "nginx/proxy",
        "nginx/fastcgi",
        "nginx/uwsgi",
        "nginx/scgi",
        "nginx/cache",
    ):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    if replicas:
        servers = [f"        server {r} max_fails=1 fail_timeout=2s;" for r in replicas]
        servers.append(f"        server {primary} backup;")
    else:
        servers = [f"        server {primary};"]
    user = ""
    if os.geteuid() == 0:  # workers would otherwise drop to 'nobody', who cannot write DIR
        import grp
        import pwd

        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};"
    fields = {
        "USER": user,
        "WORKERS": str(workers),
        "DIR": str(directory.resolve()),
        "MAX_BODY": str(max_body),
        "PRIMARY": primary,
        "REPLICA_SERVERS": "\n".join(servers),
        "MAX_EXPORTS": str(max_exports),
        "LISTEN": listen,
    }
    text = (replication.deploy_dir() / "nginx.conf").read_text()
    for name, value in fields.items():
        text = text.replace(f"@@{name}@@", value)
    if "@@" in text:
        raise ValueError("deploy/nginx.conf has a field this renderer does not know")
    return text


def nginx_argv(conf: Path, directory: Path) -> list[str]:
    return [
        nginx_binary(),
        "-p",
        str(directory / "nginx"),
        "-c",
        str(conf),
        "-e",
        str(directory / "logs" / "nginx-error.log"),
        "-g",
        "daemon off;",
    ]


def gunicorn_argv(bind: str, workers: int | None) -> list[str]:
    """gunicorn with service/gunicorn_conf.py on ``bind`` (host:port or fd://N), without the app."""
    conf = Path(__file__).with_name("gunicorn_conf.py")
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "--bind", bind]
    return argv + (["--workers", str(workers)] if workers else [])


def wait_http(url: str, timeout: float, ok=(200,)) -> bool:
    """Poll ``url`` until it answers one of ``ok`` (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status in ok:
                    return True
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    return False


@dataclass
class Proc:
    """One supervised process: how to start it, and the running one."""

    name: str
    start: object  # () -> subprocess.Popen
    popen: subprocess.Popen | None = None
    died_at: float | None = None

    def run(self) -> None:
        self.popen = self.start()
        self.died_at = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def signal(self, sig: int) -> None:
        if self.popen and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass


@dataclass
class Node:
    url: str
    procs: list[Proc] = field(default_factory=list)
    monitor: replication.LagMonitor | None = None

    def as_json(self) -> dict:
        return {"url": self.url, "pids": [p.pid for p in self.procs if p.pid]}


class Cluster:
    def __init__(
        self,
        directory: str | Path,
        replicas: int = 2,
        port: int = 8080,
        host: str = "127.0.0.1",
        database: str | None = None,
        replica_url: str | None = None,
        workers: int | None = None,
        max_exports: int = MAX_EXPORTS,
        env: dict[str, str] | None = None,
    ):
        self.dir = Path(directory).resolve()
        self.replica_count = replicas
        self.port = port
        self.host = host
        self.env = dict(os.environ if env is None else env)
        self.database = os.path.abspath(database or self.env.get("TIMELINE_DATABASE") or "timeline.db")
        # Replicas need a replica URL (a directory under DIR unless one is given); with none,
        # Litestream runs only when TIMELINE_REPLICA_URL asks for a streamed backup.
        self.replica_url = replica_url or self.env.get("TIMELINE_REPLICA_URL") or None
        if self.replica_url is None and replicas:
            self.replica_url = f"file://{self.dir / 'replica'}"
        self.workers = workers
        self.max_exports = max_exports
        self.primary: Node | None = None
        self.replicas: list[Node] = []
        self.proxy: Proc | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- layout

    @property
    def proxy_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def node_port(self, index: int | None) -> int:
        """The primary (None) on P+1, replica I on P+2+I."""
        return self.port + 1 if index is None else self.port + 2 + index

    def log_file(self, name: str):
        return open(self.dir / "logs" / f"{name}.log", "ab", buffering=0)

    def write_json(self) -> None:
        data = {
            "proxy": self.proxy_url,
            "primary": self.primary.as_json() if self.primary else None,
            "replicas": [r.as_json() for r in self.replicas],
        }
        path = self.dir / "cluster.json"
        partial = path.with_name("cluster.json.partial")
        partial.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(partial, path)

    # ----------------------------------------------------------------- processes

    def _popen(self, argv, name, env=None) -> subprocess.Popen:
        return subprocess.Popen(
            argv,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def primary_env(self) -> dict[str, str]:
        return dict(
            self.env,
            TIMELINE_DATABASE=self.database,
            TIMELINE_ROLE="primary",
            TIMELINE_REPLICA_URL=self.replica_url or "",
        )

    def replica_env(self, copy: str) -> dict[str, str]:
        return dict(
            self.env,
            TIMELINE_DATABASE=copy,
            TIMELINE_ROLE="replica",
            TIMELINE_REPLICA_URL=self.replica_url,
            TIMELINE_PRIMARY=self.primary.url if self.primary else "",
        )

    def start_primary(self) -> Node:
        port = self.node_port(None)
        url = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-c", "from service.cli import main; main()", "serve"]
        serve += ["--host", "127.0.0.1", "--port", str(port)]
        serve += ["--workers", str(self.workers)] if self.workers else []
        app = Proc("primary", lambda: self._popen(serve, "primary", self.primary_env()))
        app.run()
        if not wait_http(url + "/readyz", 300):
            raise RuntimeError(f"the primary did not become ready; see {self.dir / 'logs' / 'primary.log'}")
        procs = [app]
        if self.replica_url:
            litestream = Proc(
                "replicate",
                lambda: replication.start_replicate(
                    self.database, self.replica_url, self.log_file("replicate")
                ),
            )
            litestream.run()
            procs.append(litestream)
        self.primary = Node(url, procs)
        return self.primary

    def copy_path(self, index: int) -> str:
        return str(self.dir / f"replica-{index}" / "timeline.db")

    def start_replica(self, index: int) -> Node:
        copy = self.copy_path(index)
        port = self.node_port(index)
        url = f"http://127.0.0.1:{port}"
        follow = Proc(
            f"follow-{index}",
            lambda: replication.start_following(self.replica_url, copy, self.log_file(f"follow-{index}")),
        )
        follow.run()
        monitor = replication.LagMonitor(self.replica_url, copy).start()
        argv = gunicorn_argv(f"127.0.0.1:{port}", self.workers) + ["service:create_app()"]
        app = Proc(f"replica-{index}", lambda: self._popen(argv, f"replica-{index}", self.replica_env(copy)))
        app.run()
        node = Node(url, [app, follow], monitor)
        if not wait_http(url + "/healthz", 120):
            raise RuntimeError(f"replica {index} did not start; see logs/replica-{index}.log")
        return node

    def start_proxy(self) -> Proc:
        conf = self.dir / "nginx.conf"
        conf.write_text(
            render_nginx(
                listen=f"{self.host}:{self.port}",
                primary=self.primary.url.removeprefix("http://"),
                replicas=[r.url.removeprefix("http://") for r in self.replicas],
                directory=self.dir,
                max_exports=self.max_exports,
                workers=1,
            )
        )
        proxy = Proc("nginx", lambda: self._popen(nginx_argv(conf, self.dir), "nginx"))
        proxy.run()
        if not wait_http(self.proxy_url + "/healthz", 30):
            raise RuntimeError(f"nginx did not start; see {self.dir / 'logs'}")
        self.proxy = proxy
        return proxy

    def start(self) -> Cluster:
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            self.start_primary()
            self.write_json()
            for index in range(self.replica_count):
                self.replicas.append(self.start_replica(index))
                self.write_json()
            self.start_proxy()
            self.write_json()
        except BaseException:
            self.stop()
            raise
        return self

    # ----------------------------------------------------------------- supervision

    def nodes(self) -> list[Node]:
        return ([self.primary] if self.primary else []) + self.replicas

    def all_procs(self) -> list[Proc]:
        procs = [p for node in self.nodes() for p in node.procs]
        return procs + ([self.proxy] if self.proxy else [])

    def supervise_once(self) -> list[str]:
        """Start again every process that died (after RESTART_DELAY); names of those restarted."""
        restarted = []
        with self._lock:
            for proc in self.all_procs():
                if self._stopping.is_set() or proc.popen is None or proc.popen.poll() is None:
                    continue
                now = time.monotonic()
                if proc.died_at is None:
                    proc.died_at = now
                    log.warning("%s (pid %s) exited with %s", proc.name, proc.pid, proc.popen.returncode)
                    continue
                if now - proc.died_at >= RESTART_DELAY:
                    try:
                        proc.run()
                        restarted.append(proc.name)
                    except Exception as exc:  # noqa: BLE001 - tried again at the next round
                        log.warning("could not start %s again: %s", proc.name, exc)
                        proc.died_at = now
            if restarted:
                self.write_json()
        return restarted

    def run_forever(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stopping.set())
        while not self._stopping.is_set():
            self.supervise_once()
            self._stopping.wait(0.25)
        self.stop()

    def stop(self) -> None:
        """nginx, then the replicas, then the primary and last litestream replicate (which
        ships what is left); SIGKILL for any process group still there after 15 s."""
        self._stopping.set()
        with self._lock:
            order = ([self.proxy] if self.proxy else []) + [p for r in self.replicas for p in r.procs]
            if self.primary:
                order += self.primary.procs
            for node in self.replicas:
                if node.monitor:
                    node.monitor.stop()
            for proc in order:
                proc.signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in order:
                if proc.popen is None:
                    continue
                try:
                    proc.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                proc.signal(signal.SIGKILL)
                try:
                    proc.popen.wait(5)
                except subprocess.TimeoutExpired:
                    pass


# --------------------------------------------------------------------------- one replica


def serve_replica(copy: str, replica_url: str, gunicorn_cmd: list[str], env: dict, pass_fds=()) -> int:
    """``timeline serve --replica``: follow ``replica_url`` into ``copy``, watch the lag, and
    run gunicorn in the replica role on it until gunicorn ends or SIGTERM/SIGINT; a follower
    that dies is started again. Returns gunicorn's exit status."""
    follow = Proc("follow", lambda: replication.start_following(replica_url, copy))
    follow.run()
    monitor = replication.LagMonitor(replica_url, copy).start()
    app = Proc(
        "gunicorn",
        lambda: subprocess.Popen(gunicorn_cmd, env=env, pass_fds=pass_fds, start_new_session=True),
    )
    app.run()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        while not stopping.is_set() and app.popen.poll() is None:
            if follow.popen.poll() is not None:
                log.warning(
                    "litestream restore -f exited with %s; starting it again", follow.popen.returncode
                )
                stopping.wait(RESTART_DELAY)
                follow.run()
            stopping.wait(0.25)
    finally:
        app.signal(signal.SIGTERM)
        try:
            app.popen.wait(35)
        except subprocess.TimeoutExpired:
            app.signal(signal.SIGKILL)
        monitor.stop()
        replication.stop(follow.popen)
    return app.popen.returncode or 0


# --------------------------------------------------------------------------- the proxy alone


def proxy_main(argv: list[str] | None = None) -> None:
    """``python -m service.cluster proxy --listen 0.0.0.0:8080 --primary primary:8000
    --replica replica1:8000 ...``: render deploy/nginx.conf and exec nginx in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m service.cluster proxy")
    parser.add_argument("--listen", default="0.0.0.0:8080")
    parser.add_argument("--primary", required=True, help="host:port of the primary")
    parser.add_argument("--replica", action="append", default=[], help="host:port of a replica (repeat)")
    parser.add_argument("--dir", default="/var/cache/timeline-proxy")
    parser.add_argument("--max-exports", type=int, default=MAX_EXPORTS)
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    conf = directory / "nginx.conf"
    directory.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        render_nginx(
            listen=args.listen,
            primary=args.primary,
            replicas=args.replica,
            directory=directory,
            max_exports=args.max_exports,
        )
    )
    argv = nginx_argv(conf, directory)
    os.execv(argv[0], argv)


def run(replicas: int, port: int, directory: str, host: str = "127.0.0.1", **options) -> None:
    """Start the cluster, say where it is, supervise it until SIGTERM/SIGINT, stop it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cluster = Cluster(directory, replicas=replicas, port=port, host=host, **options)
    cluster.start()
    print(
        f"cluster up: proxy {cluster.proxy_url}, primary {cluster.primary.url}, "
        f"{len(cluster.replicas)} replica(s); {cluster.dir / 'cluster.json'}",
        flush=True,
    )
    cluster.run_forever()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["proxy"]:
        return proxy_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m service.cluster")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--dir", default="cluster")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--max-exports", type=int, default=MAX_EXPORTS)
    args = parser.parse_args(argv)
    run(args.replicas, args.port, args.dir, args.host, workers=args.workers, max_exports=args.max_exports)


if __name__ == "__main__":
    main()
