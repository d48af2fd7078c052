"""HTTP blueprints: parse, call, serialize. No SQL and no date arithmetic here."""
from __future__ import annotations

from flask import current_app

from .. import store as store_module


def get_store() -> store_module.Store:
    """The calling thread's store for the app's database."""
    return store_module.connect(current_app.config["DATABASE"])
