"""The change feed: every create, update and delete, oldest first."""

from __future__ import annotations

import orjson
from flask import Response
from flask_smorest import Blueprint

from ..schemas import ChangeFeedSchema, ChangesQuerySchema, ProblemSchema
from . import get_store

blp = Blueprint("changes", __name__, url_prefix="/api/v1", description="The change feed.")


@blp.route("/changes", methods=["GET"])
@blp.arguments(ChangesQuerySchema(), location="query", error_status_code=400, as_kwargs=False)
@blp.alt_response(200, schema=ChangeFeedSchema, success=True)
@blp.alt_response(400, schema=ProblemSchema, content_type="application/problem+json")
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
