"""EventListQuerySchema.fast_load gives exactly what the full load gives, or declines.

The list endpoints parse their common queries (a window, a page size, a cursor) on a fast
path; these tests hold it to marshmallow's answer on generated queries, valid and not, and
check that a declined query still gets marshmallow's error through HTTP.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from service.schemas import EventListQuerySchema

SCHEMA = EventListQuerySchema()

GOOD_DATES = st.sampled_from(
    [
        "2021",
        "2021-07",
        "2021-07-02",
        "2021-07-02~",
        "2021?",
        "199X",
        "19XX",
        "-0044-03-15",
        "2020-02-29",
        "Y170000002",
        "0000",
        "1990-21",
        "2021-07~",
        "-0001",
        "1969-12-31",
        "2021-07-31%",
    ]
)
BAD_DATES = st.sampled_from(
    [
        "2021-02-30",
        "2021-13",
        "..",
        "2021/2022",
        "",
        " 2021",
        "2021 ",
        "abc",
        "2021-07-02T10:00",
        "2021-7",
        "20210",
        "1990s",
        "%",
        "2021-W01",
    ]
)
DATES = st.one_of(GOOD_DATES, GOOD_DATES, GOOD_DATES, BAD_DATES)
VALUES = {
    "from": DATES,
    "to": DATES,
    "match": st.sampled_from(["overlap", "within", "overlap", "within", "Overlap", "", "any"]),
    "sort": st.sampled_from(["date", "-date", "date", "-date", "relevance", "DATE", ""]),
    "limit": st.one_of(
        st.integers(1, 500).map(str),
        st.sampled_from(["501", "0", "050", "-1", "5.0", " 5", "1e2", "abc", "", "٣"]),
    ),
    "count": st.sampled_from(["true", "false", "1", "0", "true", "false", "1", "0", "True", "yes", ""]),
    "cursor": st.one_of(st.text(max_size=20), st.just("x" * 1000), st.just("x" * 1001)),
}
OTHER = {"q": st.sampled_from(["war", ""]), "tag": st.just("war"), "unknown": st.just("1")}


@st.composite
def queries(draw):
    keys = draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=5, unique=True))
    if draw(st.integers(0, 9)) == 0:  # now and then a repeated key
        keys += keys[:1]
    if draw(st.integers(0, 9)) == 0:  # now and then a key the fast path leaves to marshmallow
        keys.append(draw(st.sampled_from(sorted(OTHER))))
    pairs = [(k, draw({**VALUES, **OTHER}[k])) for k in keys]
    return MultiDict(draw(st.permutations(pairs)))


def full_load(args: MultiDict):
    """What webargs hands the schema: a single value per plain field, lists for lists."""
    data = {}
    for key in args:
        field = SCHEMA.fields.get("from_" if key == "from" else key)
        multiple = field is not None and field.__class__.__name__ == "List"
        data[key] = args.getlist(key) if multiple else args[key]
    try:
        return SCHEMA.load(data)
    except ValidationError:
        return "invalid"


@pytest.mark.slow  # property-heavy (hypothesis, 2000 queries)
def test_fast_load_equals_the_full_load_whenever_it_answers():
    answered: list[dict] = []

    # Derandomized: the same 2000 queries every run, so the counts below cannot flake.
    @settings(max_examples=2000, deadline=None, database=None, derandomize=True)
    @given(queries())
    def check(args):
        fast = SCHEMA.fast_load(args)
        if fast is not None:
            answered.append(fast)
            assert fast == full_load(args), dict(args.lists())

    check()
    # The property is only worth something if the fast path answered many of the queries.
    windows = [a for a in answered if "from_" in a and "to" in a]
    assert len(answered) >= 200 and len(windows) >= 25, (len(answered), len(windows))


def test_fast_load_answers_the_common_queries():
    """It must answer the hot queries, or it is not a fast path at all."""
    for query in (
        [("from", "2021-07"), ("to", "2021-07-31"), ("limit", "50")],
        [("from", "2021"), ("to", "2021"), ("match", "within"), ("sort", "-date"), ("cursor", "abc")],
        [("limit", "500"), ("count", "true")],
        [],
    ):
        args = MultiDict(query)
        assert SCHEMA.fast_load(args) == full_load(args) != "invalid"


def test_fast_load_declines_what_it_does_not_handle():
    for query in (
        [("from", "2021"), ("from", "2022")],
        [("q", "war")],
        [("limit", "501")],
        [("limit", "05")],
        [("from", "2022"), ("to", "2021")],
        [("from", "nonsense")],
        [("sort", "relevance")],
    ):
        assert SCHEMA.fast_load(MultiDict(query)) is None, query


def test_declined_queries_get_the_full_error_over_http(client):
    r = client.get("/api/v1/events?from=2022&to=2021")
    assert r.status_code == 400 and "from" in r.get_json()["errors"]
    r = client.get("/api/v1/events?limit=501")
    assert r.status_code == 400 and "limit" in r.get_json()["errors"]
    r = client.get("/api/v1/events?from=2021-07&limit=5")
    assert r.status_code == 200 and r.get_json()["limit"] == 5
