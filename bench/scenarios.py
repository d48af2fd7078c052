"""The benchmark's queries: the same random windows, ids and words for every server.

A *scenario* is a name and a list of request paths for each server (``service``, ``floor``,
``datasette``); the load generator picks paths at random from the list. Windows are 30 days
starting on the start day of a random event (so they follow where the data is), ids are
those of random events, cursors are real ``next`` values issued by the service for those
windows (pages 2 to ``depth``+1).
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from bench.generate import COMMON_WORD, RARE_WORD
from service import dates

API = "/api/v1"
WINDOW_DAYS = 30


@dataclass
class Scenario:
    name: str
    what: str
    paths: dict[str, list[str]] = field(default_factory=dict)  # server -> paths


@dataclass
class Sample:
    windows: list[tuple[int, int]]  # day keys, inclusive
    year_windows: list[int]  # years
    ids: list[tuple[int, str]]  # (pk, id)


def sample(db_path: str, n: int = 200, seed: int = 7) -> Sample:
    """Random windows and ids drawn from the events themselves (reproducible by ``seed``)."""
    r = random.Random(seed)
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        max_pk = conn.execute("SELECT max(pk) FROM events").fetchone()[0]
        windows, ids, years = [], [], []
        attempts = 0
        while len(windows) < n and attempts < n * 50:
            attempts += 1
            row = conn.execute(
                "SELECT pk, id, start_key, start_year FROM events WHERE pk >= ? ORDER BY pk LIMIT 1",
                (r.randint(1, max_pk),),
            ).fetchone()
            if row is None:
                continue
            ids.append((row[0], row[1]))
            start_key, year = row[2], row[3]
            if year is None or not (1 <= year <= 9999):
                continue
            windows.append((start_key, start_key + WINDOW_DAYS - 1))
            years.append(year)
    finally:
        conn.close()
    return Sample(windows, years, ids[:n])


def iso(day: int) -> str:
    return dates.iso_day(day)


def service_window(lo: int, hi: int, **extra) -> str:
    return f"{API}/events?" + urlencode({"from": iso(lo), "to": iso(hi), "limit": 50, **extra})


def ds_events(db: str, wheres: list[str], **extra) -> str:
    params = [("_where", w) for w in wheres] + [("_size", "50"), ("_nocount", "1"), ("_nofacet", "1")]
    params += list(extra.items())
    return f"/{db}/events.json?" + urlencode(params)


def build(
    db_path: str,
    s: Sample,
    ds_db: str,
    cursor_pages: dict[str, list[str]] | None = None,
    ds_cursor_pages: list[str] | None = None,
) -> list[Scenario]:
    """The scenarios. ``cursor_pages`` (from :func:`service_cursor_paths`) and
    ``ds_cursor_pages`` (from the harness, asking Datasette) add the deep-paging scenario."""
    w = s.windows
    sc: list[Scenario] = []

    def add(name, what, service=None, floor=None, datasette=None):
        paths = {}
        if service:
            paths["service"] = service
        if floor:
            paths["floor"] = floor
        if datasette:
            paths["datasette"] = datasette
        sc.append(Scenario(name, what, paths))

    floor_range = [f"/range?from={lo}&to={hi}" for lo, hi in w]
    add(
        "window overlap",
        "30-day window, match=overlap, limit=50",
        [service_window(lo, hi) for lo, hi in w],
        floor_range,
        [ds_events(ds_db, [f"start_key<={hi}", f"end_key>={lo}"], _sort="start_key") for lo, hi in w],
    )
    add(
        "window within",
        "30-day window, match=within, limit=50",
        [service_window(lo, hi, match="within") for lo, hi in w],
        floor_range,
        [ds_events(ds_db, [f"start_key>={lo}", f"end_key<={hi}"], _sort="start_key") for lo, hi in w],
    )
    add(
        "window sort=-date",
        "30-day window, overlap, sort=-date, limit=50",
        [service_window(lo, hi, sort="-date") for lo, hi in w],
        floor_range,
        [ds_events(ds_db, [f"start_key<={hi}", f"end_key>={lo}"], _sort_desc="start_key") for lo, hi in w],
    )
    if cursor_pages:
        add(
            "window next cursor",
            "30-day window, overlap, `next` pages 2..6",
            cursor_pages["service"],
            floor_range,
            ds_cursor_pages or None,
        )
    add(
        "event by id",
        "GET /events/{id}",
        [f"{API}/events/{quote(i)}" for _, i in s.ids],
        [f"/event/{quote(i)}" for _, i in s.ids],
        [f"/{ds_db}/events/{pk}.json" for pk, _ in s.ids],
    )
    add(
        "q common word",
        f"q={COMMON_WORD} (~98% of rows), chronological, limit=50",
        [f"{API}/events?q={COMMON_WORD}&limit=50"],
        None,
        [f"/{ds_db}/events.json?_search={COMMON_WORD}&_sort=start_key&_size=50&_nocount=1&_nofacet=1"],
    )
    add(
        "q rare word",
        f"q={RARE_WORD} (~0.05% of rows), chronological, limit=50",
        [f"{API}/events?q={RARE_WORD}&limit=50"],
        None,
        [f"/{ds_db}/events.json?_search={RARE_WORD}&_sort=start_key&_size=50&_nocount=1&_nofacet=1"],
    )
    hist_sql = "select start_year, count(*) from events group by start_year order by start_year"
    add(
        "histogram year, all",
        "interval=year over all events",
        [f"{API}/events/histogram?interval=year"],
        None,
        [f"/{ds_db}.json?" + urlencode({"sql": hist_sql, "_shape": "array"})],
    )
    add(
        "histogram year, 1-year window",
        "interval=year inside from=Y&to=Y",
        [f"{API}/events/histogram?interval=year&from={y:04d}&to={y:04d}" for y in s.year_windows],
        None,
        None,
    )
    add(
        "facets, all",
        "tags, actors, country, precision over all events",
        [f"{API}/events/facets"],
        None,
        [f"/{ds_db}/events.json?_facet=country&_facet=precision&_size=0"],
    )
    add(
        "facets, 1-year window",
        "tags, actors, country, precision inside from=Y&to=Y",
        [f"{API}/events/facets?from={y:04d}&to={y:04d}" for y in s.year_windows],
        None,
        None,
    )
    add(
        "count=true, window",
        "30-day window, overlap, limit=50, count=true",
        [service_window(lo, hi, count="true") for lo, hi in w],
        None,
        None,
    )
    add(
        "count=true, all",
        "no filter, limit=50, count=true",
        [f"{API}/events?limit=50&count=true"],
        None,
        [f"/{ds_db}/events.json?_size=50&_nofacet=1"],
    )
    return sc


def service_cursor_paths(get_json, s: Sample, windows: int = 40, depth: int = 5) -> dict[str, list[str]]:
    """Follow ``next`` from page 1 for ``windows`` windows, ``depth`` pages deep.

    ``get_json(path) -> dict`` does the request (test client or HTTP)."""
    out: list[str] = []
    for lo, hi in s.windows[:windows]:
        path = service_window(lo, hi)
        for _ in range(depth):
            body = get_json(path)
            if not body.get("next"):
                break
            path = service_window(lo, hi, cursor=body["next"])
            out.append(path)
    return {"service": out}
