"""Around the API: the widget page, liveness and readiness."""

from __future__ import annotations

import sqlite3

import orjson
from flask import Blueprint, Response, current_app, send_from_directory
from flask_smorest import Blueprint as ApiBlueprint

from .. import roles
from .. import store as store_module
from ..errors import ApiError, problem
from ..schemas import HealthSchema
from . import get_store, problems

bp = Blueprint("meta", __name__)
# Liveness and readiness are part of the described API (section 6): a documented blueprint.
ops = ApiBlueprint("operations", __name__, description="Liveness and readiness.")


@bp.route("/")
def widget():
    """The timeline widget page."""
    return send_from_directory(current_app.static_folder, "index.html")


@ops.route("/healthz", methods=["GET"])
@ops.alt_response(200, schema=HealthSchema, success=True, description="The process answers.")
def healthz():
    """Liveness: the process answers."""
    return Response(orjson.dumps({"status": "ok"}), mimetype="application/json")


@ops.route("/readyz", methods=["GET"])
@ops.alt_response(
    200,
    schema=HealthSchema,
    success=True,
    description="The database answers, its schema is current, and this node can do its job.",
)
@problems(
    ops,
    (
        503,
        "The database is unreachable or its schema is behind; a primary that cannot write "
        "(disk full, read-only file); a replica more than TIMELINE_MAX_LAG seconds behind. The problem "
        "carries role, seq and lag_seconds too.",
    ),
)
def readyz():
    """Readiness: the database answers, its schema is current, a primary can write and a
    replica is within TIMELINE_MAX_LAG of its replica URL (API.md section 9)."""
    try:
        store = get_store()
        store.ping()
        version = store.schema_version()
    except sqlite3.Error as exc:
        raise ApiError("not-ready", f"The database is unreachable: {type(exc).__name__}.") from None
    if version != store_module.SCHEMA_VERSION:
        raise ApiError(
            "not-ready",
            f"The database schema is at version {version}, the service needs {store_module.SCHEMA_VERSION}.",
        )
    ready, body = roles.readiness(current_app.config, store)
    body["schema_version"] = version
    if not ready:
        response = problem("not-ready", body.pop("detail"))
        extra = orjson.loads(response.get_data())
        extra.update((k, body[k]) for k in ("role", "seq", "lag_seconds", "schema_version"))
        response.set_data(orjson.dumps(extra))
        return response
    return Response(orjson.dumps(body), mimetype="application/json")
