"""The change feed: every create, update and delete, oldest first."""

from __future__ import annotations

import orjson
from flask import Response
from flask_smorest import Blueprint

from ..schemas import ChangeFeedSchema, ChangesQuerySchema
from . import get_store, query_answer

blp = Blueprint("changes", __name__, url_prefix="/api/v1", description="The change feed.")


@blp.route("/changes", methods=["GET"])
@query_answer(blp, ChangesQuerySchema(), ChangeFeedSchema)
def changes(args):
    """Changes with seq greater than `since`; applying all from since=0 rebuilds every event."""
    rows = get_store().changes(args["since"], args["limit"])
    parts = []
    for seq, op, event_id, at, doc in rows:
        head = orjson.dumps({"seq": seq, "op": op, "id": event_id, "at": at})
        parts.append(head[:-1] + b',"event":' + doc.encode() + b"}" if doc else head)
    next_since = rows[-1][0] if rows else args["since"]
    body = b'{"changes":[' + b",".join(parts) + b'],"next_since":' + str(next_since).encode() + b"}"
    return Response(body, mimetype="application/json")
