"""The timeline event service: ``create_app`` wires everything; nothing runs at import time."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config as config_module
from . import errors, openapi, roles, store, web
from .api import changes, docs, event_writes, events, meta, timelines


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The WSGI application. ``config`` (tests) overrides the ``TIMELINE_*`` environment."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(config_module.from_env())
    app.config.update(
        API_TITLE="Timeline event API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    app.config["DATABASE"] = os.path.abspath(str(app.config["DATABASE"]))
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_BODY_BYTES"], app.config["MAX_IMPORT_BYTES"])
    logging.basicConfig(
        level=app.config.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    store.configure(busy_timeout_ms=app.config["WRITE_LOCK_WAIT_MS"])
    if app.config["ROLE"] == "replica":
        # The copy is Litestream's (service/replication.py): read it, never write or migrate it.
        store.configure(read_only=app.config["DATABASE"])
    else:
        store.connect(app.config["DATABASE"]).migrate()

    api = openapi.TimelineApi(app)
    openapi.init_spec(api)
    errors.init_app(app)
    web.init_app(app)
    roles.init_app(app)
    api.register_blueprint(events.blp)
    api.register_blueprint(event_writes.blp)
    api.register_blueprint(timelines.blp)
    api.register_blueprint(changes.blp)
    app.register_blueprint(meta.bp)
    api.register_blueprint(meta.ops)
    app.register_blueprint(docs.bp)
    return app
