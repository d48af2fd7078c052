"""Fill a database with N synthetic events through the service's own storage path.

Every event is validated by ``service.ingest.prepare_batch`` (the same marshmallow schemas
the API and ``timeline seed`` use), built and turned into a row by ``build_event``/``to_row``,
and written by ``store.upsert_event`` inside ``store.write()`` transactions of ``--batch``
rows. Nothing here writes SQL of its own except ``ANALYZE`` at the end.

The mix is meant to look like a real archive: mostly days (~70%), months (~12%), years
(~8%), decades (~4%), centuries (~1%), intervals of days to years (~4%), open and unknown
ends (~0.5%), BCE dates (~0.5%), qualifiers ``~ ? %`` on ~3%; zipf-like tags (30 slugs),
~200 actors, ISO countries, locations with lat/lon on ~60%, titles and summaries from a
word list in which ``report`` occurs in ~98% of rows and ``zeppelin`` in ~0.05%.

    python -m bench.generate --events 1000000 --db bench/data/bench-1m.db
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import itertools
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from service import ingest  # noqa: E402
from service import store as store_module  # noqa: E402
from service.countries import ASSIGNED  # noqa: E402

COMMON_WORD = "report"  # in ~98% of rows (title or summary)
RARE_WORD = "zeppelin"  # in ~0.05% of rows

TAGS = [
    "politics",
    "military",
    "economy",
    "protest",
    "election",
    "diplomacy",
    "health",
    "climate",
    "court",
    "police",
    "energy",
    "migration",
    "education",
    "sport",
    "culture",
    "religion",
    "science",
    "technology",
    "disaster",
    "terrorism",
    "trade",
    "media",
    "human-rights",
    "agriculture",
    "transport",
    "housing",
    "labour",
    "finance",
    "space",
    "archaeology",
]
FIRST = [
    "Anna",
    "Omar",
    "Li",
    "Maria",
    "John",
    "Fatima",
    "Pierre",
    "Yuki",
    "Carlos",
    "Amina",
    "Igor",
    "Sofia",
    "Ahmed",
    "Elena",
    "David",
    "Priya",
    "Kofi",
    "Lena",
    "Jorge",
    "Mei",
]
LAST = ["Smith", "Khan", "Wang", "Garcia", "Müller", "Rossi", "Nakamura", "Okafor", "Ivanova", "Haddad"]
ORGS = [
    "United Nations",
    "NATO",
    "European Union",
    "African Union",
    "World Bank",
    "Red Cross",
    "IMF",
    "WHO",
    "Taliban",
    "United States",
    "Russia",
    "China",
    "France",
    "Germany",
    "Afghan government",
    "ASEAN",
    "OPEC",
    "Interpol",
    "UNESCO",
    "Amnesty International",
]
ACTORS = ORGS + [f"{first} {last}" for first in FIRST for last in LAST][:180]
COUNTRIES = sorted(ASSIGNED)
PLACES = [
    "Airport",
    "Square",
    "Harbour",
    "Parliament",
    "University",
    "Stadium",
    "Bridge",
    "Market",
    "Embassy",
    "Station",
    "Valley",
    "Fort",
    "Palace",
    "Cathedral",
    "Hospital",
]
TOWNS = [
    "Kabul",
    "Lyon",
    "Osaka",
    "Lagos",
    "Quito",
    "Riga",
    "Perth",
    "Tunis",
    "Oslo",
    "Lima",
    "Cork",
    "Pune",
    "Fez",
    "Bonn",
    "Kiev",
    "Hue",
    "Accra",
    "Baku",
    "Split",
    "Nice",
]
WORDS = """government minister announces troops withdraw city council vote budget agreement talks
border crisis court ruling election results protest march strike workers ship storm flood fire
earthquake treaty summit meeting president army police arrest trial verdict bank rates market
oil prices gas pipeline school students hospital doctors vaccine virus outbreak festival museum
exhibition discovery scientists launch satellite rocket mission bridge railway road airport
harbour ceasefire offensive refugees aid convoy talks embassy ambassador sanctions tariffs exports
harvest drought famine temple excavation ruins coins manuscript library archive newspaper radio
television broadcast interview speech decree law parliament senate reform tax pension wages""".split()


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return list(itertools.accumulate(1 / (k**s) for k in range(1, n + 1)))


class Generator:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.tag_cum = zipf_weights(len(TAGS))
        self.actor_cum = zipf_weights(len(ACTORS), 0.9)
        self.country_cum = zipf_weights(len(COUNTRIES), 0.8)
        self.countries = COUNTRIES[:]
        random.Random(seed + 1).shuffle(self.countries)

    def _pick(self, items, cum):
        return items[bisect.bisect_left(cum, self.r.random() * cum[-1])]

    def _year(self) -> int:
        # Mostly recent: an exponential tail back from 2025, floor at year 1.
        return max(1, 2025 - int(self.r.expovariate(1 / 45)))

    def _ymd(self, year: int | None = None) -> tuple[int, int, int]:
        y = year if year is not None else self._year()
        m = self.r.randint(1, 12)
        d = self.r.randint(1, calendar.monthrange(y, m)[1])
        return y, m, d

    def date(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.70:
            y, m, d = self._ymd()
            s = f"{y:04d}-{m:02d}-{d:02d}"
        elif x < 0.82:
            y = self._year()
            s = f"{y:04d}-{r.randint(1, 12):02d}"
        elif x < 0.90:
            s = f"{self._year():04d}"
        elif x < 0.94:
            s = f"{min(self._year(), 2029) // 10:03d}X"
        elif x < 0.95:
            s = f"{max(1, r.randint(10, 20)):02d}XX"
        elif x < 0.99:  # intervals: a few days to a few years
            y, m, d = self._ymd(min(self._year(), 2020))
            kind = r.random()
            if kind < 0.5:
                length = r.randint(1, 20)
            elif kind < 0.85:
                length = r.randint(20, 400)
            else:
                length = r.randint(400, 1500)
            from datetime import date, timedelta

            a = date(y, m, d)
            b = a + timedelta(days=length)
            if r.random() < 0.7:
                s = f"{a.isoformat()}/{b.isoformat()}"
            else:
                s = f"{a.year:04d}-{a.month:02d}/{b.year:04d}-{b.month:02d}"
                if a.year == b.year and a.month == b.month:
                    s = f"{a.year:04d}-{a.month:02d}"
        elif x < 0.995:  # open and unknown ends
            y = self._year()
            s = r.choice(
                [
                    f"{y:04d}-{r.randint(1, 12):02d}/..",
                    f"../{y:04d}",
                    f"{y:04d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}/",
                    f"/{y:04d}",
                ]
            )
        else:  # BCE
            y = r.randint(1, 3000)
            kind = r.random()
            if kind < 0.4:
                s = f"-{y:04d}"
            elif kind < 0.7:
                s = f"-{y:04d}-{r.randint(1, 12):02d}"
            else:
                s = f"-{y:04d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        if "/" not in s and r.random() < 0.03:
            s += r.choice("~?%")
        return s

    def words(self, n: int) -> list[str]:
        return self.r.choices(WORDS, k=n)

    def event(self, i: int, timelines: list[str]) -> dict:
        r = self.r
        title_words = self.words(r.randint(3, 9))
        summary_words = self.words(r.randint(10, 40))
        if r.random() < 0.98:
            (title_words if r.random() < 0.5 else summary_words).insert(r.randrange(3), COMMON_WORD)
        if r.random() < 0.0005:
            summary_words.insert(r.randrange(5), RARE_WORD)
        title = " ".join(title_words).capitalize()
        ev: dict = {
            "id": f"ev-{i:07d}",
            "date": self.date(),
            "title": title,
            "summary": " ".join(summary_words).capitalize() + ".",
            "importance": r.choices((1, 2, 3, 4, 5), (10, 20, 45, 18, 7))[0],
            "tags": sorted({self._pick(TAGS, self.tag_cum) for _ in range(r.choice((0, 1, 1, 2, 2, 3)))}),
            "actors": sorted({self._pick(ACTORS, self.actor_cum) for _ in range(r.choice((0, 1, 1, 2, 3)))}),
        }
        y = r.random()
        if y < 0.6:
            ev["location"] = {
                "name": f"{r.choice(TOWNS)} {r.choice(PLACES)}",
                "country": self._pick(self.countries, self.country_cum),
                "lat": round(r.uniform(-60, 70), 4),
                "lon": round(r.uniform(-180, 180), 4),
            }
        elif y < 0.8:
            ev["location"] = {
                "name": r.choice(TOWNS),
                "country": self._pick(self.countries, self.country_cum),
            }
        n_sources = r.choice((0, 1, 1, 1, 2))
        if n_sources:
            ev["sources"] = [
                {
                    "url": f"https://news.example.org/{i}/{k}",
                    "title": " ".join(self.words(4)).capitalize(),
                    "publisher": r.choice(("RFE/RL", "Reuters", "AP", "BBC", "Le Monde")),
                    "quote": " ".join(self.words(r.randint(8, 25))).capitalize() + ".",
                }
                for k in range(n_sources)
            ]
        if timelines and r.random() < 0.1:
            ev["timelines"] = [r.choice(timelines)]
        return ev


TIMELINES = [
    {"slug": f"bench-{name}", "title": f"Benchmark timeline {name}", "description": "Synthetic."}
    for name in ("wars", "elections", "science", "disasters", "culture")
]


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
