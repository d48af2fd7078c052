"""HTTP blueprints: parse, call, serialize. No SQL and no date arithmetic here."""

from __future__ import annotations

from flask import current_app, request
from webargs.flaskparser import FlaskParser

from .. import store as store_module


def get_store() -> store_module.Store:
    """The calling thread's store for the app's database."""
    return store_module.connect(current_app.config["DATABASE"])


class QueryParser(FlaskParser):
    """webargs' Flask parser, plus a fast path for query schemas that have one.

    A schema with a ``fast_load(request.args)`` method (EventListQuerySchema) answers the
    common queries itself, without marshmallow's machinery; whatever it declines (None) is
    parsed the full way, so every error still comes from marshmallow, worded as before.
    """

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        fast = getattr(argmap, "fast_load", None)
        if fast is not None and location == "query":
            loaded = fast((req or request).args)
            if loaded is not None:
                return loaded
        return super().parse(argmap, req, location=location, **kwargs)
