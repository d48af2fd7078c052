"""Factories the tests share: tokens and their headers, a dump of a database, and the
random-event generator.

The generator makes events that look like a real archive: mostly days (~70%), months
(~12%), years (~8%), decades (~4%), centuries (~1%), intervals of days to years (~4%), open
and unknown ends (~0.5%), BCE dates (~0.5%), qualifiers ``~ ? %`` on ~3%; zipf-like tags
(30 slugs), ~200 actors, ISO countries, locations with lat/lon on ~60%, titles and summaries
from a word list in which ``report`` occurs in ~98% of rows and ``zeppelin`` in ~0.05%.
It lives here, not in ``bench/``, so that the tests import nothing from the benchmark
harness; ``bench/generate.py`` imports it from here to fill its databases.
"""

from __future__ import annotations

import bisect
import calendar
import itertools
import random
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from flask import Flask

from service import auth, create_app, ingest
from service import store as store_module
from service.countries import ASSIGNED

# --------------------------------------------------------------------------- the event's fields

#: An event's fields in the order API.md gives them (and GET answers them), written out here
#: rather than read from the service so that a test of the contract cannot drift with it.
EVENT_FIELDS = tuple(
    "id date start end precision approximate uncertain display_date title summary importance "
    "tags actors location sources timelines created_at updated_at version".split()
)
#: The fields a client writes; the others are derived from ``date`` or stamped on each write.
WRITABLE_FIELDS = tuple("id date title summary importance tags actors location sources timelines".split())

# --------------------------------------------------------------------------- tokens and dumps


def database_of(target) -> str:
    """The database file of an app (its ``DATABASE``) or of a path."""
    config = getattr(target, "config", None)
    return str(config["DATABASE"] if config is not None else target)


def make_token(target, name: str | None = None, scope: str = "write", token: str | None = None) -> str:
    """Store a token of ``scope`` in the database of ``target`` (an app or a path) the way
    ``timeline tokens create`` does (only its hash); returns the secret. Without a name, the
    token gets a new one of its own."""
    token = token or auth.new_token()
    name = name or f"{scope}-{secrets.token_hex(4)}"
    store_module.connect(database_of(target)).add_token(name, scope, auth.hash_token(token))
    return token


def bearer(token: str, **headers: str) -> dict[str, str]:
    """Request headers that carry ``token``, plus any others."""
    return {"Authorization": f"Bearer {token}", **headers}


def headers_for(target, scope: str = "write", name: str | None = None) -> dict[str, str]:
    """Headers with a new token of ``scope`` stored in the database of ``target``."""
    return bearer(make_token(target, name, scope))


def dump(target) -> str:
    """Everything in the database of ``target`` (an app or a path) as SQL text, to compare
    before and after a request that must change nothing."""
    conn = sqlite3.connect(database_of(target))
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@contextmanager
def serving(server) -> Iterator[str]:
    """Serve ``server`` (an HTTP server bound to 127.0.0.1) from a daemon thread; yields its
    base URL, then shuts it down and closes its socket."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def make_app(directory: Path, seeded: bool = False, **config) -> Flask:
    """The real app on a new database file in ``directory``, seeded from seed/ if asked."""
    app = create_app({"TESTING": True, "DATABASE": str(directory / "timeline.db"), **config})
    if seeded:
        with app.app_context():
            ingest.load_seed_dir(app)
    return app


def new_store(path: Path | str) -> store_module.Store:
    """A store on a new database file at ``path``, migrated to the current schema."""
    st = store_module.connect(str(path))
    st.migrate()
    return st


# --------------------------------------------------------------------------- random events

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
