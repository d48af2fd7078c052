"""Fill a database with N synthetic events through the service's own storage path.

Every event is validated by ``service.ingest.prepare_batch`` (the same marshmallow schemas
the API and ``timeline seed`` use), built and turned into a row by ``build_event``/``to_row``,
and written by ``store.upsert_event`` inside ``store.write()`` transactions of ``--batch``
rows. Nothing here writes SQL of its own except ``ANALYZE`` at the end.

The events come from ``tests.factories.Generator`` (the tests share it, and import nothing
from bench/); the mix is meant to look like a real archive: see that module.

    python -m bench.generate --events 1000000 --db bench/data/bench-1m.db
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from service import ingest  # noqa: E402
from service import store as store_module  # noqa: E402

# COMMON_WORD and RARE_WORD are named here for bench.scenarios.
from tests.factories import COMMON_WORD as COMMON_WORD  # noqa: E402
from tests.factories import RARE_WORD as RARE_WORD  # noqa: E402
from tests.factories import TIMELINES, Generator  # noqa: E402


def generate(db_path: str, events: int, seed: int = 1, batch: int = 10_000, quiet: bool = False) -> dict:
    """Create ``db_path`` with ``events`` synthetic events; returns timings and size."""
    path = os.path.abspath(db_path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    store = store_module.connect(path)
    store.migrate()
    with store.write():
        for tl in TIMELINES:
            store.upsert_timeline(ingest.validate_timeline(tl))
    slugs = [t["slug"] for t in TIMELINES]
    gen = Generator(seed)
    t0 = time.perf_counter()
    t_validate = t_write = 0.0
    done = 0
    while done < events:
        n = min(batch, events - done)
        items = [gen.event(done + k, slugs) for k in range(n)]
        a = time.perf_counter()
        rows = ingest.prepare_batch(items, store)
        b = time.perf_counter()
        with store.write():
            ingest.write_rows(store, rows)
        c = time.perf_counter()
        t_validate += b - a
        t_write += c - b
        done += n
        if not quiet:
            el = time.perf_counter() - t0
            print(
                f"  {done:>9,} events  {done / el:>8,.0f} ev/s  (validate+build {t_validate:.1f}s, "
                f"write {t_write:.1f}s)",
                flush=True,
            )
    total = time.perf_counter() - t0
    a = time.perf_counter()
    store.conn.execute("ANALYZE")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t_analyze = time.perf_counter() - a
    store_module.close_all()
    size = os.path.getsize(path)
    result = {
        "events": events,
        "seconds": total,
        "events_per_s": events / total if total else 0.0,
        "validate_s": t_validate,
        "write_s": t_write,
        "analyze_s": t_analyze,
        "bytes": size,
    }
    if not quiet:
        print(
            f"{events:,} events in {total:.1f}s = {result['events_per_s']:,.0f} events/s "
            f"(validate+build {t_validate:.1f}s, write {t_write:.1f}s, ANALYZE {t_analyze:.1f}s); "
            f"{path}: {size / 2**20:,.0f} MiB"
        )
    return result


def write_ndjson(path: Path | str, events: int, seed: int = 11) -> None:
    """``events`` synthetic events (no timelines) as an NDJSON file: the import benchmarks' input."""
    import json

    gen = Generator(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(events):
            fh.write(json.dumps(gen.event(i, []), ensure_ascii=False) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--db", default=str(REPO / "bench" / "data" / "bench-1m.db"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=10_000)
    a = p.parse_args(argv)
    generate(a.db, a.events, a.seed, a.batch)


if __name__ == "__main__":
    main()
