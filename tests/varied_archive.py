"""A varied archive for the tests that compare query paths: the benchmark's generator
(every precision, open ends, BCE, long spans, terms on every event) plus the caller's own
items, imported into a fresh store and analysed as the service does after a migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factories import TIMELINES, Generator, new_store

from service import ingest
from service import store as store_module


def build(path: Path, seed: int, events: int, extra: list[dict[str, Any]]) -> store_module.Store:
    st = new_store(path)
    with st.write():
        for tl in TIMELINES:
            st.upsert_timeline(ingest.validate_timeline(tl))
    gen = Generator(seed)
    items = [gen.event(i, [t["slug"] for t in TIMELINES]) for i in range(events)] + extra
    ingest.import_items(st, items, create_timelines=True)
    st.conn.execute("ANALYZE")
    return st
