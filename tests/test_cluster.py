"""The cluster of API.md section 9 with the real binaries: `timeline cluster` (gunicorn
nodes, Litestream replicate and restore -f, nginx) on 127.0.0.1, driven over HTTP.

One cluster (a primary and two replicas behind nginx) serves the whole module; the tests
run in file order and the destructive ones (kill -9, full disk) come last. Figures each
test measures are printed (run with -s to see them) and written to DIR/figures.json.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from service import replication
from service.cluster import wait_http

REPO = Path(__file__).resolve().parents[1]
TIMELINE = [sys.executable, "-c", "from service.cli import main; main()"]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MAX_AGE = 1  # TIMELINE_CACHE_MAX_AGE of the test cluster
WRITE_LOCK_WAIT = 0.5  # TIMELINE_WRITE_LOCK_WAIT_MS of the test cluster, in seconds
MAX_EXPORTS = 2
EVENTS = 3000  # enough that an export does not fit in socket buffers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(NGINX), reason="nginx is not installed (bash dev test installs it)"
    ),
    pytest.mark.skipif(
        shutil.which("litestream", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
        is None,
        reason="litestream is not installed (pip install -e '.[cluster]')",
    ),
]

FIGURES: dict = {}


def figure(name: str, value) -> None:
    FIGURES[name] = value
    print(f"\n[cluster] {name}: {value}")


def _ports_free(base: int, count: int) -> bool:
    for port in range(base, base + count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _base_port(count: int) -> int:
    for _ in range(50):
        base = random.randrange(20000, 60000)
        if _ports_free(base, count):
            return base
    raise RuntimeError("no free ports")


def _mount_tmpfs(path: Path, size: str) -> bool:
    """A small file system of its own for the primary (the full-disk test), when allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def _events(n: int, prefix: str) -> list[dict]:
    rng = random.Random(15)
    return [
        {
            "id": f"{prefix}-{i:05d}",
            "date": f"{rng.randrange(1900, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "title": f"Cluster event {i} " + "words " * rng.randrange(5, 25),
            "summary": "A generated event for the cluster tests. " * rng.randrange(1, 12),
            "tags": ["cluster", f"t{i % 7}"],
        }
        for i in range(n)
    ]


