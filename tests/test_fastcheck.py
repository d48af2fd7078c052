"""The fast event loader gives exactly what the marshmallow schema gives, or declines.

Generated events are valid ones and near-valid ones (one to three mutations each: wrong
types, bools for ints, NaN and infinities, None, long strings at and past every length
limit, control characters, padding whitespace, unicode, unknown keys, missing fields,
bad dates, location and source variants). For each, ``fastcheck.load_event`` must either
return None or the schema's own result, with the same key order and value types.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from factories import WRITABLE_FIELDS, Generator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service import fastcheck, ingest
from service.schemas import EventSchema

SCHEMA = EventSchema()
SEED = Path(__file__).resolve().parents[1] / "seed" / "events.json"


def schema_load(data):
    try:
        return SCHEMA.load(data)
    except ValidationError:
        return None


def same(a, b) -> bool:
    """Equal, with the same key order and the same types (1 is not 1.0, True is not 1)."""
    return a == b and repr(a) == repr(b)


# --------------------------------------------------------------------------- strategies

WORDS = [
    "Kabul",
    "talks",
    "Ünïcødé",
    "漢字",
    "troops",
    "report",
    "ceasefire",
    "🙂",
    "Müller",
    "O'Brien",
    "a-b",
]
PADS = ["", " ", "\t", "\n", "\u2003", " \r\n "]
CONTROLS = ["\x00", "\x07", "\x0b", "\x1f", "\x7f", "\x1b"]


def sized_text(limit: int) -> st.SearchStrategy[str]:
    """Words, or a string right at / just past ``limit`` (after stripping), padded or not."""
    words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
    edge = st.sampled_from([0, 1, limit - 1, limit, limit + 1]).map(lambda n: "x" * max(n, 0))
    return st.tuples(st.sampled_from(PADS), st.one_of(words, edge), st.sampled_from(PADS)).map("".join)


slug = st.one_of(
    st.sampled_from(["war", "politics", "human-rights", "a", "x" * 100, "afghanistan-2021"]),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
)
good_date = st.sampled_from(
    [
        "2021-07-02",
        "2021",
        "2021-07",
        "199X",
        "19XX",
        "2021-21",
        "-0043-03-15",
        "2021-07/..",
        "../2021",
        "/2021",
        "2021-07-02/2021-07-05",
        "2021?",
        "2004-06~",
        "2021-07-05T03:00:00Z",
        " 2021-07-02 ",
        "Y12021",
        "1985-04-XX",
    ]
)
bad_date = st.sampled_from(
    [
        "2021-02-30",
        "nope",
        "",
        "2021-13",
        "2021/2020",
        "-0000",
        "12021",
        "2021-07-02/..//",
        "2021-25",
        "2021?~",
        "x" * 101,
    ]
)
coord_lat = st.one_of(st.floats(-90, 90), st.integers(-90, 90))
coord_lon = st.one_of(st.floats(-180, 180), st.integers(-180, 180))
country = st.sampled_from(["AF", "TJ", "US", "FR", "IT"])
url = st.sampled_from(["https://example.org/a", "http://x.org/?a=1;b=2", "https://news.example.org/1/0"])


@st.composite
def location(draw):
    loc = {}
    if draw(st.booleans()):
        loc["name"] = draw(sized_text(200))
    if draw(st.booleans()):
        loc["country"] = draw(country)
    if draw(st.booleans()) or not loc:
        loc["lat"] = draw(coord_lat)
        loc["lon"] = draw(coord_lon)
    keys = list(loc)
    draw(st.randoms()).shuffle(keys)  # input order must not matter
    return {k: loc[k] for k in keys}


@st.composite
def source(draw):
    src = {}
    if draw(st.booleans()):
        src["url"] = draw(url)
    if draw(st.booleans()) or "url" not in src:
        src["title"] = draw(sized_text(300))
    if draw(st.booleans()):
        src["publisher"] = draw(sized_text(200))
    if draw(st.booleans()):
        src["published"] = draw(good_date)
    if draw(st.booleans()):
        src["quote"] = draw(st.one_of(sized_text(2000), st.just("")))
    return src


@st.composite
def valid_event(draw):
    ev = {"date": draw(good_date), "title": draw(sized_text(200))}
    if draw(st.booleans()):
        ev["id"] = draw(slug)
    optional = {
        "summary": st.one_of(st.none(), sized_text(5000), st.just("")),
        "importance": st.integers(1, 5),
        "tags": st.lists(slug, max_size=4),
        "actors": st.lists(sized_text(100), max_size=4),
        "timelines": st.lists(slug, max_size=3),
        "location": st.one_of(st.none(), location()),
        "sources": st.lists(source(), max_size=3),
        "version": st.integers(),  # read-only fields are accepted and ignored
        "display_date": st.text(max_size=5),
        "created_at": st.none(),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            ev[key] = draw(strategy)
    keys = list(ev)
    draw(st.randoms()).shuffle(keys)
    return {k: ev[k] for k in keys}


ODD_VALUES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        3.0,
        -1,
        6,
        2**70,
        float("nan"),
        float("inf"),
        -float("inf"),
        "",
        " ",
        "3",
        "x" * 5001,
        [],
        {},
        ["a"],
        [None],
        [1],
        ("a",),
        {"a": 1},
        "a\x00b",
        "war ",
        " War",
        "UPPER",
        "histogram",
        "import",
        "a_b",
    ]
)


@st.composite
def mutated(draw, event):
    """Change the event in one of many ways (most make it invalid, some keep it valid)."""
    ev = copy.deepcopy(event)
    kind = draw(
        st.sampled_from(
            [
                "odd-top",
                "drop-required",
                "extra-key",
                "bad-date",
                "control",
                "long",
                "odd-in-list",
                "long-list",
                "location-odd",
                "location-extra",
                "location-half",
                "location-empty",
                "location-range",
                "source-odd",
                "source-extra",
                "source-empty",
                "source-bad-url",
                "source-bad-date",
                "tuple-list",
                "str-subclass",
                "int-subclass",
                "padded-slug",
            ]
        )
    )
    field = draw(st.sampled_from(WRITABLE_FIELDS))
    if kind == "odd-top":
        ev[field] = draw(ODD_VALUES)
    elif kind == "drop-required":
        ev.pop(draw(st.sampled_from(["date", "title"])), None)
    elif kind == "extra-key":
        ev[draw(st.sampled_from(["extra", "Title", "tag", "", "start "]))] = draw(ODD_VALUES)
    elif kind == "bad-date":
        ev["date"] = draw(bad_date)
    elif kind == "control":
        target = draw(st.sampled_from(["title", "summary"]))
        ev[target] = "Title" + draw(st.sampled_from(CONTROLS)) + "x"
    elif kind == "long":
        target, limit = draw(st.sampled_from([("title", 200), ("summary", 5000), ("id", 120)]))
        ev[target] = "a" * (limit + draw(st.integers(0, 2)))
    elif kind == "odd-in-list":
        target = draw(st.sampled_from(["tags", "actors", "timelines", "sources"]))
        base = ev.get(target)
        ev[target] = (list(base) if isinstance(base, list) else []) + [draw(ODD_VALUES)]
    elif kind == "long-list":
        target, limit = draw(
            st.sampled_from([("tags", 50), ("actors", 50), ("timelines", 50), ("sources", 20)])
        )
        filler = {"title": "t"} if target == "sources" else "word"
        ev[target] = [filler] * (limit + draw(st.integers(-1, 1)))
    elif kind.startswith("location"):
        loc = ev.get("location")
        loc = dict(loc) if isinstance(loc, dict) else {"lat": 1.5, "lon": 2}
        if kind == "location-odd":
            loc[draw(st.sampled_from(["name", "country", "lat", "lon"]))] = draw(ODD_VALUES)
        elif kind == "location-extra":
            loc["alt"] = 1
        elif kind == "location-half":
            loc.pop(draw(st.sampled_from(["lat", "lon"])), None)
        elif kind == "location-empty":
            loc = {}
        else:
            loc["lat"], loc["lon"] = draw(
                st.sampled_from(
                    [(90.0, 180), (-90, -180.0), (90.0001, 0), (0, 180.5), (-91, 0), (1e308, 0), (0.0, -0.0)]
                )
            )
        ev["location"] = loc
    elif kind.startswith("source"):
        sources = ev.get("sources") if isinstance(ev.get("sources"), list) else []
        src = dict(sources[0]) if sources and isinstance(sources[0], dict) else {"title": "A source"}
        if kind == "source-odd":
            src[draw(st.sampled_from(["url", "title", "publisher", "published", "quote"]))] = draw(ODD_VALUES)
        elif kind == "source-extra":
            src["page"] = 3
        elif kind == "source-empty":
            src = {draw(st.sampled_from(["publisher", "quote"])): "only"} if draw(st.booleans()) else {}
        elif kind == "source-bad-url":
            src["url"] = draw(
                st.sampled_from(
                    [
                        "ftp://x.org/",
                        "https://",
                        "http://[x",
                        "https://a b",
                        "/relative",
                        "https://" + "x" * 2000,
                    ]
                )
            )
        else:
            src["published"] = draw(bad_date)
        ev["sources"] = [src] + sources[1:]
    elif kind == "tuple-list":
        ev[draw(st.sampled_from(["tags", "actors", "sources"]))] = ("war",)
    elif kind == "str-subclass":

        class S(str):
            pass

        ev["title"] = S("A title")
    elif kind == "int-subclass":

        class IntSubclass(int):
            pass

        ev["importance"] = IntSubclass(3)
    else:
        ev["tags"] = [" war ", "war\n"]  # stripped before the slug check: valid
    return ev


@st.composite
def any_event(draw):
    event = draw(valid_event())
    for _ in range(draw(st.integers(0, 3))):
        event = draw(mutated(event))
    return event


# --------------------------------------------------------------------------- properties


@pytest.mark.slow  # property-heavy (hypothesis)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_event())
def test_fast_path_equals_the_schema_or_declines(event):
    expected = schema_load(event)
    got = fastcheck.load_event(event)
    if got is not None:
        assert expected is not None, (event, got)
        assert same(got, expected), (event, got, expected)
    # validate_event (fast path first) is the schema exactly, result or errors
    try:
        loaded = ingest.validate_event(event)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as schema_error:
            SCHEMA.load(event)
        assert exc.messages == schema_error.value.messages
    else:
        assert same(loaded, expected)


@pytest.mark.slow  # property-heavy (hypothesis)
@settings(max_examples=400, deadline=None)
@given(valid_event())
def test_the_fast_path_takes_valid_events_of_the_common_shape(event):
    expected = schema_load(event)
    got = fastcheck.load_event(event)
    assert same(got, expected)


def test_fast_path_takes_the_seed_and_the_bench_events():
    gen = Generator(5)
    events = json.loads(SEED.read_text("utf-8")) + [gen.event(i, ["bench-wars"]) for i in range(3000)]
    for event in events:
        got = fastcheck.load_event(event)
        assert got is not None, event
        assert same(got, SCHEMA.load(event))


@pytest.mark.parametrize(
    "event",
    [
        {"date": "2021", "title": "x", "importance": True},
        {"date": "2021", "title": "x", "location": {"lat": math.nan, "lon": 0}},
        {"date": "2021", "title": "x", "location": {"lat": 1}},
        {"date": "2021", "title": "x", "location": {}},
        {"date": "2021", "title": "x", "sources": [{"publisher": "P"}]},
        {"date": "2021", "title": "x", "sources": [{"url": "ftp://x.org/"}]},
        {"date": "2021-02-30", "title": "x"},
        {"date": "2021", "title": "   "},
        {"date": "2021", "title": "x", "id": "import"},
        {"date": "2021", "title": "x", "tags": ["Not A Slug"]},
        {"date": "2021", "title": "x", "extra": 1},
        {"date": "2021", "title": "x", "summary": "a\x00b"},
        {"date": None, "title": "x"},
        {"title": "x"},
        {"date": "2021", "title": "x", "tags": ["a"] * 51},
        ["not", "an", "object"],
    ],
)
def test_invalid_events_are_declined(event):
    assert fastcheck.load_event(event) is None
    with pytest.raises(ValidationError):
        ingest.validate_event(event)


def test_values_are_normalised_like_the_schema():
    event = {
        "title": "  Padded\t",
        "date": " 2021-07 ",
        "tags": [" war "],
        "actors": [" A "],
        "location": {"lon": 2, "lat": -1, "name": " Kabul ", "country": "AF"},
        "sources": [{"quote": " q ", "title": " T ", "url": "https://x.org/"}],
        "version": 9,
    }
    got = fastcheck.load_event(event)
    assert same(got, SCHEMA.load(event))
    assert got == {
        "date": " 2021-07 ",
        "title": "Padded",
        "tags": ["war"],
        "actors": ["A"],
        "location": {"name": "Kabul", "country": "AF", "lat": -1.0, "lon": 2.0},
        "sources": [{"url": "https://x.org/", "title": "T", "quote": "q"}],
    }
    assert list(got["location"]) == ["name", "country", "lat", "lon"]


@pytest.mark.slow  # property-heavy (hypothesis)
@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.from_regex(fastcheck._PLAIN_URL, fullmatch=True),
        st.sampled_from(
            [
                "https://x.org/a\nb",
                "https://x.org/ a",
                "http://[::1/",
                "https://x.org:99999/",
                "https://x.org/\u00e9",
                "https://\u00e9.org/",
                "HTTP://X.ORG/",
            ]
        ),
    )
)
def test_urls_the_fast_path_accepts_pass_the_schema_check(value):
    from service.schemas import _http_url

    if fastcheck._PLAIN_URL.fullmatch(value):
        _http_url(value)  # raises ValidationError if the shortcut were wrong
    source = {"url": value}
    got = fastcheck.load_event({"date": "2021", "title": "t", "sources": [source]})
    assert same(got, schema_load({"date": "2021", "title": "t", "sources": [source]})) or got is None


# Every limit the schema's fields declare, as (path to the value, field), and a valid event to
# put values in: the fast path must accept the value at each limit and decline one past it.
_FIELDS = SCHEMA.fields
_LOCATION = _FIELDS["location"].schema.fields
_SOURCE = _FIELDS["sources"].inner.schema.fields
BASE = {"id": "base-event", "date": "2021-07-02", "title": "Base", "location": {"name": "Place"}}
BASE["sources"] = [{"url": "https://example.org/a", "title": "Source"}]
TEXT_LIMITS = [
    (("title",), _FIELDS["title"]),
    (("summary",), _FIELDS["summary"]),
    (("location", "name"), _LOCATION["name"]),
    (("sources", 0, "title"), _SOURCE["title"]),
    (("sources", 0, "publisher"), _SOURCE["publisher"]),
    (("sources", 0, "quote"), _SOURCE["quote"]),
    (("tags", 0), _FIELDS["tags"].inner),
    (("actors", 0), _FIELDS["actors"].inner),
    (("timelines", 0), _FIELDS["timelines"].inner),
]
LIST_LIMITS = [("tags", "x"), ("actors", "x"), ("timelines", "x"), ("sources", {"title": "s"})]
RANGE_LIMITS = [(("importance",), _FIELDS["importance"]), (("location", "lat"), _LOCATION["lat"])]
RANGE_LIMITS += [(("location", "lon"), _LOCATION["lon"])]


def put(path, value):
    event = copy.deepcopy(BASE)
    if path[0] in ("tags", "actors", "timelines"):
        event[path[0]] = ["x"]
    if path[:2] == ("location", "lat") or path[:2] == ("location", "lon"):
        event["location"] = {"lat": 0.0, "lon": 0.0}
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return event


def agree(event) -> bool:
    """The fast path takes the event exactly when the schema does, with the same result."""
    fast, slow = fastcheck.load_event(event), schema_load(event)
    return (fast is not None) == (slow is not None) and (fast is None or same(fast, slow))


@pytest.mark.parametrize(
    "path,field", TEXT_LIMITS, ids=lambda p: "/".join(map(str, p)) if isinstance(p, tuple) else ""
)
def test_the_fast_path_follows_each_text_length_of_the_schema(path, field):
    lo, hi = fastcheck.length(field)
    assert hi and (lo, hi) == (field.validators[0].min or 0, field.validators[0].max)
    for n in (lo, hi, hi + 1) + ((lo - 1,) if lo else ()):
        event = put(path, "a" * n)
        assert agree(event), (path, n)
        assert (fastcheck.load_event(event) is not None) == (lo <= n <= hi), (path, n)


@pytest.mark.parametrize("name,item", LIST_LIMITS)
def test_the_fast_path_follows_each_list_length_of_the_schema(name, item):
    most = fastcheck.length(_FIELDS[name])[1]
    for n in (most, most + 1):
        event = {**BASE, name: [item] * n}
        assert agree(event), (name, n)
        assert (fastcheck.load_event(event) is not None) == (n <= most), (name, n)


@pytest.mark.parametrize(
    "path,field", RANGE_LIMITS, ids=lambda p: "/".join(p) if isinstance(p, tuple) else ""
)
def test_the_fast_path_follows_each_range_of_the_schema(path, field):
    lo, hi = fastcheck.bounds(field)
    step = 1 if path == ("importance",) else 0.5
    for value in (lo, hi, lo - step, hi + step):
        event = put(path, value)
        assert agree(event), (path, value)
        assert (fastcheck.load_event(event) is not None) == (lo <= value <= hi), (path, value)


def test_the_fast_path_reads_its_limits_from_the_fields(monkeypatch):
    """Change a field's limit and load fastcheck again: it follows (no copy of the number)."""
    import importlib

    from marshmallow import validate

    title = EventSchema._declared_fields["title"]
    monkeypatch.setattr(title, "validators", [validate.Length(min=1, max=10)])
    try:
        changed = importlib.reload(fastcheck)
        assert changed.load_event({"date": "2021", "title": "a" * 11}) is None
        assert changed.load_event({"date": "2021", "title": "a" * 10}) is not None
    finally:
        monkeypatch.undo()
        importlib.reload(fastcheck)
    assert fastcheck.load_event({"date": "2021", "title": "a" * 11}) is not None
