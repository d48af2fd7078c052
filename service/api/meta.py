"""Around the API: the widget page, liveness and readiness."""
from __future__ import annotations

import sqlite3

import orjson
from flask import Blueprint, Response, current_app, send_from_directory

from .. import store as store_module
from ..errors import ApiError
from . import get_store

bp = Blueprint("meta", __name__)


@bp.route("/")
def widget():
    """The timeline widget page."""
    return send_from_directory(current_app.static_folder, "index.html")


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers."""
    return Response(orjson.dumps({"status": "ok"}), mimetype="application/json")


@bp.route("/readyz")
def readyz():
    """Readiness: the database answers and its schema is current."""
    try:
        store = get_store()
        store.ping()
        version = store.schema_version()
    except sqlite3.Error as exc:
        raise ApiError("not-ready", f"The database is unreachable: {type(exc).__name__}.") from None
    if version != store_module.SCHEMA_VERSION:
        raise ApiError("not-ready", f"The database schema is at version {version}, the service needs {store_module.SCHEMA_VERSION}.")
    return Response(orjson.dumps({"status": "ready", "schema_version": version}), mimetype="application/json")
