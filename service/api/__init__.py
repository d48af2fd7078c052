"""HTTP blueprints: parse, call, serialize. No SQL and no date arithmetic here."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from .. import store as store_module
from ..errors import PROBLEM_TYPE
from ..schemas import ProblemSchema


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


def problems(blp: Blueprint, *statuses: int | tuple[int, str]):
    """Document each status as a ``ProblemSchema`` answer in ``application/problem+json``:
    a status alone takes its HTTP phrase as description, ``(status, description)`` its own.
    The same as one ``blp.alt_response`` line per status, stacked in the order given."""

    def document(view):
        for status in reversed(statuses):
            code, description = status if isinstance(status, tuple) else (status, None)
            view = blp.alt_response(
                code, schema=ProblemSchema, content_type=PROBLEM_TYPE, description=description
            )(view)
        return view

    return document


def query_answer(blp: Blueprint, query_schema, answer_schema, description: str | None = None):
    """A GET view's query string loaded by ``query_schema`` (passed as one dict; a bad query
    is a 400 problem) and its 200 answer ``answer_schema``, documented."""
    arguments = blp.arguments(query_schema, location="query", error_status_code=400, as_kwargs=False)
    answer = blp.alt_response(200, schema=answer_schema, success=True, description=description)

    def document(view):
        return arguments(answer(problems(blp, 400)(view)))

    return document
