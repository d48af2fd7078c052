"""Part A: time each hot query in-process (Flask test client) and print its SQL plans.

    python -m bench.queries [--db bench/data/bench-1m.db] [--windows 200] [--heavy-runs 10]

For every scenario of :mod:`bench.scenarios` (service side only) it issues the requests
through ``service.create_app({"DATABASE": db}).test_client()`` and prints median / p99 / max
in milliseconds. The SQL each request runs is captured with ``sqlite3``'s trace callback on
the service's own connection, and ``EXPLAIN QUERY PLAN`` of every distinct statement of
one representative request is printed, so the figures and the plans come from the code as
it is, not from a copy of its SQL.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import scenarios  # noqa: E402

HEAVY = {"q common word", "histogram year, all", "facets, all", "count=true, all"}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def _norm(sql: str) -> str:
    """Statement shape for de-duplication: numbers and strings replaced."""
    return re.sub(r"'[^']*'|-?\b\d+\b", "?", sql)


def run(db: str, n_windows: int = 200, heavy_runs: int = 10, plans: bool = True, out=print) -> list[dict]:
    from service import create_app
    from service import store as store_module

    app = create_app({"DATABASE": db, "TESTING": True, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    store = store_module.connect(app.config["DATABASE"])
    traced: list[str] = []

    def get(path):
        r = client.get(path)
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code} {r.data[:300]!r}")
        return r

    s = scenarios.sample(db, n_windows)
    cursor = scenarios.service_cursor_paths(lambda p: get(p).get_json(), s)
    results = []
    for sc in scenarios.build(db, s, "bench", cursor):
        paths = sc.paths.get("service")
        if not paths:
            continue
        runs = heavy_runs if sc.name in HEAVY else max(len(paths), n_windows)
        get(paths[0])  # warm
        times = []
        for i in range(runs):
            path = paths[i % len(paths)]
            t = time.perf_counter()
            get(path)
            times.append((time.perf_counter() - t) * 1000)
        row = {
            "query": sc.name,
            "what": sc.what,
            "runs": runs,
            "median_ms": statistics.median(times),
            "p99_ms": pct(times, 99),
            "max_ms": max(times),
        }
        results.append(row)
        out(
            f"{sc.name:<32} n={runs:<4} median {row['median_ms']:8.2f} ms   p99 {row['p99_ms']:8.2f} ms   "
            f"max {row['max_ms']:8.2f} ms   ({sc.what})"
        )
        if plans:
            traced.clear()
            store.conn.set_trace_callback(traced.append)
            try:
                get(paths[len(paths) // 2])
            finally:
                store.conn.set_trace_callback(None)
            seen = set()
            for sql in traced:
                head = sql.lstrip().split(None, 1)[0].upper()
                if head not in ("SELECT", "WITH") or _norm(sql) in seen:
                    continue
                seen.add(_norm(sql))
                out("    SQL: " + " ".join(sql.split())[:400])
                for line in store.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall():
                    out(f"      {line[3]}")
    return results


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description="Time the service's hot queries in-process and print their plans."
    )
    p.add_argument("--db", default=str(REPO / "bench" / "data" / "bench-1m.db"))
    p.add_argument("--windows", type=int, default=200)
    p.add_argument("--heavy-runs", type=int, default=10)
    p.add_argument("--no-plans", action="store_true")
    a = p.parse_args(argv)
    run(a.db, a.windows, a.heavy_runs, not a.no_plans)


if __name__ == "__main__":
    main()
