"""Bearer tokens: made by the command line, stored only as hashes, checked on every write.

Tokens carry 256 bits from ``secrets``, so one SHA-256 is a safe hash (no salt or slow
KDF needed: nothing to brute-force). Lookup is by hash, and the final comparison is
constant-time. A revoked token fails on the next request in every worker, because every
check reads the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import wraps

from flask import g, request

from .errors import ApiError
from .store import Store
from .web import ratelimit

SCOPES = ("read", "write", "admin")
_RANK = {scope: i for i, scope in enumerate(SCOPES)}
PREFIX = "tl_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def authenticate(store: Store, header: str | None) -> tuple[str, str]:
    """(name, scope) of the bearer token in an Authorization header; 401 ApiError otherwise."""
    challenge = {"WWW-Authenticate": 'Bearer realm="timeline"'}
    if not header:
        raise ApiError(
            "unauthorized", "This request needs 'Authorization: Bearer <token>'.", headers=challenge
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            "unauthorized",
            "The bearer token is empty: send 'Authorization: Bearer <token>' with a token made by "
            "`timeline tokens create`."
            if scheme.lower() == "bearer"
            else "Only bearer tokens are accepted.",
            headers={"WWW-Authenticate": 'Bearer realm="timeline", error="invalid_request"'},
        )
    digest = hash_token(token)
    found = store.token_by_hash(digest)
    # The lookup finds the row by its hash; the final check compares the stored hash in
    # constant time, so no byte-by-byte timing of the comparison is observable.
    if found is None or not hmac.compare_digest(found[2].encode(), digest.encode()):
        raise ApiError(
            "unauthorized",
            "The token is unknown or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="timeline", error="invalid_token"'},
        )
    return found[0], found[1]


def require(scope: str, store_getter):
    """Decorator: the request needs a token of at least ``scope`` (admin > write > read)."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            store = store_getter()
            name, token_scope = authenticate(store, request.headers.get("Authorization"))
            if _RANK[token_scope] < _RANK[scope]:
                raise ApiError(
                    "forbidden", f"The token '{name}' has scope '{token_scope}'; this needs '{scope}'."
                )
            g.token_name = name
            ratelimit.check_write_rate(store, name)  # 429 over WRITE_RATE_PER_MINUTE
            store.touch_token(name)
            return view(*args, **kwargs)

        return wrapped

    return decorate
