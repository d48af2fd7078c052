"""The cluster, measured (issue 15): `timeline cluster` on a copy of a database, then

1. read throughput of one event window per request with wrk: through the proxy from its
   cache (one URL), through the proxy past the cache (``X-Timeline-Min-Seq: 0``, so every
   request reaches a replica), straight to one replica, straight to the primary;
2. replication lag under a steady write load through the proxy (p50/p99/max, from polling
   each replica's ``X-Timeline-Seq``);
3. a new replica's catch-up time: ``litestream restore -f`` into an empty file until it
   holds the replica URL's newest transaction (the whole database).

    python -m bench.cluster --events 20000                       # a quick run
    python -m bench.cluster --database /path/bench-1m.db --replicas 1 --duration 10
                                                                 # 1M events (copied first)
    python -m bench.cluster --database /path/bench-1m.db --catch-up-only
                           # 3 only: litestream replicate's first snapshot, then a new follower

The database given is only ever copied. Figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from service import replication  # noqa: E402

TIMELINE = [sys.executable, "-c", "from service.cli import main; main()"]


def free_base(count: int) -> int:
    while True:
        base = random.randrange(20000, 60000)
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base


def wrk(url: str, paths: list[str], seconds: int, connections: int, headers: dict, workdir: Path) -> dict:
    """wrk with bench/wrk_paths.lua (a random path of ``paths`` per request)."""
    listing = workdir / f"paths-{len(paths)}.txt"
    listing.write_text("\n".join(paths) + "\n")
    argv = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv += ["-s", str(REPO / "bench" / "wrk_paths.lua"), url, "--", str(listing)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    found = re.search(r"WRKJSON (\{.*\})", out.stdout)
    if not found:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-400:]} {out.stderr[-400:]}")
    d = json.loads(found.group(1))
    return {
        "rps": round(d["requests"] / (d["duration_us"] / 1e6)),
        "p50_ms": round(d["p50_us"] / 1000, 2),
        "p99_ms": round(d["p99_us"] / 1000, 2),
        "errors": d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"],
    }


def start_cluster(db: Path, workdir: Path, replicas: int, env: dict) -> tuple[subprocess.Popen, dict]:
    base = free_base(replicas + 2)
    run = workdir / "run"
    argv = TIMELINE + ["cluster", "--replicas", str(replicas), "--port", str(base), "--dir", str(run)]
    log = open(workdir / "cluster.out", "wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((workdir / "cluster.out").read_text()[-2000:])
        path = run / "cluster.json"
        if path.exists():
            info = json.loads(path.read_text())
            if info.get("proxy") and len(info["replicas"]) == replicas:
                return proc, info
        time.sleep(0.5)
    raise RuntimeError("the cluster did not start")


def lag_under_writes(info: dict, token: str, rate: float, seconds: float) -> dict:
    seen = {r["url"]: [] for r in info["replicas"]}
    stop = threading.Event()

    def poll(url):
        session = requests.Session()
        while not stop.is_set():
            try:
                seen[url].append(
                    (
                        time.monotonic(),
                        int(session.head(url + "/healthz", timeout=2).headers["X-Timeline-Seq"]),
                    )
                )
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.02)

    pollers = [threading.Thread(target=poll, args=(u,), daemon=True) for u in seen]
    for t in pollers:
        t.start()
    session = requests.Session()
    acked = []
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        time.sleep(max(0.0, started + i / rate - time.monotonic()))
        i += 1
        r = session.put(
            f"{info['proxy']}/api/v1/events/bench-lag-{i}",
            json={"date": "2020-01-01", "title": f"lag {i}"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if r.status_code in (200, 201):
            acked.append((int(r.headers["X-Timeline-Seq"]), time.monotonic()))
    time.sleep(10)
    stop.set()
    lags, missing = [], 0
    for points in seen.values():
        for seq, at in acked:
            reached = next((t for t, s in points if s >= seq and t >= at - 5), None)
            if reached is None:
                missing += 1
            else:
                lags.append(max(0.0, reached - at))
    achieved = len(acked) / seconds
    return {
        "writes_per_s_asked": rate,
        "writes_per_s_acked": round(achieved, 1),
        "lag_p50_s": round(statistics.median(lags), 3) if lags else None,
        "lag_p99_s": round(sorted(lags)[int(0.99 * (len(lags) - 1))], 3) if lags else None,
        "lag_max_s": round(max(lags), 3) if lags else None,
        "not_seen_within_10s": missing,
    }


def write_throughput(proxy: str, token: str, seconds: float, clients: int = 4) -> dict:
    """``clients`` threads PUT single events through the proxy as fast as they are answered."""
    done, refused, stop = [], [], threading.Event()

    def writer(n):
        session = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.monotonic()
            r = session.put(
                f"{proxy}/api/v1/events/bench-w-{n}-{i}",
                json={"date": "2020-01-01", "title": f"write {n} {i}"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            (done if r.status_code in (200, 201) else refused).append(time.monotonic() - t0)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return {
        "writes_per_s": round(len(done) / seconds, 1),
        "p50_ms": round(statistics.median(done) * 1000, 1) if done else None,
        "p99_ms": round(sorted(done)[int(0.99 * (len(done) - 1))] * 1000, 1) if done else None,
        "refused": len(refused),
    }


def catch_up(url: str, workdir: Path) -> dict:
    files = replication.ltx_files(url)
    target = max((f.max_txid for f in files), default=0)
    copy = str(workdir / "catch-up" / "copy.db")
    started = time.monotonic()
    follower = replication.start_following(url, copy, timeout=7200)
    try:
        restored = time.monotonic() - started
        while replication.copy_txid(copy) < target:
            time.sleep(0.2)
        caught = time.monotonic() - started
    finally:
        replication.stop(follower)
    return {
        "restore_s": round(restored, 1),
        "caught_up_s": round(caught, 1),
        "bytes": os.path.getsize(copy),
        "txid": target,
    }


def snapshot_then_catch_up(db: Path, workdir: Path) -> dict:
    """``litestream replicate`` from nothing to a file:// replica (timed until its first
    snapshot is listed and stays put), then :func:`catch_up` of a new follower."""
    url = f"file://{workdir / 'replica'}"
    started = time.monotonic()
    with open(workdir / "replicate.log", "wb") as log:
        replicate = replication.start_replicate(str(db), url, log)
    try:
        last, steady = None, 0
        while steady < 3:
            time.sleep(1.0)
            try:
                files = replication.ltx_files(url)
            except replication.ReplicationError:
                files = []
            newest = max((f.max_txid for f in files), default=None)
            steady = steady + 1 if newest is not None and newest == last else 0
            last = newest
        shipped = time.monotonic() - started - 3
        size = sum(f.stat().st_size for f in (workdir / "replica").rglob("*.ltx"))
        return {
            "database_bytes": db.stat().st_size,
            "first_snapshot_s": round(shipped, 1),
            "replica_bytes": size,
            "new_replica_catch_up": catch_up(url, workdir),
        }
    finally:
        replication.stop(replicate, wait=60)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a database to copy and serve (never written)")
    parser.add_argument("--events", type=int, default=20000, help="else: generate this many events")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write-rate", type=float, default=50.0)
    parser.add_argument("--write-seconds", type=float, default=20.0)
    parser.add_argument("--workdir", help="keep everything here (default: a temporary directory)")
    parser.add_argument(
        "--catch-up-only",
        action="store_true",
        help="no servers: time litestream replicate's first snapshot and a new follower's catch-up",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("bench.cluster needs wrk (bash dev bench installs it)")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-cluster-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "primary" / "timeline.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    figures: dict = {"replicas": args.replicas}
    if args.database:
        t0 = time.monotonic()
        shutil.copyfile(args.database, db)
        figures["copy_s"] = round(time.monotonic() - t0, 1)
    else:
        from bench.generate import generate

        generate(str(db), args.events, quiet=True)
    if args.catch_up_only:
        figures.update(snapshot_then_catch_up(db, workdir))
        print(json.dumps(figures, indent=2))
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    env = dict(
        os.environ,
        TIMELINE_DATABASE=str(db),
        TIMELINE_WRITE_RATE_PER_MINUTE="0",
        TIMELINE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    )
    token = subprocess.run(
        TIMELINE + ["tokens", "create", f"bench-{os.getpid()}", "--scope", "write"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    t0 = time.monotonic()
    proc, info = start_cluster(db, workdir, args.replicas, env)
    figures["cluster_start_s"] = round(time.monotonic() - t0, 1)
    try:
        paths = [f"/api/v1/events?from={y}-01-01&to={y}-12-31&limit=50" for y in range(1900, 2021)]
        runs = {
            "proxy_cached": (info["proxy"], paths[:1], {}),
            "proxy_uncached": (info["proxy"], paths, {"X-Timeline-Min-Seq": "0"}),
            "replica_direct": (
                info["replicas"][0]["url"] if info["replicas"] else info["primary"]["url"],
                paths,
                {},
            ),
            "primary_direct": (info["primary"]["url"], paths, {}),
        }
        for name, (url, chosen, headers) in runs.items():
            figures[name] = wrk(url, chosen, args.duration, args.connections, headers, workdir)
            print(name, figures[name], file=sys.stderr)
        figures["write_throughput"] = write_throughput(info["proxy"], token, args.duration)
        print("writes", figures["write_throughput"], file=sys.stderr)
        if info["replicas"]:
            figures["lag_under_writes"] = lag_under_writes(info, token, args.write_rate, args.write_seconds)
            print("lag", figures["lag_under_writes"], file=sys.stderr)
            url = f"file://{workdir / 'run' / 'replica'}"
            figures["new_replica_catch_up"] = catch_up(url, workdir)
    finally:
        replication.stop(proc, wait=60)
    print(json.dumps(figures, indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
