"""The values the store speaks in: date keys and span classes, filters, errors.

No SQL and no imports of ours: every other module of the package may import this one.

Chronology runs on integer day numbers (days since 1970-01-01, proleptic Gregorian), so
BCE, CE and far-future dates order numerically. A missing start is stored as ``OPEN_START``
and a missing end as ``OPEN_END`` (sentinels beyond every real day), which gives the
contract's total order ``start, end, id`` with open starts first and open ends last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

OPEN_START = -(1 << 62)
OPEN_END = 1 << 62

# The full-text index (events_fts, migration 9): its columns, in the order ingest gives
# their text and writes insert it, and its tokenizer: the Porter stemmer over unicode61
# (case and diacritics folded), so a word and its forms ("refugee", "refugees") share
# one indexed term.
FTS_COLUMNS = ("title", "summary", "actors", "place", "quotes", "tags")
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
# A query word of at least this many characters also matches the words that begin with it
# (an FTS5 prefix query); shorter words match their own forms only. A one- or two-letter
# prefix would match a large part of any archive's vocabulary and read all of it.
FTS_MIN_PREFIX = 3

# Upper bound (inclusive, in days of end_key - start_key) of each span class. The last,
# unbounded class holds open-ended events and spans longer than ten millennia.
SPAN_LIMITS: tuple[int | None, ...] = (0, 7, 31, 92, 366, 3653, 36525, 365250, 3652500, None)
UNBOUNDED = len(SPAN_LIMITS) - 1

# One-day events (span class 0, about 70% of a typical archive) are counted per facet value
# and per block of DAY_BLOCK days of their date, so a window's facets add up the blocks it
# covers instead of reading every one of those events (see aggregates.Aggregates.facets).
DAY_BLOCK_SHIFT = 4  # blocks of 16 days
DAY_BLOCK = 1 << DAY_BLOCK_SHIFT


def span_class(start_key: int, end_key: int) -> int:
    if start_key == OPEN_START or end_key == OPEN_END:
        return UNBOUNDED
    span = end_key - start_key
    for cls, limit in enumerate(SPAN_LIMITS[:-1]):
        if span <= limit:
            return cls
    return UNBOUNDED


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a read selects: a date window and the other filters of the contract.

    ``from_day``/``to_day`` are day keys (None: unbounded), ``match`` ``overlap`` or
    ``within``; ``fts`` is an FTS5 query of quoted words (see planner.match_query) and
    ``fts_terms`` those words (for the plan choice); the tuples hold the values of repeatable parameters (any of them
    matches); ``bbox`` is (min_lon, min_lat, max_lon, max_lat); ``in_timeline`` a slug.
    ``Filters()`` selects everything.
    """

    from_day: int | None = None
    to_day: int | None = None
    match: str = "overlap"
    fts: str | None = None
    fts_terms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    timelines: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ()
    min_importance: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    in_timeline: str | None = None

    @property
    def windowed(self) -> bool:
        """Whether a date window bounds the matches on either side."""
        return self.from_day is not None or self.to_day is not None


ALL = Filters()


class StoreError(Exception):
    """Base for storage errors a caller can act on."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class PreconditionFailed(StoreError):
    pass
