"""``q`` searches words: their forms and prefixes, in the text, actors and tags (issue 17).

The rule (planner.match_query): every word of ``q`` must occur; a word matches the indexed
words with the same stem (Porter), and a word of three characters or more also matches
the words whose stem begins with its stem. Any text is searched as words, never syntax.
"""

from __future__ import annotations

import pytest
from factories import Generator, new_store
from legacy_schema import as_schema_8
from test_doc_once import index_from_view, instances

from service import ingest
from service import store as store_module
from service.api.events import fts_query, fts_words
from service.store import Filters, match_query


def ids(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [e["id"] for e in response.get_json()["items"]]


def search(client, q: str, **params) -> list[str]:
    return ids(client.get("/api/v1/events", query_string={"q": q, "limit": 500, **params}))


def all_events(client) -> list[dict]:
    return client.get("/api/v1/events?limit=500").get_json()["items"]


@pytest.mark.parametrize(
    "q, query",
    [
        ("refugee", '"refugee"*'),
        ("Taliba", '"taliba"*'),
        ("Müller", '"muller"*'),
        ("a b", '"a" "b"'),  # under three characters: the word and its forms only
        ("war crimes", '"war"* "crimes"*'),
        ('title:x NEAR(y) "z" ^a* OR', '"title"* "x" "near"* "y" "z" "a" "or"'),
        ("foo_bar", '"foo"* "bar"*'),  # the tokenizer splits at "_": so do the words
        ("--- ***", None),
        ("", None),
    ],
)
def test_each_word_becomes_a_quoted_word_or_prefix(q, query):
    assert fts_query(q) == query
    assert match_query(fts_words(q)) == query


def test_a_quote_inside_a_word_is_escaped_not_syntax():
    assert match_query(['a"b']) == '"a""b"*'


def test_word_forms_find_each_other(seeded_reader):
    plural = search(seeded_reader, "refugees")
    assert plural and search(seeded_reader, "refugee") == plural
    assert search(seeded_reader, "fleeing") and search(seeded_reader, "flee") == search(
        seeded_reader, "flees"
    )


def test_a_prefix_finds_the_words_that_begin_with_it(seeded_reader):
    taliban = [e["id"] for e in all_events(seeded_reader) if "Taliban" in e.get("actors", [])]
    found = search(seeded_reader, "Taliba")
    assert taliban and set(taliban) <= set(found)
    assert found == search(seeded_reader, "Taliban") and set(found) < set(search(seeded_reader, "tal"))


def test_short_words_are_not_prefixes(seeded_reader):
    assert search(seeded_reader, "ta") == search(seeded_reader, "ta tal") == []


def test_tags_and_actors_are_searched(seeded_reader):
    events = all_events(seeded_reader)
    tagged = [e["id"] for e in events if "refugees" in e.get("tags", [])]
    assert len(tagged) >= 4
    assert set(tagged) <= set(search(seeded_reader, "refugees"))  # issue 17: was 2 of the 4
    # a tag that is in no text: found through the tag alone
    humanitarian = [e["id"] for e in events if "humanitarian" in e.get("tags", [])]
    assert humanitarian and search(seeded_reader, "humanitarian") == humanitarian
    rahmon = [e["id"] for e in events if "Emomali Rahmon" in e.get("actors", [])]
    assert rahmon and set(rahmon) <= set(search(seeded_reader, "Emomali"))


def test_every_word_must_occur(seeded_reader):
    both = set(search(seeded_reader, "Taliban")) & set(search(seeded_reader, "Faizabad"))
    assert both and set(search(seeded_reader, "Taliban Faizabad")) == both
    assert search(seeded_reader, "Taliban zeppelin") == []


HOSTILE = [
    '"',
    '"refugees',
    "'",
    "AND",
    "OR NOT",
    "NOT refugees",
    "NEAR(refugees Tajikistan, 2)",
    "title:refugees",
    "{title summary}:refugees",
    "- refugees",
    "*",
    "refug*",
    "*refug",
    "^refugees",
    "refugees^",
    "+refugees",
    "(((",
    ")",
    'a" OR "b',
    "'; DROP TABLE events; --",
    "\\",
    "%",
    "x" * 5000,
    "refugees " * 555,  # q is at most 5,000 characters (longer: 400)
    "日本語",
    "Ǆ ß ﬁ ½ ²",
    "\u0000",
    "\u200b\u00ad",
    "é" * 3000,
]


@pytest.mark.parametrize("q", HOSTILE)
@pytest.mark.parametrize("sort", ["date", "-date", "relevance"])
def test_any_text_is_searched_as_words_and_never_errors(seeded_reader, q, sort):
    got = search(seeded_reader, q, sort=sort)
    # The same words without the punctuation find the same events (in the same order).
    assert got == search(seeded_reader, " ".join(fts_words(q)) or "-", sort=sort)


@pytest.mark.parametrize(
    "path, params",
    [
        ("/api/v1/events/histogram", {"interval": "year"}),
        ("/api/v1/events/facets", {"facet": "tags"}),
        ("/api/v1/events", {"count": "true"}),
    ],
)
@pytest.mark.parametrize("q", ["title:refugees", "NEAR(a b)", "x" * 5000, "ref*", '"'])
def test_aggregations_take_any_text_too(seeded_reader, path, params, q):
    assert seeded_reader.get(path, query_string={"q": q, **params}).status_code == 200


def test_operators_are_words(seeded_reader):
    assert search(seeded_reader, "title:refugees") == search(seeded_reader, "title refugees") == []
    assert search(seeded_reader, "NOT refugees") == search(seeded_reader, "not refugees")
    assert search(seeded_reader, "refugees OR Rome") == []


@pytest.mark.parametrize("q", ["Taliba", "refugee", "Taliban border"])
def test_relevance_sort_ranks_the_same_matches_and_pages_through_them(seeded_reader, q):
    by_date = search(seeded_reader, q)
    by_rank = search(seeded_reader, q, sort="relevance")
    assert by_date and sorted(by_rank) == sorted(by_date)
    pages, url = [], f"/api/v1/events?q={q}&sort=relevance&limit=2"
    while url:
        body = seeded_reader.get(url).get_json()
        pages += [e["id"] for e in body["items"]]
        url = body["next"] and f"/api/v1/events?q={q}&sort=relevance&limit=2&cursor={body['next']}"
    assert pages == by_rank


def test_a_title_match_ranks_above_a_tag_match(seeded_reader):
    by_rank = search(seeded_reader, "refugees", sort="relevance")
    assert by_rank[0] == "2021-07-tajikistan-prepares-for-refugees"  # in its title, summary and tags


# --------------------------------------------------------------------------- schema 8 -> 9


def _store_filters(q: str) -> Filters:
    return Filters(fts=fts_query(q), fts_terms=tuple(fts_words(q)))


def _found(st, q: str) -> set[str]:
    return {row[2] for row in st.list_events(_store_filters(q), 1000)}


def test_an_archive_of_schema_8_migrates_to_words_forms_prefixes_and_tags(tmp_path):
    st = new_store(tmp_path / "old.db")
    gen = Generator(8)
    items = [gen.event(i, []) for i in range(200)]
    items[0]["tags"] = ["zeppelins"]  # a word in no text: only the tag holds it
    ingest.import_items(st, items)
    as_schema_8(st.conn)
    fts_sql = st.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_fts'").fetchone()[0]
    assert "tags" not in fts_sql and "porter" not in fts_sql
    # Schema 8 matched whole words only, and no tags.
    assert (
        st.conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'refugee'").fetchone()[0] == 0
    )
    assert (
        st.conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'zeppelins'").fetchone()[0]
        == 0
    )
    refugees = st.conn.execute(
        "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'refugees'"
    ).fetchone()[0]

    assert st.migrate() == store_module.SCHEMA_VERSION - 8
    assert st.schema_version() == store_module.SCHEMA_VERSION
    st.conn.execute("INSERT INTO events_fts (events_fts) VALUES ('integrity-check')")
    assert len(_found(st, "refugee")) == len(_found(st, "refugees")) == refugees > 0
    assert _found(st, "zeppelin") == {items[0]["id"]}
    assert _found(st, "zep") >= {items[0]["id"]}
    # Writes after the migration keep the index the index of the documents.
    item = dict(items[1], tags=["airships"])
    ingest.import_items(st, [item])
    assert items[1]["id"] in _found(st, "airship")
    ingest.import_items(st, [dict(item, tags=[])])
    assert items[1]["id"] not in _found(st, "airship")
    assert instances(st.conn, "events_fts") == index_from_view(st.conn)
