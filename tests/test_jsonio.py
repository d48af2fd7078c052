"""Strict, streamed JSON reading (service/jsonio.py): what imports and bodies are read with."""

from __future__ import annotations

import io
import json
import random

import pytest

from service.jsonio import JSONError, iter_array, iter_ndjson, loads

ITEMS = [
    {
        "id": f"e{i}",
        "text": "x" * random.Random(i).randint(0, 3000),
        "n": [1.5, 2, None, True, 10**15],
        "u": "é€😀 \u2028",
    }
    for i in range(200)
]


@pytest.mark.parametrize("chunk", [1, 2, 7, 100, 4096, 65536])
@pytest.mark.parametrize("indent", [None, 2])
def test_array_items_decode_across_any_chunk_boundary(chunk, indent):
    raw = json.dumps(ITEMS, ensure_ascii=False, indent=indent).encode()
    assert list(iter_array(io.BytesIO(raw), chunk)) == ITEMS


def test_array_reader_keeps_at_most_an_item_and_a_chunk_buffered():
    raw = json.dumps(ITEMS).encode()
    items = iter_array(io.BytesIO(raw), 1024)
    next(items)
    reader_frame = items.gi_frame.f_locals["reader"]
    for _ in items:
        assert len(reader_frame.buf) < 2 * 1024 + 4 * 3100


@pytest.mark.parametrize("body", [b"[]", b" [ ] ", b"[1, 22, 333]"])
def test_small_arrays(body):
    assert list(iter_array(io.BytesIO(body), 1)) == json.loads(body)


@pytest.mark.parametrize(
    "body,why",
    [
        (b"[1,]", "Expecting value"),
        (b"[1 2]", "expected ','"),
        (b"{}", "JSON array"),
        (b"[1", "ends early"),
        (b"[1] x", "extra data"),
        (b'[{"a":1,"a":2}]', "duplicate key"),
        (b"[NaN]", "NaN"),
        (b"\xff[1]", "UTF-8"),
        (b"", "ends early"),
        (b"[,1]", "Expecting value"),
        (b"[" * 100_000, "Expecting value|recursion|ends early"),
    ],
)
def test_bad_arrays_name_the_problem(body, why):
    with pytest.raises(JSONError, match=why):
        list(iter_array(io.BytesIO(body), 64))


def test_ndjson_skips_blank_lines_and_names_a_bad_line():
    assert list(iter_ndjson(io.BytesIO(b'{"a":1}\n\n{"b":2}\n'))) == [{"a": 1}, {"b": 2}]
    with pytest.raises(JSONError, match="line 2"):
        list(iter_ndjson(io.BytesIO(b'{"a":1}\n{"a":1,"a":2}\n')))


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', "NaN", "[Infinity]", "{} {}", "{"])
def test_loads_is_strict(text):
    with pytest.raises((ValueError, RecursionError)):
        loads(text)
