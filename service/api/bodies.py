"""Reading request bodies: content type (415), size (413), strict JSON (400)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from flask import current_app, request
from marshmallow import fields as ma_fields

from ..errors import ApiError
from ..jsonio import JSONError, iter_array, iter_ndjson, loads

JSON_TYPES = ("application/json",)
MERGE_PATCH = "application/merge-patch+json"
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
#: The OpenAPI ``requestBody`` of a PATCH: a JSON object, as a merge patch or plain JSON.
MERGE_PATCH_BODY = {
    "required": True,
    "content": {MERGE_PATCH: {"schema": {"type": "object"}}, JSON_TYPES[0]: {"schema": {"type": "object"}}},
}


def require_type(*allowed: str) -> str:
    mimetype = request.mimetype
    if mimetype not in allowed:
        raise ApiError(
            "unsupported-media-type",
            f"Content-Type must be {' or '.join(allowed)}, not '{mimetype or 'none'}'.",
        )
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
    """Items of an import body, a JSON array or NDJSON, spooled then decoded one at a time."""
    mimetype = require_type(*JSON_TYPES, *NDJSON_TYPES)
    limit = current_app.config["MAX_IMPORT_BYTES"]
    check_size(limit)
    spool = _spool(request.stream, limit)
    if _blank(spool):
        raise ApiError(
            "empty-body",
            "The body is empty: send a JSON array or NDJSON of events "
            "(with curl, check that the file named by --data-binary @FILE exists).",
        )
    items = iter_ndjson(spool) if mimetype in NDJSON_TYPES else iter_array(spool)
    return _as_problems(items)


def _as_problems(items: Iterator[Any]) -> Iterator[Any]:
    """Items, with a JSON error in the middle of the stream turned into a 400 problem."""
    try:
        yield from items
    except JSONError as exc:
        raise ApiError("malformed-body", f"The body is not valid JSON: {exc}.") from None


def _blank(spool) -> bool:
    """Whether a spooled body holds nothing but white space (left rewound)."""
    try:
        while chunk := spool.read(65536):
            if chunk.strip():
                return False
        return True
    finally:
        spool.seek(0)


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


def check_patch_fields(patch: dict, schema, ignored: tuple[str, ...] = ()) -> None:
    """A merge patch names only fields the schema knows (422 otherwise), nested objects too.

    Without this, ``{"bogus": null}`` would pass: merging removes a member that is not
    there, and the result validates. Unknown fields are errors in every write.
    """

    def unknown(obj: dict, sch, top: bool) -> dict:
        """Field errors shaped as marshmallow shapes them: nested objects nest."""
        bad: dict = {}
        declared = {f.data_key or name: f for name, f in sch.fields.items()}
        for key, value in obj.items():
            field = declared.get(key)
            if field is None:
                if not (top and key in ignored):
                    bad[key] = ["Unknown field."]
            elif isinstance(field, ma_fields.Nested) and isinstance(value, dict):
                inner = unknown(value, field.schema, False)
                if inner:
                    bad[key] = inner
        return bad

    bad = unknown(patch, schema, True)
    if bad:
        raise ApiError("validation", f"Unknown field(s) in the merge patch: {', '.join(bad)}.", bad)
