"""Strict JSON reading shared by the HTTP bodies and the command line; stdlib only.

Strict: duplicate keys, NaN and Infinity are errors. Streams: a JSON array or NDJSON is
read item by item from a binary file, so an import never holds more than one item (and
one read buffer) in memory besides the file itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO


class JSONError(ValueError):
    """Invalid JSON; the message says where (byte offset or line)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)  # built in C; only a short dict means a key came twice
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _check_text(value: Any, source: str) -> Any:
    """Refuse strings that are not Unicode text: a ``\\ud800`` escape without its pair
    decodes to a lone surrogate, which no UTF-8 writer (SQLite, orjson) accepts later."""
    if "\\u" in source and _SURROGATE_ESCAPE.search(source):
        _walk(value)
    return value


def _walk(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff escape without its pair)"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key)
            _walk(item)
    elif isinstance(value, list):
        for item in value:
            _walk(item)


def loads(text: str | bytes) -> Any:
    """One strict JSON document; ValueError (or RecursionError for absurd nesting) otherwise."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    value, end = _decoder.raw_decode(text.lstrip())
    if text.lstrip()[end:].strip():
        raise ValueError("extra data after the JSON value")
    return _check_text(value, text)


def iter_ndjson(stream: BinaryIO) -> Iterator[Any]:
    """Items of NDJSON, one per non-blank line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield loads(line)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise JSONError(f"line {number} is not valid JSON: {exc}") from None


_WS = " \t\r\n"


def iter_array(stream: BinaryIO, chunk_size: int = 1 << 16) -> Iterator[Any]:
    """Items of a top-level JSON array, decoded one at a time from a binary UTF-8 stream."""
    reader = _Reader(stream, chunk_size)
    if reader.skip_ws() != "[":
        raise JSONError("an import body is a JSON array of events (or NDJSON)")
    reader.pos += 1
    if reader.skip_ws() == "]":
        reader.pos += 1
        reader.expect_end()
        return
    while True:
        reader.skip_ws()
        yield reader.value()
        c = reader.skip_ws()
        reader.pos += 1
        if c == "]":
            reader.expect_end()
            return
        if c != ",":
            raise JSONError(f"expected ',' or ']' after an array item at character {reader.offset()}")


class _Reader:
    def __init__(self, stream: BinaryIO, chunk_size: int):
        import codecs

        self.stream, self.chunk_size = stream, chunk_size
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.consumed, self.eof = "", 0, 0, False

    def offset(self) -> int:
        return self.consumed + self.pos

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(self.chunk_size)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise JSONError("the body is not valid UTF-8") from None
        if not data:
            self.eof = True
        # Drop what was consumed so the buffer holds at most one item plus a chunk.
        self.consumed += self.pos
        self.buf, self.pos = self.buf[self.pos :] + text, 0
        return bool(data) or bool(text)

    def skip_ws(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                raise JSONError("the JSON array ends early")

    def value(self) -> Any:
        while True:
            try:
                value, end = _decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof and self._more():
                    continue  # the item may run on into the next chunk
                raise JSONError(f"invalid JSON at character {self.consumed + exc.pos}: {exc.msg}") from None
            except (ValueError, RecursionError) as exc:
                raise JSONError(f"invalid JSON item at character {self.offset()}: {exc}") from None
            if end == len(self.buf) and not self.eof:
                # A number at the very end of the buffer may continue in the next chunk.
                if self._more():
                    continue
            try:
                _check_text(value, self.buf[self.pos : end])
            except ValueError as exc:
                raise JSONError(f"invalid JSON item at character {self.offset()}: {exc}") from None
            self.pos = end
            return value

    def expect_end(self) -> None:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                raise JSONError(f"extra data after the JSON array at character {self.offset()}")
            if not self._more():
                return
