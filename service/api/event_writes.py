"""Writing events: create, replace, merge-patch, delete and the atomic import.

Validation errors and the store's refusals pass through the views; the blueprint's
:func:`~service.errors.map_refusals` words them."""

from __future__ import annotations

from functools import wraps

import orjson
from flask import Response, request, url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError

from .. import auth, ingest
from ..errors import ApiError, map_refusals
from ..schemas import READ_ONLY_EVENT_FIELDS, EventOutSchema, EventSchema, ImportResultSchema
from ..slugs import RESERVED_IDS
from . import bodies, get_store, problems
from .events import event_etag

blp = Blueprint(
    "event-writes",
    __name__,
    url_prefix="/api/v1",
    description="Writing events: create, replace, merge-patch, delete and the atomic import.",
)


def _invalid(exc: ValidationError) -> str:
    fields_ = ", ".join(f"'{k}'" for k in exc.messages) if isinstance(exc.messages, dict) else ""
    return f"Invalid field {fields_}.".replace("field '_schema'", "body")


map_refusals(
    blp,
    invalid=_invalid,
    conflict="An event with id '{}' exists; PUT replaces it.",
    missing="No event with id '{}'.",
    stale="'{}' has changed; nothing was written.",
)


def not_reserved(view):
    """/events/histogram, /facets and /import are not events: other methods there are 405."""

    @wraps(view)
    def wrapped(event_id=None, **kwargs):
        if event_id in RESERVED_IDS:
            allow = "POST" if event_id == "import" else "GET, HEAD, OPTIONS"
            raise ApiError(
                "method-not-allowed",
                f"/events/{event_id} is not an event; it allows {allow}.",
                headers={"Allow": allow},
            )
        return view(event_id=event_id, **kwargs) if event_id is not None else view(**kwargs)

    return wrapped


def _event_response(doc: str, status: int) -> Response:
    event = orjson.loads(doc)
    response = Response(doc, status=status, mimetype="application/json")
    response.set_etag(event_etag(event["id"], event["version"]))
    response.headers["Location"] = url_for("events.get_event", event_id=event["id"])
    return response


def _if_match(store, event_id: str) -> int | None:
    """The version an If-Match header pins (None without the header); 412 when stale."""
    if not request.if_match or request.if_match.star_tag:
        if request.if_match.star_tag and not store.event_exists(event_id):
            raise ApiError("precondition-failed", f"If-Match: * but no event '{event_id}' exists.")
        return None
    found = store.get_event(event_id)
    if found is None:
        raise ApiError(
            "precondition-failed", f"If-Match names a version of '{event_id}', which does not exist."
        )
    version = found[1]
    if not request.if_match.contains(event_etag(event_id, version)):
        raise ApiError(
            "precondition-failed",
            f"'{event_id}' has changed (it is at version {version}); nothing was written.",
        )
    return version


_body_doc = {"requestBody": {"required": True, "content": {"application/json": {"schema": EventSchema}}}}
_write_doc = {"security": [{"bearerAuth": []}]}
_NOT_AN_EVENT = (405, "The id is histogram, facets or import: not an event.")


@blp.route("/events", methods=["POST"])
@blp.doc(**_body_doc, **_write_doc)
@blp.alt_response(201, schema=EventOutSchema, success=True, description="Created; Location and ETag name it.")
@problems(blp, 409, 422)
@auth.require("write", get_store)
def create_event(**_):
    """Create an event (its id derived from date and title when absent)."""
    data = bodies.json_body()
    store = get_store()
    with store.write():
        row = ingest.prepare_one(store, data)
        _outcome, doc = store.upsert_event(row, create_only=True)
    return _event_response(doc, 201)


@blp.route("/events/<string:event_id>", methods=["PUT"])
@blp.doc(**_body_doc, **_write_doc)
@blp.alt_response(200, schema=EventOutSchema, success=True, description="Replaced (or unchanged).")
@blp.alt_response(201, schema=EventOutSchema, description="Created with this id.")
@problems(blp, 412, 422, _NOT_AN_EVENT)
@not_reserved
@auth.require("write", get_store)
def replace_event(event_id):
    """Replace an event, or create it with this id."""
    data = bodies.json_body()
    store = get_store()
    with store.write():
        version = _if_match(store, event_id)
        row = ingest.prepare_one(store, data, event_id)
        outcome, doc = store.upsert_event(row, if_version=version)
    return _event_response(doc, 201 if outcome == "created" else 200)


@blp.route("/events/<string:event_id>", methods=["PATCH"])
@blp.doc(requestBody=bodies.MERGE_PATCH_BODY, **_write_doc)
@blp.alt_response(200, schema=EventOutSchema, success=True)
@problems(blp, 404, 412, 422, _NOT_AN_EVENT)
@not_reserved
@auth.require("write", get_store)
def patch_event(event_id):
    """Change an event with a JSON Merge Patch (RFC 7396): null removes an optional field."""
    patch = bodies.json_body(bodies.MERGE_PATCH, *bodies.JSON_TYPES)
    if not isinstance(patch, dict):
        raise ApiError(
            "validation", "A merge patch for an event is a JSON object.", {"_schema": ["Must be an object."]}
        )
    bodies.check_patch_fields(patch, EventSchema(), READ_ONLY_EVENT_FIELDS)
    store = get_store()
    with store.write():
        found = store.get_event(event_id)
        if found is None:
            raise ApiError("not-found", f"No event with id '{event_id}'.")
        version = _if_match(store, event_id)
        merged = ingest.merge_patch(ingest.writable_fields(orjson.loads(found[0])), patch)
        row = ingest.prepare_one(store, merged, event_id)
        _outcome, doc = store.upsert_event(row, if_version=version if version is not None else found[1])
    return _event_response(doc, 200)


@blp.route("/events/<string:event_id>", methods=["DELETE"])
@blp.doc(**_write_doc)
@blp.alt_response(204, success=True, description="Deleted.")
@problems(blp, 404, 412, _NOT_AN_EVENT)
@not_reserved
@auth.require("write", get_store)
def delete_event(event_id):
    """Delete an event."""
    store = get_store()
    with store.write():
        version = _if_match(store, event_id)
        store.delete_event(event_id, if_version=version)
    return Response(status=204)


@blp.route("/events/import", methods=["POST"])
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": EventSchema}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    **_write_doc,
    parameters=[
        {
            "name": "dry_run",
            "in": "query",
            "schema": {"type": "boolean", "default": False},
            "description": "Validate and count only; write nothing.",
        }
    ],
)
@blp.alt_response(200, schema=ImportResultSchema, success=True)
@problems(blp, (422, "Invalid items: `errors` maps each item's index to its field errors."))
@auth.require("write", get_store)
def import_events():
    """Upsert a JSON array or NDJSON of events by id in one transaction: all or nothing."""
    dry_run = request.args.get("dry_run", "false")
    if dry_run not in ("true", "false", "1", "0"):
        raise ApiError(
            "bad-request", "Parameter 'dry_run': must be true or false.", {"dry_run": ["Not a boolean."]}
        )
    dry = dry_run in ("true", "1")
    items = bodies.import_items()
    counts = ingest.import_items(get_store(), items, dry_run=dry)  # BatchInvalid: a 422 (errors.py)
    return Response(orjson.dumps({**counts.as_dict(), "dry_run": dry}), mimetype="application/json")
