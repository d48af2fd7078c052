"""Timelines: named collections of events, and their events in every format."""

from __future__ import annotations

import orjson
from flask import Response, request, url_for
from flask_smorest import Blueprint

from .. import auth, dates, ingest
from ..errors import ApiError, map_refusals
from ..schemas import (
    EventListQuerySchema,
    EventPageSchema,
    TimelineCreateSchema,
    TimelineListSchema,
    TimelineOutSchema,
    TimelineSchema,
)
from ..store import OPEN_END, OPEN_START, utc_now
from . import QueryParser, bodies, get_store, problems
from .events import event_page

blp = Blueprint("timelines", __name__, url_prefix="/api/v1", description="Timelines and their events.")
blp.ARGUMENTS_PARSER = QueryParser()
map_refusals(
    blp,
    invalid=lambda _exc: "Invalid timeline.",
    conflict="Timeline '{}' exists; PUT replaces it.",
    missing="No timeline '{}'.",
    stale="Timeline '{}' has changed; nothing was written.",
)
_write_doc = {"security": [{"bearerAuth": []}]}
_body = {"requestBody": {"required": True, "content": {"application/json": {"schema": TimelineSchema}}}}


def timeline_json(tl: dict) -> dict:
    """The public shape: derived start/end are null when there are no events or one is open."""
    start, end = tl["start_key"], tl["end_key"]
    return {
        "slug": tl["slug"],
        "title": tl["title"],
        "description": tl["description"],
        "event_count": tl["event_count"],
        "start": None if start is None or start == OPEN_START else dates.iso_day(start),
        "end": None if end is None or end == OPEN_END else dates.iso_day(end),
        "created_at": tl["created_at"],
        "updated_at": tl["updated_at"],
        "version": tl["version"],
    }


def _etag(tl: dict) -> str:
    # The derived fields are part of the representation: an event moving changes start/end.
    return f"tl-{tl['version']}-{tl['event_count']}-{tl['start_key']}-{tl['end_key']}"


def _one(slug: str) -> dict:
    tl = get_store().get_timeline(slug)
    if tl is None:
        raise ApiError("not-found", f"No timeline '{slug}'.")
    return tl


def _response(tl: dict, status: int = 200) -> Response:
    response = Response(orjson.dumps(timeline_json(tl)), status=status, mimetype="application/json")
    response.set_etag(_etag(tl))
    response.headers["Location"] = url_for("timelines.get_timeline", slug=tl["slug"])
    return response


def _load(data, slug: str | None = None) -> dict:
    if slug is not None and isinstance(data, dict):
        if "slug" in data and data["slug"] != slug:
            raise ApiError(
                "validation", "The body's slug differs from the path's.", {"slug": ["Differs from the path."]}
            )
        data = {**data, "slug": slug}
    loaded = ingest.validate_timeline(data)
    if "slug" not in loaded:
        raise ApiError(
            "validation", "A timeline needs a slug.", {"slug": ["Missing data for required field."]}
        )
    return loaded


def _if_match_version(store, slug: str) -> int | None:
    if not request.if_match or request.if_match.star_tag:
        return None
    tl = store.get_timeline(slug)
    if tl is None or not request.if_match.contains(_etag(tl)):
        raise ApiError("precondition-failed", f"Timeline '{slug}' has changed; nothing was written.")
    return tl["version"]


@blp.route("/timelines", methods=["GET"])
@blp.alt_response(200, schema=TimelineListSchema, success=True)
def list_timelines():
    """Every timeline, by slug."""
    items = [timeline_json(t) for t in get_store().list_timelines()]
    return Response(orjson.dumps({"items": items}), mimetype="application/json")


@blp.route("/timelines", methods=["POST"])
@blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": TimelineCreateSchema}}},
    **_write_doc,
)
@blp.alt_response(201, schema=TimelineOutSchema, success=True)
@problems(blp, 409, 422)
@auth.require("write", get_store)
def create_timeline():
    """Create a timeline."""
    loaded = _load(bodies.json_body())
    store = get_store()
    with store.write():
        store.upsert_timeline(loaded, create_only=True)
    return _response(_one(loaded["slug"]), 201)


