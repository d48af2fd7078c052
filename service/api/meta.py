"""Around the API: the widget page, liveness and readiness."""

from __future__ import annotations

import sqlite3

import orjson
from flask import Blueprint, Response, current_app, send_from_directory
from flask_smorest import Blueprint as ApiBlueprint

from .. import store as store_module
from ..errors import ApiError
from ..schemas import HealthSchema, ProblemSchema
from . import get_store

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
    200, schema=HealthSchema, success=True, description="The database answers and its schema is current."
)
@ops.alt_response(
    503,
    schema=ProblemSchema,
    content_type="application/problem+json",
    description="The database is unreachable or its schema is behind.",
)
def readyz():
    """Readiness: the database answers and its schema is current."""
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
    return Response(orjson.dumps({"status": "ready", "schema_version": version}), mimetype="application/json")
