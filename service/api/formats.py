"""Other representations of an event list (section 4): chosen by `format=` or Accept.

ndjson, csv and geojson stream every match in keyset batches, so memory stays flat up
to EXPORT_CAP events; ics, timelinejs and vis are whole documents, capped at DOCUMENT_CAP.
"""
from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app, stream_with_context

from .. import formats
from . import get_store


def _title(timeline: str | None) -> tuple[str, str]:
    if timeline:
        tl = get_store().get_timeline(timeline)
        if tl:
            return tl["title"], tl.get("description") or ""
    return current_app.config.get("API_TITLE", "Timeline"), ""


def format_response(fmt: str, f: dict[str, Any], args: dict[str, Any], timeline: str | None = None) -> Response:
    store = get_store()
    descending = args.get("sort") == "-date"
    mimetype = formats.MEDIA_TYPES[fmt]
    if fmt in formats.STREAMED:
        docs = store.iter_events(f, descending=descending, cap=current_app.config["EXPORT_CAP"])
        if fmt == "ndjson":
            body = formats.ndjson(docs)
        elif fmt == "csv":
            body = (chunk.encode("utf-8") for chunk in formats.csv_stream(docs))
        else:
            body = formats.geojson_stream(docs)
        response = Response(stream_with_context(body), mimetype=mimetype.split(";")[0])
        if fmt == "csv":
            response.headers["Content-Type"] = "text/csv; charset=utf-8; header=present"
            response.headers["Content-Disposition"] = 'inline; filename="events.csv"'
        return response
    cap = current_app.config["DOCUMENT_CAP"]
    events = [orjson.loads(doc) for doc in store.iter_events(f, descending=descending, cap=cap)]
    title, text = _title(timeline)
    if fmt == "ics":
        response = Response(formats.ics(events, name=title), mimetype="text/calendar")
        response.headers["Content-Disposition"] = 'inline; filename="events.ics"'
        return response
    if fmt == "timelinejs":
        doc = formats.timelinejs(events, title=title, text=text, group_by=args.get("group"))
    else:
        doc = formats.vis(events, group_by=args.get("group"))
    return Response(orjson.dumps(doc), mimetype="application/json")