@blp.route("/timelines/<string:slug>", methods=["GET"])
@blp.alt_response(200, schema=TimelineOutSchema, success=True)
@problems(blp, 404)
def get_timeline(slug):
    """One timeline with its derived event_count, start and end."""
    return _response(_one(slug))


@blp.route("/timelines/<string:slug>", methods=["PUT"])
@blp.doc(**_body, **_write_doc)
@blp.alt_response(200, schema=TimelineOutSchema, success=True)
@blp.alt_response(201, schema=TimelineOutSchema)
@problems(blp, 412, 422)
@auth.require("write", get_store)
def replace_timeline(slug):
    """Replace a timeline, or create it with this slug."""
    loaded = _load(bodies.json_body(), slug)
    store = get_store()
    with store.write():
        outcome = store.upsert_timeline(loaded, if_version=_if_match_version(store, slug))
    return _response(_one(slug), 201 if outcome == "created" else 200)


@blp.route("/timelines/<string:slug>", methods=["PATCH"])
@blp.doc(requestBody=bodies.MERGE_PATCH_BODY, **_write_doc)
@blp.alt_response(200, schema=TimelineOutSchema, success=True)
@problems(blp, 404, 422)
@auth.require("write", get_store)
def patch_timeline(slug):
    """Change a timeline with a JSON Merge Patch."""
    patch = bodies.json_body(bodies.MERGE_PATCH, *bodies.JSON_TYPES)
    if not isinstance(patch, dict):
        raise ApiError("validation", "A merge patch is a JSON object.", {"_schema": ["Must be an object."]})
    bodies.check_patch_fields(
        patch, TimelineSchema(), ("event_count", "start", "end", "created_at", "updated_at", "version")
    )
    store = get_store()
    with store.write():
        current = _one(slug)
        version = _if_match_version(store, slug)
        target = {k: current[k] for k in ("slug", "title", "description") if current.get(k) is not None}
        loaded = _load(ingest.merge_patch(target, patch), slug)
        store.upsert_timeline(loaded, if_version=version)
    return _response(_one(slug))


@blp.route("/timelines/<string:slug>", methods=["DELETE"])
@blp.doc(
    **_write_doc,
    parameters=[
        {
            "name": "cascade",
            "in": "query",
            "schema": {"type": "boolean", "default": False},
            "description": "Detach the timeline's events (each gets a new version) instead of refusing.",
        }
    ],
)
@blp.alt_response(204, success=True, description="Deleted.")
@problems(blp, 404, (409, "It still has events and cascade is not true."))
@auth.require("write", get_store)
def delete_timeline(slug):
    """Delete a timeline; one that still has events needs ?cascade=true, which detaches them."""
    cascade = request.args.get("cascade", "false")
    if cascade not in ("true", "false", "1", "0"):
        raise ApiError(
            "bad-request", "Parameter 'cascade': must be true or false.", {"cascade": ["Not a boolean."]}
        )
    store = get_store()
    with store.write():
        _one(slug)
        _if_match_version(store, slug)
        event_ids = store.timeline_event_ids(slug)
        if event_ids and cascade not in ("true", "1"):
            raise ApiError(
                "conflict",
                f"Timeline '{slug}' still has {len(event_ids)} event(s); "
                "DELETE with ?cascade=true detaches them.",
            )
        now = utc_now()
        for event_id in event_ids:
            doc = orjson.loads(store.get_event(event_id)[0])
            fields_ = ingest.writable_fields(doc)
            fields_["timelines"] = [t for t in fields_.get("timelines", []) if t != slug]
            event = ingest.build_event(ingest.validate_event(fields_))
            store.upsert_event(ingest.to_row(event), now=now)
        store.delete_timeline(slug)
    return Response(status=204)


@blp.route("/timelines/<string:slug>/events", methods=["GET"])
@blp.arguments(EventListQuerySchema(), location="query", error_status_code=400, as_kwargs=False)
@blp.alt_response(200, schema=EventPageSchema, success=True)
@problems(blp, 404)
def timeline_events(args, slug):
    """The timeline's events, taking every parameter of GET /events."""
    _one(slug)
    return event_page(args, timeline=slug)
