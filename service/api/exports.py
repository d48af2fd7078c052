"""Other representations of an event list (section 4), chosen by `format=` or Accept, over HTTP.

The bytes come from :func:`service.formats.export` (as for ``timeline export``); here they
are capped and streamed. ndjson, csv and geojson stream every match in keyset batches, so
memory stays flat up to EXPORT_CAP events; ics, timelinejs and vis are whole documents,
capped at DOCUMENT_CAP.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, current_app, stream_with_context

from .. import formats
from ..store import Filters
from . import get_store

STREAM_PIECE = 64 * 1024  # bytes handed to the WSGI server at once, while streaming
STREAM_WAIT = 0.25  # seconds: what has waited this long goes out with the next event


def coalesced(
    chunks: Iterable[bytes], size: int = STREAM_PIECE, wait: float = STREAM_WAIT, clock=time.monotonic
) -> Iterator[bytes]:
    """The same bytes, in pieces of about ``size``: the formats yield one small chunk per
    event, and each piece is one socket write for the server (one HTTP chunk), so a large
    export goes out in a few writes per megabyte instead of one per event. A piece also
    goes out, at the next event, once its first byte has waited ``wait`` seconds, so a
    slow, sparse match still streams. Empty chunks are dropped."""
    piece: list[bytes] = []
    held = 0
    since = 0.0
    for chunk in chunks:
        if not chunk:
            continue
        if not piece:
            since = clock()
        piece.append(chunk)
        held += len(chunk)
        if held >= size or clock() - since >= wait:
            yield b"".join(piece)
            piece, held = [], 0
    if piece:
        yield b"".join(piece)


def _title(timeline: str | None) -> tuple[str, str]:
    if timeline:
        tl = get_store().get_timeline(timeline)
        if tl:
            return tl["title"], tl.get("description") or ""
    return current_app.config.get("API_TITLE", "Timeline"), ""


def format_response(fmt: str, f: Filters, args: dict[str, Any], timeline: str | None = None) -> Response:
    """The matches of ``f`` in format ``fmt`` (not json: that is the page)."""
    store = get_store()
    descending = args.get("sort") == "-date"
    mimetype = formats.MEDIA_TYPES[fmt]
    if fmt in formats.STREAMED:
        docs = store.iter_events(f, descending=descending, cap=current_app.config["EXPORT_CAP"])
        body = coalesced(formats.export(fmt, docs, title=""), STREAM_PIECE, STREAM_WAIT)
        response = Response(stream_with_context(body), mimetype=mimetype.split(";")[0])
        if fmt == "csv":
            response.headers["Content-Type"] = "text/csv; charset=utf-8; header=present"
            response.headers["Content-Disposition"] = 'inline; filename="events.csv"'
        return response
    docs = store.iter_events(f, descending=descending, cap=current_app.config["DOCUMENT_CAP"])
    title, text = _title(timeline)
    body = b"".join(formats.export(fmt, docs, title=title, text=text, group_by=args.get("group")))
    if fmt == "ics":
        response = Response(body, mimetype="text/calendar")
        response.headers["Content-Disposition"] = 'inline; filename="events.ics"'
        return response
    return Response(body, mimetype="application/json")
