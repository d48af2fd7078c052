"""Keyset pages through a varied archive give exactly the one big page.

A cursor page narrows each span class's range to the cursor (planner.seek): to its start,
or to its end while the cursor is among the events without a start (they share one start
key and sort by end), and leaves out the keyset condition of a class whose rows all start
after the cursor (planner.past). Any slip there loses or repeats rows. Here pages of every
size follow each other through many windows of an archive with every precision, open
ends, BCE dates, long spans and many events on the same start and end, both match modes
and both directions, and must join into the single page of the same query.
"""

from __future__ import annotations

import random

import pytest
import varied_archive

from service import dates
from service import store as store_module
from service.store import Filters


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    # Ties: events without a start sharing ends, and events sharing start and end.
    extra = [{"id": f"open-{i:02d}", "date": f"../{2019 + i % 4}", "title": "Open start"} for i in range(24)]
    extra += [
        {"id": f"unknown-{i:02d}", "date": f"/{2020 + i % 3}-07", "title": "Unknown start"} for i in range(9)
    ]
    extra += [{"id": f"same-{i:02d}", "date": "2021-07-02", "title": "Same day"} for i in range(30)]
    extra += [{"id": f"decade-{i:02d}", "date": "201X", "title": "Same decade"} for i in range(12)]
    return varied_archive.build(tmp_path_factory.mktemp("paging") / "timeline.db", 9, 2000, extra)


def cases():
    r = random.Random(11)
    fixed = [
        ("2021-07", "2021-07-31"),
        ("2021", "2021"),
        ("2019", "2022"),
        (None, "2021-06"),
        ("2021-07-02", None),
        (None, None),
        ("1990", "1999"),
        ("-0500", "0100"),
    ]
    out = []
    for lo, hi in fixed:
        for match in ("overlap", "within"):
            out.append((lo, hi, match, r.choice(["date", "-date"]), r.choice([1, 3, 7, 20])))
    for _ in range(24):
        y = r.randint(1850, 2030)
        out.append(
            (
                f"{y:04d}-{r.randint(1, 12):02d}",
                f"{y + r.randint(0, 2):04d}",
                r.choice(["overlap", "within"]),
                r.choice(["date", "-date"]),
                r.choice([2, 5, 13, 40]),
            )
        )
    return out


@pytest.mark.parametrize("lo, hi, match, sort, limit", cases())
def test_pages_joined_equal_the_one_page(st, lo, hi, match, sort, limit):
    f = Filters(
        from_day=dates.parse_point(lo)[0] if lo else None,
        to_day=dates.parse_point(hi)[1] if hi else None,
        match=match,
    )
    descending = sort == "-date"
    whole = [row[:3] for row in st.list_events(f, 100_000, None, descending)]
    got, after = [], None
    for _ in range(len(whole) // limit + 2):
        rows = st.list_events(f, limit + 1, after, descending)
        page = rows[:limit]
        got += [row[:3] for row in page]
        if len(rows) <= limit:
            break
        after = page[-1][:3]
    assert got == whole


def test_the_cases_page_through_open_starts_and_ties(st):
    """The archive really has what the test is about: pages that start among the events
    without a start, and runs of equal keys longer than a page."""
    f = Filters(
        from_day=dates.parse_point("2021-07")[0],
        to_day=dates.parse_point("2021-07-31")[1],
        match="overlap",
    )
    whole = st.list_events(f, 100_000)
    open_rows = [row for row in whole if row[0] == store_module.OPEN_START]
    assert len(open_rows) >= 15 and whole[: len(open_rows)] == open_rows  # they come first
    same = [row for row in whole if row[2].startswith("same-")]
    assert len(same) == 30 and len({row[:2] for row in same}) == 1
