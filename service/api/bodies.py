"""Reading request bodies: content type (415), size (413), strict JSON (400)."""
from __future__ import annotations

import json
import tempfile
from typing import Any, Iterator

from flask import current_app, request

from ..errors import ApiError

JSON_TYPES = ("application/json",)
MERGE_PATCH = "application/merge-patch+json"
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys; ValueError otherwise."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def require_type(*allowed: str) -> str:
    mimetype = request.mimetype
    if mimetype not in allowed:
        raise ApiError("unsupported-media-type",
                       f"Content-Type must be {' or '.join(allowed)}, not '{mimetype or 'none'}'.")
    return mimetype


def check_size(limit: int) -> None:
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError("payload-too-large", f"The body has {length} bytes; the limit is {limit}.")


def json_body(*allowed: str) -> Any:
    """The parsed JSON body of a write (at most MAX_BODY_BYTES)."""
    require_type(*(allowed or JSON_TYPES))
    limit = current_app.config["MAX_BODY_BYTES"]
    check_size(limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError("payload-too-large", f"The body is over the limit of {limit} bytes.")
    try:
        return loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError("malformed-body", "The body is not valid UTF-8.") from None
    except RecursionError:
        raise ApiError("malformed-body", "The JSON is nested too deeply.") from None
    except ValueError as exc:
        raise ApiError("malformed-body", f"The body is not valid JSON: {exc}.") from None


def import_items() -> Iterator[Any]:
    """Items of an import body: a JSON array, or NDJSON read line by line (streamed)."""
    mimetype = require_type(*JSON_TYPES, *NDJSON_TYPES)
    limit = current_app.config["MAX_IMPORT_BYTES"]
    check_size(limit)
    stream = request.stream
    if mimetype in NDJSON_TYPES:
        return _ndjson_items(_spool(stream, limit), limit)
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError("payload-too-large", f"The body is over the import limit of {limit} bytes.")
    try:
        data = loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError("malformed-body", f"The body is not a valid JSON array: {exc}.") from None
    if not isinstance(data, list):
        raise ApiError("malformed-body", "An import body is a JSON array of events (or NDJSON).")
    return iter(data)


def _spool(stream, limit: int):
    """The whole body in a temporary file (in memory up to 1 MiB, then on disk), read before
    the import's transaction begins: a slow client must never hold the write lock."""
    spool = tempfile.SpooledTemporaryFile(max_size=1_048_576)
    total = 0
    while chunk := stream.read(65536):
        total += len(chunk)
        if total > limit:
            spool.close()
            raise ApiError("payload-too-large", f"The body is over the import limit of {limit} bytes.")
        spool.write(chunk)
    spool.seek(0)
    return spool


def _ndjson_items(stream, limit: int) -> Iterator[Any]:
    total = 0
    for number, line in enumerate(stream, start=1):
        total += len(line)
        if total > limit:
            raise ApiError("payload-too-large", f"The body is over the import limit of {limit} bytes.")
        if not line.strip():
            continue
        try:
            yield loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiError("malformed-body", f"Line {number} is not valid JSON: {exc}.") from None