class Cluster:
    def __init__(self, root: Path, env: dict, info: dict, token: str, proc: subprocess.Popen, tmpfs: bool):
        self.root = root
        self.env = env
        self.info = info
        self.token = token
        self.proc = proc
        self.tmpfs = tmpfs

    @property
    def proxy(self) -> str:
        return self.info["proxy"]

    @property
    def primary(self) -> str:
        return self.info["primary"]["url"]

    @property
    def replicas(self) -> list[str]:
        return [r["url"] for r in self.info["replicas"]]

    def reload(self) -> dict:
        self.info = json.loads((self.root / "run" / "cluster.json").read_text())
        return self.info

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def write(self, session, event: dict, timeout: float = 10):
        return session.put(
            f"{self.proxy}/api/v1/events/{event['id']}",
            json={k: v for k, v in event.items() if k != "id"},
            headers=self.auth(),
            timeout=timeout,
        )

    def seq(self, url: str) -> int:
        return int(requests.get(url + "/healthz", timeout=5).headers["X-Timeline-Seq"])

    def wait_seq(self, url: str, seq: int, timeout: float = 30) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if self.seq(url) >= seq:
                    return time.monotonic() - started
            except (requests.RequestException, KeyError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"{url} did not reach seq {seq} in {timeout} s")

    def app_hits(self, path: str, status: int | None = None) -> int:
        """Requests for ``path`` (answered ``status``) that reached any node's application
        (its JSON access log)."""
        hits = 0
        for log in (self.root / "run" / "logs").glob("*.log"):
            if log.name.startswith(("primary", "replica-")):
                for line in log.read_text(errors="replace").splitlines():
                    if f'"path":"{path}"' in line and (status is None or f'"status":{status},' in line):
                        hits += 1
        return hits

    def kill(self, node: dict) -> None:
        for pid in node["pids"]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    data = root / "primary"
    tmpfs = _mount_tmpfs(data, "192m")
    base = _base_port(5)
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        TIMELINE_DATABASE=str(data / "timeline.db"),
        TIMELINE_CACHE_MAX_AGE=str(MAX_AGE),
        TIMELINE_WRITE_RATE_PER_MINUTE="0",
        TIMELINE_WRITE_LOCK_WAIT_MS=str(round(WRITE_LOCK_WAIT * 1000)),
        TIMELINE_MIN_FREE_BYTES=str(256 * 1024),
        TIMELINE_LOG_LEVEL="INFO",
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    )
    run = root / "run"
    proc = None
    try:
        source = root / "events.ndjson"
        source.write_text("".join(json.dumps(e) + "\n" for e in _events(EVENTS, "bulk")))
        subprocess.run(
            TIMELINE + ["import", "--create", str(source)], env=env, check=True, capture_output=True
        )
        token = subprocess.run(
            TIMELINE + ["tokens", "create", "cluster-tests", "--scope", "write"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        argv = TIMELINE + ["cluster", "--replicas", "2", "--port", str(base), "--dir", str(run)]
        argv += ["--workers", "2", "--max-exports", str(MAX_EXPORTS)]
        with open(root / "cluster.out", "wb") as log:
            proc = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "no cluster:\n" + (root / "cluster.out").read_text()
            assert proc.poll() is None, (root / "cluster.out").read_text()
            if (run / "cluster.json").exists():
                info = json.loads((run / "cluster.json").read_text())
                if info.get("proxy") and len(info["replicas"]) == 2:
                    try:
                        if requests.get(info["proxy"] + "/healthz", timeout=2).status_code == 200:
                            break
                    except requests.RequestException:
                        pass
            time.sleep(0.2)
        yield Cluster(root, env, info, token, proc, tmpfs)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
        if (run / "cluster.json").exists():  # whatever a failed stop left behind
            last = json.loads((run / "cluster.json").read_text())
            for node in [last["primary"], *last["replicas"]]:
                for pid in (node or {}).get("pids", []):
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        (root / "figures.json").write_text(json.dumps(FIGURES, indent=2))
        if tmpfs:
            subprocess.run(["umount", "-l", str(data)], capture_output=True)


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --------------------------------------------------------------------------- replication


def test_cluster_json_names_every_node_and_process(cluster):
    info = cluster.info
    assert info["proxy"].startswith("http://127.0.0.1:")
    for node in [info["primary"], *info["replicas"]]:
        assert node["url"].startswith("http://127.0.0.1:")
        assert len(node["pids"]) == 2 and all(os.path.exists(f"/proc/{pid}") for pid in node["pids"])
    ready = [requests.get(u + "/readyz", timeout=5).json() for u in [cluster.primary, *cluster.replicas]]
    assert [r["role"] for r in ready] == ["primary", "replica", "replica"]
    assert all(r["status"] == "ready" and isinstance(r["seq"], int) for r in ready)


def test_500_writes_reach_every_replica_with_the_same_change_feed(cluster):
    """500 writes through the proxy at a steady 50/s; each replica's seq is polled to time
    when each acknowledged write became readable there (the lag)."""
    seen: dict[str, list[tuple[float, int]]] = {url: [] for url in cluster.replicas}
    stop = threading.Event()

    def poll(url):
        session = requests.Session()
        while not stop.is_set():
            try:
                seq = int(session.head(url + "/healthz", timeout=2).headers["X-Timeline-Seq"])
                seen[url].append((time.monotonic(), seq))
            except (requests.RequestException, KeyError):
                pass
            time.sleep(0.02)

    pollers = [threading.Thread(target=poll, args=(u,), daemon=True) for u in cluster.replicas]
    for t in pollers:
        t.start()
    session = requests.Session()
    acked: list[tuple[str, int, float]] = []
    events = _events(500, "repl")
    started = time.monotonic()
    for i, event in enumerate(events):
        time.sleep(max(0.0, started + i / 50 - time.monotonic()))
        response = cluster.write(session, event)
        assert response.status_code == 201, response.text
        acked.append((event["id"], int(response.headers["X-Timeline-Seq"]), time.monotonic()))
    last = acked[-1][1]
    for url in cluster.replicas:
        cluster.wait_seq(url, last, timeout=30)
    time.sleep(0.1)
    stop.set()
    for t in pollers:
        t.join()

    lags = []
    for url in cluster.replicas:
        observations = seen[url]
        for _id, seq, at in acked:
            reached = next((t for t, s in observations if s >= seq and t >= at - 5), None)
            assert reached is not None
            lags.append(max(0.0, reached - at))
    p50, p99 = statistics.median(lags), _pct(lags, 99)
    figure(
        "replication lag p50/p99/max s (500 writes at 50/s, 2 replicas)",
        [round(p50, 3), round(p99, 3), round(max(lags), 3)],
    )
    assert p99 < 5.0

    for url in cluster.replicas:
        for event_id, _seq, _at in acked:
            assert requests.get(f"{url}/api/v1/events/{event_id}", timeout=5).status_code == 200, (
                url,
                event_id,
            )
    feeds = {url: _feed(url) for url in [cluster.primary, *cluster.replicas]}
    assert len(feeds[cluster.primary]) >= EVENTS + 500
    for url in cluster.replicas:
        assert feeds[url] == feeds[cluster.primary]


def _feed(url: str) -> list:
    changes, since = [], 0
    while True:
        page = requests.get(
            f"{url}/api/v1/changes", params={"since": since, "limit": 1000}, timeout=10
        ).json()
        changes += page["changes"]
        if not page["changes"]:
            return changes
        since = page["next_since"]


def test_read_your_writes_through_the_proxy(cluster):
    """After each write, a read with X-Timeline-Min-Seq through the proxy returns the version
    written, every time (a replica behind waits, or the proxy follows its 307 to the primary)."""
    session = requests.Session()
    event = _events(1, "ryw")[0]
    waits = []
    for round_ in range(20):
        event["title"] = f"Read your writes, round {round_}"
        written = cluster.write(session, event)
        assert written.status_code in (200, 201), written.text
        seq = int(written.headers["X-Timeline-Seq"])
        version = written.json()["version"]
        started = time.monotonic()
        read = session.get(
            f"{cluster.proxy}/api/v1/events/{event['id']}",
            headers={"X-Timeline-Min-Seq": str(seq)},
            timeout=10,
        )
        waits.append(time.monotonic() - started)
        assert read.status_code == 200
        assert read.json()["version"] == version and read.json()["title"] == event["title"]
        assert int(read.headers["X-Timeline-Seq"]) >= seq
        assert read.headers.get("X-Cache") in ("BYPASS", None)
    figure(
        "read-your-writes: read time p50/max s", [round(statistics.median(waits), 3), round(max(waits), 3)]
    )


def test_a_replica_behind_min_seq_redirects_to_the_primary(cluster):
    replica = cluster.replicas[0]
    ahead = cluster.seq(cluster.primary) + 1000
    started = time.monotonic()
    response = requests.get(
        f"{replica}/api/v1/events?limit=1",
        headers={"X-Timeline-Min-Seq": str(ahead)},
        allow_redirects=False,
        timeout=10,
    )
    waited = time.monotonic() - started
    assert response.status_code == 307
    assert response.headers["Location"] == f"{cluster.primary}/api/v1/events?limit=1"
    assert response.json()["type"] == "/problems/replica-behind"
    assert 1.9 < waited < 4
    bad = requests.get(f"{replica}/healthz", headers={"X-Timeline-Min-Seq": "soon"}, timeout=5)
    assert bad.status_code == 400


def test_writes_to_a_replica_are_redirected_to_the_primary(cluster):
    replica = cluster.replicas[1]
    response = requests.post(
        f"{replica}/api/v1/events?x=1",
        json={"date": "2020-01-01", "title": "nope"},
        headers=cluster.auth(),
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 307
    assert response.headers["Location"] == f"{cluster.primary}/api/v1/events?x=1"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.json()["type"] == "/problems/read-only-replica"


# --------------------------------------------------------------------------- caching


def test_identical_anonymous_gets_reach_the_app_a_handful_of_times(cluster):
    event_id = "bulk-00042"
    path = f"/api/v1/events/{event_id}"
    before = cluster.app_hits(path)
    statuses = []

    def burst(n):
        session = requests.Session()
        for _ in range(n):
            r = session.get(cluster.proxy + path, timeout=10)
            statuses.append((r.status_code, r.headers.get("X-Cache")))

    threads = [threading.Thread(target=burst, args=(125,)) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    time.sleep(0.5)  # access log lines of background revalidations
    hits = cluster.app_hits(path) - before
    figure("1000 identical anonymous GETs: app hits, seconds", [hits, round(took, 2)])
    assert len(statuses) == 1000 and all(s == 200 for s, _ in statuses)
    assert hits <= 2 + 2 * int(took / MAX_AGE + 1)  # one fill, then one revalidation per max-age at most
    # Past max-age the proxy revalidates with the ETag (If-None-Match): the app answers 304.
    time.sleep(MAX_AGE + 0.2)
    requests.get(cluster.proxy + path, timeout=5)  # served stale, revalidated in the background
    time.sleep(0.5)
    assert cluster.app_hits(path, status=304) >= 1


def test_authorized_gets_are_never_served_from_the_cache(cluster):
    path = "/api/v1/events/bulk-00043"
    requests.get(cluster.proxy + path, timeout=5)  # an anonymous copy is in the cache now
    before = cluster.app_hits(path)
    session = requests.Session()
    for _ in range(20):
        r = session.get(cluster.proxy + path, headers=cluster.auth(), timeout=5)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "private, no-store"
        assert r.headers.get("X-Cache") == "BYPASS"
    time.sleep(0.3)
    assert cluster.app_hits(path) - before == 20
    anonymous = session.get(cluster.proxy + path, timeout=5)
    assert anonymous.headers["Cache-Control"].startswith("public, max-age=1, stale-while-revalidate=")
    assert "Authorization" in anonymous.headers["Vary"] and "Accept-Encoding" in anonymous.headers["Vary"]


def test_after_a_write_the_proxy_serves_new_data_within_max_age_plus_lag(cluster):
    session = requests.Session()
    event = _events(1, "fresh")[0]
    assert cluster.write(session, event).status_code == 201
    url = f"{cluster.proxy}/api/v1/events/{event['id']}"
    time.sleep(3)
    for _ in range(5):
        assert session.get(url, timeout=5).status_code == 200  # cached now
    event["title"] = "A new title the cache must show soon"
    written = cluster.write(session, event)
    started = time.monotonic()
    while session.get(url, timeout=5).json()["title"] != event["title"]:
        assert time.monotonic() - started < 2 * MAX_AGE + 5, "the proxy kept serving the old version"
        time.sleep(0.05)
    figure("new data through the cache after a write (s)", round(time.monotonic() - started, 2))
    assert written.status_code == 200


def test_exports_beyond_the_node_limit_get_429_with_retry_after(cluster):
    """MAX_EXPORTS slow-reading exports hold their slots; one more is refused at once,
    while ordinary reads stay fast."""
    holders = []
    for _ in range(MAX_EXPORTS):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", int(cluster.proxy.rsplit(":", 1)[1])))
        s.sendall(b"GET /api/v1/events?format=ndjson HTTP/1.1\r\nHost: t\r\n\r\n")
        holders.append(s)
    time.sleep(1.0)
    try:
        refused = requests.get(f"{cluster.proxy}/api/v1/events?format=csv", timeout=5)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "5"
        assert refused.json()["type"] == "/problems/too-many-exports"
        fast = requests.get(f"{cluster.proxy}/api/v1/events?limit=5", timeout=5)
        assert fast.status_code == 200 and fast.elapsed.total_seconds() < 0.5
    finally:
        for s in holders:
            s.close()
    time.sleep(0.5)
    assert requests.get(f"{cluster.proxy}/api/v1/events?format=csv&limit=10", timeout=10).status_code == 200


# --------------------------------------------------------------------------- slow clients


def normal_gets(proxy: str, seconds: float, write=None, tag: str = "") -> tuple[list[float], list]:
    """One client's uncached GETs (each reaches a worker) for ``seconds``, and every 20th
    request a write through ``write``: the GETs' times and the writes acknowledged."""
    session = requests.Session()
    times, written = [], []
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        i += 1
        t0 = time.monotonic()
        r = session.get(
            f"{proxy}/api/v1/events",
            params={"limit": 20, "from": f"{1900 + i % 120}-01-01"},
            headers={"X-Timeline-Min-Seq": "0"},  # never from the cache
            timeout=10,
        )
        times.append(time.monotonic() - t0)
        assert r.status_code == 200
        if write and i % 20 == 0:
            event = _events(1, f"slow-{tag}-{i}")[0]
            w = write(session, event)
            assert w.status_code == 201, w.text
            written.append((event["id"], int(w.headers["X-Timeline-Seq"])))
        time.sleep(0.01)
    return times, written


def slow_clients(proxy: str, write, seconds: float = 8.0) -> dict:
    """Normal GETs alone for 3 s (the machine's own noise), then while 200 sockets trickle
    their headers (a line a second) and 50 read their answer one byte a second."""
    baseline, _ = normal_gets(proxy, 3.0)
    port = int(proxy.rsplit(":", 1)[1])
    stop = threading.Event()
    socks, readers = [], []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET /api/v1/events?limit={i % 50 + 1} HTTP/1.1\r\nHost: t\r\n".encode())
        socks.append(s)
    for _ in range(50):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /api/v1/events?limit=200 HTTP/1.1\r\nHost: t\r\nAuthorization: x\r\n\r\n")
        readers.append(s)

    def trickle():
        n = 0
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(f"X-Slow-{n}: 1\r\n".encode())
                except OSError:
                    pass
            for s in readers:
                try:
                    s.recv(1)
                except OSError:
                    pass
            n += 1
            stop.wait(1.0)

    for s in readers:  # their answers are being sent: the app made them (into nginx's buffers)
        s.settimeout(30)
        assert s.recv(1)
        s.setblocking(False)
    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        times, written = normal_gets(proxy, seconds, write, str(port))
    finally:
        stop.set()
        trickler.join()
        for s in socks + readers:
            s.close()
    return {"baseline": baseline, "times": times, "written": written}


def report(name: str, result: dict) -> tuple[float, float]:
    base, times = result["baseline"], result["times"]
    figure(
        f"{name}: GET p50/p99/max ms alone, then with 200 header-tricklers + 50 slow readers (n)",
        {
            "alone": [round(statistics.median(base) * 1000, 1), round(_pct(base, 99) * 1000, 1), len(base)],
            "slow clients": [
                round(statistics.median(times) * 1000, 1),
                round(_pct(times, 99) * 1000, 1),
                round(max(times) * 1000, 1),
                len(times),
            ],
        },
    )
    return _pct(times, 99), _pct(base, 99)


def test_slow_clients_cost_nginx_not_the_workers(cluster):
    """Through the proxy: normal GETs keep p99 under 100 ms, and the writes meanwhile are kept."""
    result = slow_clients(cluster.proxy, cluster.write)
    p99, alone = report("cluster", result)
    # Under 100 ms at p99 on a quiet machine; on a loaded one, what the slow clients add
    # to the machine's own p99 must stay under 100 ms (unbuffered, a worker would wait 10 s).
    assert p99 < 0.100 + alone
    assert max(result["times"]) < 1.0
    for event_id, seq in result["written"]:
        cluster.wait_seq(cluster.replicas[0], seq)
        assert requests.get(f"{cluster.primary}/api/v1/events/{event_id}", timeout=5).status_code == 200


def test_the_docker_images_entry_point_withstands_slow_clients(cluster, tmp_path):
    """The Dockerfile's CMD (nginx in front of the sync workers), run here on 127.0.0.1."""
    dockerfile = (REPO / "Dockerfile").read_text()
    cmd = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])
    assert cmd[:2] == ["timeline", "cluster"], "the image must not expose gunicorn directly"
    port = _base_port(2)
    args = cmd[1:]
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    args[args.index("--dir") + 1] = str(tmp_path / "run")
    env = dict(cluster.env, TIMELINE_DATABASE=str(tmp_path / "timeline.db"))
    env.pop("TIMELINE_REPLICA_URL", None)
    with open(tmp_path / "image.out", "wb") as log:
        proc = subprocess.Popen(
            TIMELINE + args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        proxy = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "image.out").read_text()
            try:
                if requests.get(proxy + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        token = subprocess.run(
            TIMELINE + ["tokens", "create", "image", "--scope", "write"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()

        def write(session, event):
            body = {k: v for k, v in event.items() if k != "id"}
            url = f"{proxy}/api/v1/events/{event['id']}"
            return session.put(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)

        result = slow_clients(proxy, write, seconds=5.0)
        p99, alone = report("image entry point", result)
        assert p99 < 0.100 + alone
        assert max(result["times"]) < 1.0
        for event_id, _seq in result["written"]:
            assert requests.get(f"{proxy}/api/v1/events/{event_id}", timeout=5).status_code == 200
    finally:
        replication.stop(proc, wait=30)


# --------------------------------------------------------------------------- write lock

LOCK_MARGIN = 0.5  # what a loaded 2-core machine adds to the wait
IMPORT_EVENTS = 1_000_000


def _write_ndjson(path: Path, n: int, prefix: str) -> None:
    """``n`` events as NDJSON, fast (1M events: ~2.3 s, 326 MB here)."""
    words, summary = "words " * 12, "A generated event imported while writes come. " * 3
    with open(path, "wb") as fh:
        for start in range(0, n, 2000):
            fh.write(
                "".join(
                    f'{{"id":"{prefix}-{i:07d}","date":"{1900 + i % 130}-{1 + i % 12:02d}-{1 + i % 28:02d}",'
                    f'"title":"Imported event {i} {words}","summary":"{summary}","tags":["import","t{i % 7}"]}}\n'
                    for i in range(start, min(n, start + 2000))
                ).encode()
            )


def _writes_during(
    cluster, importer: subprocess.Popen, tag: str, enough
) -> list[tuple[int, float, str | None]]:
    """POSTs through the proxy while ``importer`` runs, until ``enough(answers)``: each one's
    (status, seconds, Retry-After). Every answer is a 201 or a busy 503, never a 500."""
    session = requests.Session()
    answers: list[tuple[int, float, str | None]] = []
    deadline = time.monotonic() + 120
    while importer.poll() is None and not enough(answers):
        assert time.monotonic() < deadline, "the import neither ended nor let the writes finish"
        started = time.monotonic()
        r = session.post(
            f"{cluster.proxy}/api/v1/events",
            json={"id": f"during-{tag}-{len(answers)}", "date": "2020-01-01", "title": "during"},
            headers=cluster.auth(),
            timeout=10,
        )
        answers.append((r.status_code, time.monotonic() - started, r.headers.get("Retry-After")))
        assert r.status_code in (201, 503), r.text
        if r.status_code == 503:
            assert r.json()["type"] == "/problems/busy" and int(r.headers["Retry-After"]) > 0
        time.sleep(0.1)
    return answers


def _assert_within_the_wait(answers) -> None:
    for status, seconds, _retry in answers:
        # A busy 503 comes once the wait has passed, and not much later; a 201 never later.
        assert seconds < WRITE_LOCK_WAIT + LOCK_MARGIN, (status, seconds)
        if status == 503:
            assert seconds >= WRITE_LOCK_WAIT * 0.9, (status, seconds)


def _read_position(pid: int, path: Path) -> int | None:
    """How far process ``pid`` has read the file ``path`` (its descriptor's offset)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                return int((Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().split()[1])
        except OSError:
            continue
    return None


def test_writes_during_a_1m_event_import_are_answered_within_the_wait_and_the_import_is_all_or_nothing(
    cluster, tmp_path
):
    """`timeline import` of a 1,000,000-event file (the operator's path: --parallel, bulk)
    takes the write lock at its start and holds it to its COMMIT (one BEGIN IMMEDIATE
    transaction, service/store/connection.py Store.write). Writes through the proxy
    meanwhile get a busy 503 with Retry-After once TIMELINE_WRITE_LOCK_WAIT_MS (500 ms) has
    passed, within a 0.5 s margin: never a 500, never a hang.

    What this proves, honestly: the import is killed (-9) after the writes were answered,
    ten seconds or so into a run that takes about two minutes here; then none of its events
    is there, the database's integrity_check is ok, the sequence moved only by the 201s,
    and the next write is served. It does not run the import to its end (the primary's
    test file system holds 192 MB, and the suite has no two minutes to spare): the writes
    during an import's end and COMMIT, and an import that completes, are the next test's
    (20,000 events); a 1M import to completion is `bash dev bench`'s (bench/run.py,
    docs/benchmarks.md)."""
    source = tmp_path / "import-1m.ndjson"
    started = time.monotonic()
    _write_ndjson(source, IMPORT_EVENTS, "imp1m")
    made = time.monotonic() - started
    database = Path(cluster.env["TIMELINE_DATABASE"])
    wal = Path(str(database) + "-wal")
    before = cluster.seq(cluster.primary)
    importer = subprocess.Popen(
        TIMELINE + ["import", str(source)],
        env=cluster.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    read = spilled = None
    try:

        def enough(answers):
            # A dozen busy answers; sooner if the import's spilled pages near the primary's
            # small test file system (its transaction outgrows SQLite's page cache after ~5 s).
            busy = sum(1 for a in answers if a[0] == 503)
            return busy >= 12 or (busy >= 4 and wal.exists() and wal.stat().st_size > 32 << 20)

        answers = _writes_during(cluster, importer, "1m", enough)
        assert importer.poll() is None, importer.stderr.read().decode()
        read = _read_position(importer.pid, source)
        spilled = wal.stat().st_size if wal.exists() else 0
    finally:
        if importer.poll() is None:
            os.killpg(importer.pid, signal.SIGKILL)
        importer.wait()
        importer.stderr.close()
        source.unlink()
    busy = [a for a in answers if a[0] == 503]
    created = [a for a in answers if a[0] == 201]
    figure("1M import file made in (s)", round(made, 1))
    figure(
        "writes during a 1M import: 503s / answers, slowest 503 s; import's file read / WAL MB when killed",
        [
            len(busy),
            len(answers),
            round(max(a[1] for a in busy), 3),
            read and round(read / 1e6),
            spilled and round(spilled / 1e6),
        ],
    )
    assert len(busy) >= 4, "the import never held the lock while writes came"
    _assert_within_the_wait(answers)

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT count(*) FROM events WHERE id LIKE 'imp1m-%'").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert cluster.seq(cluster.primary) == before + len(created)
    after = cluster.write(requests.Session(), _events(1, "after-1m-import")[0])
    assert after.status_code == 201


def test_writes_during_an_import_to_its_commit_are_answered_and_it_lands_whole(cluster, tmp_path):
    """`timeline import` of 20,000 events, run to its end: writes through the proxy while
    it runs, its final index builds and COMMIT included, get their 201 or a busy 503 within
    the wait (500 ms here) plus the margin, never a 500; afterwards every imported event is
    there, and the writes answered 201 too."""
    source = tmp_path / "import.ndjson"
    _write_ndjson(source, 20000, "imp20k")
    importer = subprocess.Popen(
        TIMELINE + ["import", "--no-parallel", str(source)],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        answers = _writes_during(cluster, importer, "20k", lambda answers: False)
    finally:
        out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err
    busy = [a for a in answers if a[0] == 503]
    figure(
        "writes during a 20k import: 503s / answers, slowest s",
        [len(busy), len(answers), round(max(a[1] for a in answers), 3) if answers else None],
    )
    assert answers and busy, "the import never held the lock while a write came"
    _assert_within_the_wait(answers)
    conn = sqlite3.connect(f"file:{cluster.env['TIMELINE_DATABASE']}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT count(*) FROM events WHERE id LIKE 'imp20k-%'").fetchone()[0] == 20000
    finally:
        conn.close()
    for i, (status, _s, _r) in enumerate(answers):
        if status == 201:
            assert (
                requests.get(f"{cluster.primary}/api/v1/events/during-20k-{i}", timeout=5).status_code == 200
            )


# --------------------------------------------------------------------------- restore


def test_point_in_time_restore_between_two_writes_yields_the_first(cluster, tmp_path):
    url = cluster.env.get("TIMELINE_REPLICA_URL") or f"file://{cluster.root / 'run' / 'replica'}"
    session = requests.Session()
    first, second = _events(2, "pitr")
    assert cluster.write(session, first).status_code == 201
    _wait_replicated(url, cluster.seq(cluster.primary))
    time.sleep(1.2)
    moment = replication.now_iso()
    time.sleep(1.2)
    assert cluster.write(session, second).status_code == 201
    _wait_replicated(url, cluster.seq(cluster.primary))
    restored = tmp_path / "restored.db"
    done = subprocess.run(
        TIMELINE + ["restore", "--from", url, "--to", str(restored), "--timestamp", moment],
        env=cluster.env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(f"file:{restored}?mode=ro", uri=True)
    ids = {row[0] for row in conn.execute("SELECT id FROM events WHERE id LIKE 'pitr-%'")}
    conn.close()
    assert ids == {first["id"]}
    latest = tmp_path / "latest.db"
    subprocess.run(
        TIMELINE + ["restore", "--from", url, "--to", str(latest)],
        env=cluster.env,
        check=True,
        capture_output=True,
    )
    conn = sqlite3.connect(f"file:{latest}?mode=ro", uri=True)
    assert {row[0] for row in conn.execute("SELECT id FROM events WHERE id LIKE 'pitr-%'")} == {
        first["id"],
        second["id"],
    }
    conn.close()


def _wait_replicated(url: str, seq_hint: int, timeout: float = 15) -> None:
    """Until the replica URL's newest transaction stops moving (everything written is shipped)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        files = replication.ltx_files(url)
        newest = files[-1].max_txid if files else 0
        if newest == last:
            return
        last = newest
        time.sleep(1.2)
    raise AssertionError("replication did not settle")


# --------------------------------------------------------------------------- one write per answer
# A replica killed between gunicorn's header write and its body write left nginx with a
# header and no body, already sent on to the client (IncompleteRead(0 bytes read, N more
# expected)); nginx retries another upstream only while nothing has been sent. The workers
# now send a response's header with its first body bytes, in one sendall
# (service/gunicorn_conf.py OneWriteResponse); these tests hold gunicorn to that.


class _Sock:
    def __init__(self):
        self.sends: list[bytes] = []

    def sendall(self, data):
        self.sends.append(bytes(data))


class _Req:
    version = (1, 1)

    def __init__(self, method="GET"):
        self.method = method

    def should_close(self):
        return True


def _respond(response_class, pieces, headers=(("Content-Type", "application/json"),), method="GET"):
    from gunicorn.config import Config

    sock = _Sock()
    resp = response_class(_Req(method), sock, Config())
    resp.start_response("200 OK", list(headers))
    for piece in pieces:
        resp.write(piece)
    resp.close()
    return sock.sends


def test_gunicorn_is_the_version_whose_response_internals_one_write_relies_on():
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    pinned = next(
        d for d in _pyproject()["project"]["dependencies"] if d.replace(" ", "").startswith("gunicorn")
    )
    spec = SpecifierSet(pinned[len("gunicorn") :])
    assert Version(version("gunicorn")) in spec
    assert spec.contains("27.0.1") and not spec.contains("28.0") and not spec.contains("26.2.0")


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_one_write_response_sends_header_and_body_in_one_sendall():
    from gunicorn.http import wsgi

    from service import gunicorn_conf

    body = b'{"events":[]}' * 40
    length = [("Content-Length", str(len(body)))]
    # gunicorn as shipped: two sendall calls, the window a kill -9 can fall into.
    plain = _respond(wsgi.Response, [body], length)
    assert len(plain) == 2 and plain[1] == body
    ours = gunicorn_conf.one_write_response()
    assert issubclass(ours, wsgi.Response)
    for pieces in ([body], [b"", body]):
        sends = _respond(ours, pieces, length)
        assert len(sends) == 1
        head, _, rest = sends[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: %d" % len(body) in head
        assert rest == body
    sends = _respond(ours, [body[:100], b"", body[100:]], length)
    assert len(sends) == 2 and sends[0].endswith(b"\r\n\r\n" + body[:100]) and sends[1] == body[100:]
    # Streamed (chunked): the header rides with the first chunk, the rest as gunicorn frames it.
    sends = _respond(ours, [b"ab", b"", b"cd"])
    assert (
        len(sends) == 3
        and sends[0].endswith(b"\r\n\r\n2\r\nab\r\n")
        and sends[1:] == [b"2\r\ncd\r\n", b"0\r\n\r\n"]
    )
    assert b"Transfer-Encoding: chunked" in sends[0]
    # No body (HEAD, 204, an empty answer): the header alone, once, at close().
    for method, pieces in (("HEAD", [body]), ("GET", []), ("GET", [b""])):
        sends = _respond(
            ours, pieces, [("Content-Length", str(len(body) if method == "HEAD" else 0))], method
        )
        assert len(sends) == 1 and sends[0].endswith(b"\r\n\r\n")
    # A file (wsgi.file_wrapper) goes through write() too: sendfile() would send the header first.
    assert ours.sendfile(None, None) is False and gunicorn_conf.sendfile is False


def test_gunicorn_workers_build_the_one_write_response(tmp_path):
    """The sync worker's wsgi.create looks Response up at each request: under
    service/gunicorn_conf.py no header byte leaves the worker before the first body bytes."""
    app = _pause_app(tmp_path)
    port = _base_port(1)
    proc = _gunicorn(tmp_path, port, "one", conf=None)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/?pause=0", 30)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /?pause=1.0 HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(0.6)
            with pytest.raises(socket.timeout):
                s.recv(65536)  # the app is in its pause: nothing was sent, not even the header
            s.settimeout(5)
            time.sleep(0.3)  # the whole answer is on the socket by now
            first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK") and first.endswith(app.BODY)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


PAUSE_APP = """
import os, time

BODY = b'{"events":[' + b'"x",' * 120 + b'"end"]}'


def app(environ, start_response):
    pause = float(environ.get("QUERY_STRING", "").partition("pause=")[2] or 0)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
                              ("Cache-Control", "private, no-store"), ("X-Node", os.environ["NODE"])])

    def body():
        # An empty first piece: gunicorn as shipped sends the header on it, then the body
        # `pause` seconds later -- the gap between its two sendall calls, made wide.
        yield b""
        if pause:
            open(os.environ["NODE"] + ".paused", "w").close()
            time.sleep(pause)
        yield BODY

    return body()
"""


def _pause_app(directory: Path):
    (directory / "pause_app.py").write_text(PAUSE_APP)
    namespace: dict = {}
    exec(compile(PAUSE_APP, "pause_app", "exec"), namespace)
    return type("App", (), namespace)


def _gunicorn(directory: Path, port: int, node: str, conf: Path | None) -> subprocess.Popen:
    """One sync worker serving pause_app, with service/gunicorn_conf.py (conf None) or ``conf``."""
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf or REPO / "service" / "gunicorn_conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--chdir", str(directory), "pause_app:app"]
    env = dict(os.environ, NODE=node, TIMELINE_ROLE="replica", TIMELINE_DATABASE=str(directory / "x.db"))
    env["PYTHONPATH"] = str(REPO)
    with open(directory / f"{node}.log", "ab") as log:
        return subprocess.Popen(
            argv, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _kill_mid_answer(directory: Path, conf: Path | None):
    """nginx (deploy/nginx.conf) before replica A and backup B; A is killed with -9 after
    its app answered 200 and before its body: what the client gets, and nginx's error log."""
    from service import cluster as cluster_module

    directory.mkdir()
    _pause_app(directory)
    base = _base_port(3)
    a, b = _gunicorn(directory, base + 1, "a", conf), _gunicorn(directory, base + 2, "b", conf)
    nginx_dir = directory / "nginx-run"
    nginx_dir.mkdir()
    nginx_conf = nginx_dir / "nginx.conf"
    nginx_conf.write_text(
        cluster_module.render_nginx(
            listen=f"127.0.0.1:{base}",
            primary=f"127.0.0.1:{base + 2}",
            replicas=[f"127.0.0.1:{base + 1}"],
            directory=nginx_dir,
            workers=1,
        )
    )
    nginx = subprocess.Popen(cluster_module.nginx_argv(nginx_conf, nginx_dir), start_new_session=True)
    try:
        for port in (base + 1, base + 2, base):
            assert wait_http(f"http://127.0.0.1:{port}/?pause=0", 30)
        got: dict = {}

        def read():
            try:
                got["response"] = requests.get(f"http://127.0.0.1:{base}/?pause=3", timeout=15)
            except requests.RequestException as exc:
                got["error"] = exc

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 10
        while not (directory / "a.paused").exists():
            assert time.monotonic() < deadline, "replica a never began its answer"
            time.sleep(0.01)
        os.killpg(a.pid, signal.SIGKILL)
        reader.join()
        return got, (nginx_dir / "logs" / "nginx-error.log").read_text()
    finally:
        for proc in (a, b, nginx):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def test_a_replica_killed_mid_answer_is_retried_not_truncated(tmp_path):
    """The flake of the kill -9 test, made certain: a kill between header and body. With
    gunicorn as shipped the client gets the header and no body (the CI failure); with
    service/gunicorn_conf.py nothing had left the worker, so nginx asks the backup."""
    plain = tmp_path / "plain.conf.py"
    plain.write_text("")
    got, errors = _kill_mid_answer(tmp_path / "plain", plain)
    assert isinstance(got.get("error"), requests.exceptions.ChunkedEncodingError), got
    assert "IncompleteRead(0 bytes read" in str(got["error"])
    assert "upstream prematurely closed connection while reading upstream" in errors

    got, errors = _kill_mid_answer(tmp_path / "ours", None)
    response = got.get("response")
    assert response is not None, got
    assert response.status_code == 200 and response.headers["X-Node"] == "b"
    assert response.content == _pause_app(tmp_path).BODY
    assert "while reading response header from upstream" in errors
    assert "while reading upstream" not in errors


# --------------------------------------------------------------------------- faults


def _read_load(cluster, stop, failures, count, anonymous=False):
    session = requests.Session()
    i = 0
    while not stop.is_set():
        i += 1
        try:
            # Each read is a cache miss (a new window), so it reaches a replica.
            r = session.get(
                f"{cluster.proxy}/api/v1/events",
                params={"limit": 5, "from": f"{1000 + (i * 7919 + threading.get_ident()) % 1000}-01-01"},
                headers={} if anonymous else {"Authorization": "Bearer read-load"},
                timeout=10,
            )
            if r.status_code != 200 and not (r.status_code == 401 and not anonymous):
                failures.append(r.status_code)
        except requests.RequestException as exc:
            failures.append(repr(exc))
        count[0] += 1


REPLICA_KILLS = 6


def test_kill_9_a_replica_during_reads_fails_no_get(cluster):
    """kill -9 of a replica (its gunicorn and its follower), REPLICA_KILLS times, each replica
    in turn, the next kill once the last victim is ready again, under 4 readers: no GET
    fails, and nginx's error log shows no upstream that died after its header ("prematurely
    closed connection while reading upstream": the answer was cut short at the client). A
    kill lands between a worker's header and body only rarely (the gap was 5 us at the
    median, 117 us at most, measured under this load), which is why a single kill failed
    once in CI and passes almost always; test_a_replica_killed_mid_answer_is_retried_not_truncated
    makes that case certain."""
    error_log = cluster.root / "run" / "logs" / "nginx-error.log"
    seen = error_log.stat().st_size if error_log.exists() else 0
    stop, failures, count = threading.Event(), [], [0]
    readers = [
        threading.Thread(target=_read_load, args=(cluster, stop, failures, count, True)) for _ in range(4)
    ]
    for t in readers:
        t.start()
    rng = random.Random(9)
    back = []
    try:
        time.sleep(1.0)
        for kill in range(REPLICA_KILLS):
            victim = cluster.reload()["replicas"][kill % 2]
            cluster.kill(victim)
            killed = time.monotonic()
            time.sleep(0.3)  # dead for certain: the readiness seen next is the restarted one
            assert wait_http(victim["url"] + "/readyz", 60), "the killed replica did not come back"
            back.append(time.monotonic() - killed)
            time.sleep(rng.uniform(0.2, 0.8))
    finally:
        stop.set()
        for t in readers:
            t.join()
    with open(error_log, "rb") as fh:
        fh.seek(seen)
        errors = fh.read().decode(errors="replace")
    figure(f"kill -9 replica x{REPLICA_KILLS}: GETs during / failed", [count[0], len(failures)])
    figure("kill -9 replica: ready again after (s) max", round(max(back), 2))
    figure(
        "kill -9 replica: nginx retried / cut short",
        [errors.count("while reading response header"), errors.count("while reading upstream")],
    )
    assert failures == []
    assert "while reading upstream" not in errors


def test_kill_9_the_primary_under_writes(cluster):
    """Reads keep being served (0 failed GETs); writes get a clear problem within 1 s; no
    acknowledged write is lost once the primary is back; the replicas converge."""
    stop, failures, count = threading.Event(), [], [0]
    readers = [
        threading.Thread(target=_read_load, args=(cluster, stop, failures, count, True)) for _ in range(3)
    ]
    for t in readers:
        t.start()
    session = requests.Session()
    acked, refused = [], []
    primary = cluster.reload()["primary"]
    killed_at = None
    i = 0
    started = time.monotonic()
    while time.monotonic() - started < 12:
        i += 1
        if killed_at is None and time.monotonic() - started > 2:
            cluster.kill(primary)
            killed_at = time.monotonic()
        event = _events(1, f"crash-{i}")[0]
        t0 = time.monotonic()
        try:
            r = cluster.write(session, event, timeout=10)
        except requests.RequestException as exc:
            refused.append((repr(exc), time.monotonic() - t0))
            continue
        took = time.monotonic() - t0
        if r.status_code == 201:
            acked.append(event["id"])
        else:
            refused.append((r.status_code, took, r.headers.get("Content-Type"), r.json().get("type")))
        time.sleep(0.05)
    stop.set()
    for t in readers:
        t.join()
    figure(
        "kill -9 primary: writes acked / refused, worst refusal s",
        [len(acked), len(refused), round(max((x[1] for x in refused), default=0), 3)],
    )
    figure("kill -9 primary: GETs during / failed", [count[0], len(failures)])
    assert failures == []
    assert refused, "no write met the dead primary"
    for status, took, kind, problem in refused:
        assert status == 503 and took < 1.0 and kind == "application/problem+json"
        assert problem == "/problems/primary-unavailable"
    assert acked[-1].startswith("crash-"), "writes did not resume after the restart"
    last = cluster.seq(cluster.primary)
    for event_id in acked:
        assert requests.get(f"{cluster.primary}/api/v1/events/{event_id}", timeout=5).status_code == 200
    for url in cluster.replicas:
        cluster.wait_seq(url, last, timeout=60)
        assert _feed(url) == _feed(cluster.primary)


def test_a_replica_from_nothing_catches_up(cluster, tmp_path):
    url = f"file://{cluster.root / 'run' / 'replica'}"
    copy = str(tmp_path / "new-replica.db")
    started = time.monotonic()
    follower = replication.start_following(url, copy)
    try:
        target = cluster.seq(cluster.primary)
        while True:
            conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
            conn.close()
            if row and row[0] >= target:
                break
            assert time.monotonic() - started < 60
            time.sleep(0.1)
        figure(
            f"a new replica from nothing caught up to seq {target} (s)", round(time.monotonic() - started, 2)
        )
        # It keeps following: one more write arrives too.
        written = cluster.write(requests.Session(), _events(1, "after-catch-up")[0])
        seq = int(written.headers["X-Timeline-Seq"])
        deadline = time.monotonic() + 15
        while True:
            conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            now = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()[0]
            conn.close()
            if now >= seq:
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        replication.stop(follower)


def test_full_disk_on_the_primary(cluster):
    """507 for the write that does not fit, readiness 503 while full, nothing acknowledged
    lost, writes and readiness back on their own once there is space."""
    if not cluster.tmpfs:
        pytest.skip("needs root to mount a small tmpfs for the primary's database")
    data = Path(cluster.env["TIMELINE_DATABASE"]).parent
    filler = data / "filler"
    session = requests.Session()
    before = cluster.seq(cluster.primary)
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9):  # to the brim
            try:
                while True:
                    fh.write(b"\0" * chunk)
            except OSError:
                pass
    try:
        statuses = []
        acked = []
        # Single writes, then 1 MB imports: SQLite reuses its WAL file's space after a
        # checkpoint, so a full disk shows only once a write needs more than the WAL has
        # (the killed 1M import above left up to ~60 MB of it; the loop ends at the 507s).
        for i in range(120):
            if i < 20:
                event = _events(1, f"full-{i}")[0]
                event["summary"] = "x" * 4900
                r = cluster.write(session, event)
                batch = [event["id"]]
            else:
                events = _events(200, f"full-{i}")
                for event in events:
                    event["summary"] = "y" * 4900
                body = "".join(json.dumps(e) + "\n" for e in events)
                r = session.post(
                    f"{cluster.proxy}/api/v1/events/import",
                    data=body.encode(),
                    headers={**cluster.auth(), "Content-Type": "application/x-ndjson"},
                    timeout=30,
                )
                batch = [e["id"] for e in events]
            statuses.append(r.status_code)
            if r.status_code in (200, 201):
                acked += batch
            else:
                assert r.status_code == 507, r.text
                assert r.json()["type"] == "/problems/storage-full"
                if statuses[-3:] == [507, 507, 507]:
                    break
        assert 507 in statuses
        ready = requests.get(cluster.primary + "/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["role"] == "primary"
    finally:
        filler.unlink()
    deadline = time.monotonic() + 10
    while requests.get(cluster.primary + "/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "readiness did not come back"
        time.sleep(0.2)
    after = cluster.write(session, _events(1, "after-full")[0])
    assert after.status_code == 201
    conn = sqlite3.connect(f"file:{cluster.env['TIMELINE_DATABASE']}?mode=ro", uri=True)
    stored = {row[0] for row in conn.execute("SELECT id FROM events WHERE id LIKE 'full-%'")}
    assert set(acked) <= stored  # every acknowledged write is there
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    figure(
        "full disk: writes acknowledged/507 after the disk filled",
        [len(statuses) - statuses.count(507), statuses.count(507)],
    )
    last = cluster.seq(cluster.primary)
    assert last > before
    took = [round(cluster.wait_seq(url, last, timeout=90), 1) for url in cluster.replicas]
    figure("full disk: replicas caught up after the space came back (s)", took)
