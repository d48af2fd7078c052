"""Where the time of ``timeline import`` goes: validation alone, then the writer alone.

    python -m bench.import_cost [--events 1000000 | --file events.ndjson] [--keep DIR] [--all]

``timeline import`` runs two stages at once: a worker process parses and checks each
NDJSON line (``ingest.check_item``) while the importing process writes the checked rows
(``ingest.write_checked``, through ``service.store.bulk.BulkWriter``) in one transaction. This
tool runs them one after the other, each alone on the machine, so each one's own cost
is visible:

1. **Validation**: ``check_item`` over every line in chunks, as the worker does, and the
   pickling of each chunk's results (what the worker sends), spooled to a file.
2. **The writer**: a new database, migrated as the command does, then ``write_checked``
   over the spooled results (unpickled chunk by chunk, as the importing process receives
   them), with the command's settings (``bulk=True``). Each SQL statement is timed;
   statements are reported in two groups: while rows arrive, and after the last one
   (index builds, facet counts, statistics, ``COMMIT`` with its WAL checkpoint).

It prints seconds, microseconds an event and CPU seconds (user/system) of each stage.
The writer's figure is an upper bound on the command's rate however fast validation
were: the importing process does this work whatever else runs. The end-to-end rate, with
both stages on the machine's cores at once, is measured by ``python -m bench.run``.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import pickle
import resource
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import generate  # noqa: E402
from service import ingest  # noqa: E402
from service import store as store_module  # noqa: E402


def cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def label(sql: str) -> str:
    """A statement's name in the report: the table an INSERT fills, else its first words."""
    words = sql.split()
    if len(words) > 2 and words[0].upper() == "INSERT":
        i = 2 if words[1].upper() == "INTO" else 4  # INSERT INTO t / INSERT OR IGNORE INTO t
        return f"INSERT {words[i]}"
    return " ".join(words[:3])[:48]


