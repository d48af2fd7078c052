"""Each document is stored once (store._migration_8).

The change feed's latest change of a live event reads its document from ``event_docs``,
and the full-text index reads its text from the documents (FTS5 external content, through
the view ``events_fts_text``). These tests hold the two invariants that makes necessary:
every change in the feed still returns the document it wrote, after any later writes;
and the full-text index stays exactly the index of the stored documents, token for token,
after any updates and deletes. And an archive from before (schema 7) migrates to the same.
"""

from __future__ import annotations

import random
import sqlite3

import orjson
import pytest
from factories import Generator
from legacy_schema import as_schema_7

from service import ingest
from service import store as store_module
from service.api.events import fts_query, fts_words
from service.store import Filters, planner
from service.store.model import FTS_COLUMNS, FTS_TOKENIZE

# A full-text index like events_fts that keeps its own copy of the text.
FTS = f"CREATE VIRTUAL TABLE {{}} USING fts5({', '.join(FTS_COLUMNS)}, tokenize = '{FTS_TOKENIZE}')"
COLUMNS = ", ".join(FTS_COLUMNS)

SEARCHES = ["report", "minister", "müller", "union", "border", "changed", "nothing-here"]


def row_of(item: dict) -> dict:
    return ingest.to_row(ingest.build_event(ingest.validate_event(item)))


def random_writes(st: store_module.Store, seed: int, writes: int = 300) -> list[tuple[str, str, str | None]]:
    """Creates, text-changing updates, unchanged rewrites, deletes and re-creates over a few
    ids; returns what the feed must say: (op, id, document) for every write that changed."""
    rnd, gen = random.Random(seed), Generator(seed)
    live: dict[str, dict] = {}
    expected = []
    for n in range(writes):
        event_id = f"e-{rnd.randrange(25):02d}"
        action = rnd.random()
        with st.write():
            if event_id in live and action < 0.2:
                st.delete_event(event_id)
                del live[event_id]
                expected.append(("delete", event_id, None))
                continue
            if event_id in live and action < 0.3:
                item = live[event_id]  # the same content again: no change
            else:
                item = gen.event(n, [])
                item["id"] = event_id
                if rnd.random() < 0.5:
                    item["title"] = f"changed {n} {item['title']}"
                if item.get("sources") and rnd.random() < 0.2:
                    item["sources"][0].pop("quote", None)
            outcome, doc = st.upsert_event(row_of(item))
        live[event_id] = item
        if outcome != "unchanged":
            expected.append(("upsert", event_id, doc))
    return expected


def feed(st: store_module.Store) -> list[tuple[str, str, str | None]]:
    return [(op, event_id, doc) for _seq, op, event_id, _at, doc in st.changes(0, 10**9)]


def instances(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """Every token of a full-text index: (term, rowid, column, position)."""
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_inst USING fts5vocab(main, {table}, 'instance')"
    )
    return conn.execute(
        f"SELECT term, doc, col, offset FROM temp.{table}_inst ORDER BY 1, 2, 3, 4"
    ).fetchall()


def index_from_view(conn: sqlite3.Connection) -> list[tuple]:
    """The tokens of a full-text index built afresh from the stored documents (the view)."""
    conn.execute(FTS.format("from_view"))
    conn.execute(f"INSERT INTO from_view (rowid, {COLUMNS}) SELECT pk, {COLUMNS} FROM events_fts_text")
    return instances(conn, "from_view")


def searches(st: store_module.Store) -> dict[str, list]:
    return {
        q: st.conn.execute(
            "SELECT rowid FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid",
            (orjson.dumps(q).decode(),),
        ).fetchall()
        for q in SEARCHES
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_change_keeps_the_document_it_wrote(store, seed):
    expected = random_writes(store, seed)
    assert any(op == "delete" for op, _, _ in expected) and len(expected) > 150
    assert feed(store) == expected
    # The documents are stored once: only history (a change that is no longer its event's
    # latest) carries a copy.
    current = store.conn.execute(
        "SELECT count(*) FROM changes c JOIN events e ON e.seq = c.seq WHERE c.doc IS NULL"
    ).fetchone()[0]
    assert current == store.event_count() > 0
    assert (
        store.conn.execute("SELECT count(*) FROM changes WHERE doc IS NULL AND op = 'upsert'").fetchone()[0]
        == current
    )


@pytest.mark.parametrize("seed", [4, 5])
def test_the_search_index_is_the_index_of_the_stored_documents(store, seed):
    random_writes(store, seed)
    conn = store.conn
    # What ingest inserts (and FTS5 removes, reading the view) must be the same tokens:
    # an index built from ingest's values and one built from the view are equal ...
    conn.execute(FTS.format("from_ingest"))
    for pk, doc in conn.execute("SELECT pk, doc FROM event_docs").fetchall():
        event = orjson.loads(doc)
        for key in ("created_at", "updated_at", "version"):
            del event[key]
        conn.execute(
            f"INSERT INTO from_ingest (rowid, {COLUMNS}) VALUES (?{',?' * len(FTS_COLUMNS)})",
            (pk, *ingest._derived(event)[4]),
        )
    fresh = index_from_view(conn)
    assert instances(conn, "from_ingest") == fresh and len(fresh) > 500
    # ... and after all those updates and deletes, the live index is exactly that index.
    assert instances(conn, "events_fts") == fresh
    conn.execute("INSERT INTO events_fts (events_fts) VALUES ('integrity-check')")
    # So a q alone is counted from the index alone (planner.fts_count_query), as the
    # events it matches are.
    terms = [t for (t,) in conn.execute("SELECT term FROM events_fts_vocab ORDER BY doc DESC LIMIT 4")]
    for q in [*terms, terms[0][:3], f"{terms[0]} {terms[-1]}"]:
        f = Filters(fts=fts_query(q), fts_terms=fts_words(q))
        assert planner.fts_count_query(f) is not None
        joined = conn.execute(
            "SELECT count(*) FROM events e WHERE e.pk IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)",
            (f.fts,),
        ).fetchone()[0]
        assert store.count_events(f) == joined == len(store.list_events(f, 100_000)) > 0, q


def test_an_archive_of_schema_7_migrates_to_the_same_feed_and_searches(store):
    random_writes(store, 6)
    before_feed, before_searches = feed(store), searches(store)
    as_schema_7(store.conn)
    assert (
        store.conn.execute("SELECT count(*) FROM changes WHERE doc IS NULL AND op = 'upsert'").fetchone()[0]
        == 0
    )
    assert store.migrate() == store_module.SCHEMA_VERSION - 7
    assert feed(store) == before_feed
    assert searches(store) == before_searches and before_searches["report"]
    # Changes written before the migration keep their copies; later writes follow the new
    # rule, and the feed stays whole through both.
    more = random_writes(store, 7, writes=120)
    assert feed(store) == before_feed + more
    assert instances(store.conn, "events_fts") == index_from_view(store.conn)
