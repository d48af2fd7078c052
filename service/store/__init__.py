"""SQLite storage: every SQL statement of the service, and nothing else.

It takes and returns plain values (dicts, tuples, JSON text, :class:`Filters`) and imports
nothing of ours outside this package. The modules, and what each may import from it
(``tests/test_architecture.py`` holds them to this):

- ``model``: day keys, span classes, :class:`Filters`, errors (nothing).
- ``planner``: the SQL of reads from filters, per span class; no connection (model).
- ``writes``: upsert and delete with terms, full-text rows, change feed, facet counts (model).
- ``migrations``: the schema, its versions, ``meta`` (model, writes).
- ``reads``: one event, pages, relevance, the change feed (model, planner).
- ``aggregates``: totals, facets, start histograms (model, planner).
- ``timelines``, ``tokens``: their tables (model).
- ``connection``: :class:`Store`, one connection with its pragmas and transactions, made of
  the jobs above; the per-thread cache :func:`connect` (all of the above).
- ``bulk``: the bulk writer of large imports and its packed rows (model, writes, connection).
- ``ratelimit``: write counters in a file beside the database (nothing).
- ``backup``: a checked online copy of a database (nothing).
"""

from .backup import BackupCheck, backup
from .connection import Store, close_all, configure, connect
from .migrations import MIGRATIONS, SCHEMA_VERSION
from .model import (
    ALL,
    DAY_BLOCK,
    DAY_BLOCK_SHIFT,
    OPEN_END,
    OPEN_START,
    SPAN_LIMITS,
    UNBOUNDED,
    Conflict,
    Filters,
    NotFound,
    PreconditionFailed,
    StoreError,
    span_class,
    utc_now,
)
from .planner import match_query
from .writes import add_facet_counts, fill_facet_counts

__all__ = [
    "ALL",
    "DAY_BLOCK",
    "DAY_BLOCK_SHIFT",
    "MIGRATIONS",
    "OPEN_END",
    "OPEN_START",
    "SCHEMA_VERSION",
    "SPAN_LIMITS",
    "UNBOUNDED",
    "BackupCheck",
    "Conflict",
    "Filters",
    "NotFound",
    "PreconditionFailed",
    "Store",
    "StoreError",
    "add_facet_counts",
    "backup",
    "close_all",
    "configure",
    "connect",
    "fill_facet_counts",
    "match_query",
    "span_class",
    "utc_now",
]