class TimedConnection:
    """A sqlite3 connection whose execute/executemany time is added up per statement
    label, in the group ``self.phase`` names (set by the caller as the import goes)."""

    def __init__(self, conn):
        self._conn = conn
        self.phase = "rows"
        self.times: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

    def _timed(self, method, sql, *args):
        t = time.perf_counter()
        try:
            return method(sql, *args)
        finally:
            self.times[self.phase][label(sql)] += time.perf_counter() - t

    def execute(self, sql, *args):
        return self._timed(self._conn.execute, sql, *args)

    def executemany(self, sql, *args):
        return self._timed(self._conn.executemany, sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def validate(lines_path: Path, spool_path: Path, now: str) -> dict:
    """Stage 1: check every non-blank line, chunk by chunk, and pickle the results."""
    check = pickling = 0.0
    events = 0
    u0, s0 = cpu()
    t0 = time.perf_counter()
    with open(lines_path, "rb") as src, open(spool_path, "wb") as spool:
        lines = (line for line in src if line.strip())
        while block := list(islice(lines, ingest.CHECK_CHUNK)):
            a = time.perf_counter()
            results = ingest._check_chunk(block, now)
            b = time.perf_counter()
            pickle.dump(results, spool, protocol=pickle.HIGHEST_PROTOCOL)
            pickling += time.perf_counter() - b
            check += b - a
            events += len(block)
    u1, s1 = cpu()
    return {
        "events": events,
        "seconds": time.perf_counter() - t0,
        "check": check,
        "pickle": pickling,
        "user": u1 - u0,
        "sys": s1 - s0,
    }


def write(spool_path: Path, db_path: Path, now: str) -> dict:
    """Stage 2: a new database, then ``write_checked`` over the spooled results."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    store = store_module.connect(str(db_path))
    store.migrate()
    timed = TimedConnection(store.conn)
    store.conn = timed
    marks: dict[str, float] = {}

    def checked():
        unpickling = 0.0
        with open(spool_path, "rb") as spool:
            while True:
                a = time.perf_counter()
                try:
                    results = pickle.load(spool)
                except EOFError:
                    break
                unpickling += time.perf_counter() - a
                yield from results
        marks["rows_done"] = time.perf_counter()
        marks["unpickle"] = unpickling
        timed.phase = "after"

    u0, s0 = cpu()
    t0 = time.perf_counter()
    try:
        counts = ingest.write_checked(store, checked(), now, bulk=True)
    except ingest.BatchInvalid as exc:
        raise SystemExit(
            f"error: {len(exc.errors):,} invalid items (first: {next(iter(exc.errors.items()))}); "
            "this tool times valid files"
        ) from None
    seconds = time.perf_counter() - t0
    u1, s1 = cpu()
    store.conn = timed._conn
    events = store.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    store_module.close_all()
    return {
        "events": events,
        "created": counts.created,
        "seconds": seconds,
        "rows": marks["rows_done"] - t0,
        "after": t0 + seconds - marks["rows_done"],
        "unpickle": marks["unpickle"],
        "times": timed.times,
        "user": u1 - u0,
        "sys": s1 - s0,
        "bytes": os.path.getsize(db_path),
    }


def report(v: dict, w: dict, source_bytes: int, show_all: bool = False) -> list[str]:
    n = v["events"]
    us = 1e6 / n if n else 0.0
    out = [
        f"events: {n:,} ({source_bytes / 2**20:,.0f} MiB of NDJSON)",
        f"validation alone: {v['seconds']:.1f} s = {v['seconds'] * us:.1f} us an event "
        f"(check_item {v['check'] * us:.1f}, pickling {v['pickle'] * us:.1f}); "
        f"CPU user {v['user']:.1f} s, sys {v['sys']:.1f} s",
        f"writer alone: {w['seconds']:.1f} s = {w['events'] / w['seconds']:,.0f} events/s; "
        f"CPU user {w['user']:.1f} s, sys {w['sys']:.1f} s; {w['events']:,} events written, "
        f"{w['bytes'] / 2**20:,.0f} MiB",
    ]
    for phase, title, seconds in (
        ("rows", "while rows arrive", w["rows"]),
        ("after", "after the last row", w["after"]),
    ):
        times = w["times"][phase]
        sql = sum(times.values())
        rest = seconds - sql - (w["unpickle"] if phase == "rows" else 0.0)
        out.append(f"  {title}: {seconds:.1f} s")
        small = [t for t in times.values() if t < 0.01 * w["seconds"]]
        for name, t in times.most_common():
            if show_all or t >= 0.01 * w["seconds"]:
                out.append(f"    {t:6.2f} s  {name}")
        if small and not show_all:
            out.append(f"    {sum(small):6.2f} s  {len(small)} statements under 1% each")
        if phase == "rows":
            out.append(f"    {w['unpickle']:6.2f} s  unpickling the checked rows")
        out.append(
            f"    {rest:6.2f} s  " + ("Python: building the rows, the loop" if phase == "rows" else "Python")
        )
    total_cpu = v["user"] + v["sys"] + w["user"] + w["sys"]
    cores = os.cpu_count() or 1
    out.append(
        f"CPU of both stages: {total_cpu:.1f} s; on {cores} cores at best {total_cpu / cores:.1f} s "
        f"= {n / (total_cpu / cores):,.0f} events/s with perfect overlap; the writer alone bounds the "
        f"command at {w['events'] / w['seconds']:,.0f} events/s"
    )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=1_000_000, help="generate this many events (bench.generate)")
    p.add_argument("--file", type=Path, help="time this NDJSON file instead of generated events")
    p.add_argument(
        "--keep",
        type=Path,
        help="write the spool and the database here (default: a temporary directory, removed at the end)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="list every statement (default: those over 1%% of the writer's time)",
    )
    a = p.parse_args(argv)
    gc.disable()  # as the command and its worker do during an import
    with tempfile.TemporaryDirectory(prefix="import-cost-") as tmp:
        work = a.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = a.file
        if source is None:
            source = work / "events.ndjson"
            print(f"generating {a.events:,} events into {source}", flush=True)
            generate.write_ndjson(source, a.events)
        now = store_module.utc_now()
        print("validating ...", flush=True)
        v = validate(source, work / "checked.pickle", now)
        print("writing ...", flush=True)
        w = write(work / "checked.pickle", work / "import.db", now)
        if w["events"] != v["events"] or w["created"] != v["events"]:
            print(
                f"error: {v['events']:,} events checked but {w['events']:,} in the database", file=sys.stderr
            )
            return 1
        print("\n".join(report(v, w, source.stat().st_size, a.all)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
