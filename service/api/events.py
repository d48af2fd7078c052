"""Reading events: the chronological list, one event, the histogram and the facets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections import OrderedDict
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from flask import Response, current_app, request
from flask_smorest import Blueprint
from werkzeug.datastructures import MIMEAccept, MultiDict
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request

from .. import dates, formats
from .. import store as store_module
from ..errors import ApiError, bad_param
from ..schemas import (
    EventListQuerySchema,
    EventOutSchema,
    EventPageSchema,
    FacetQuerySchema,
    FacetsSchema,
    HistogramQuerySchema,
    HistogramSchema,
)
from ..slugs import RESERVED_IDS, is_slug
from ..store import Filters, match_query
from ..web.fastlane import fast_lane
from ..web.headers import body_etag
from . import QueryParser, get_store, problems, query_answer
from .exports import format_response

blp = Blueprint(
    "events", __name__, url_prefix="/api/v1", description="Reading events in chronological order."
)
blp.ARGUMENTS_PARSER = QueryParser()

_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits: what FTS5's unicode61 keeps


def fts_query(q: str | None) -> str | None:
    """User text as an FTS5 query of plain words (every word must occur), never syntax.

    Each word becomes a quoted string (store.match_query), so operators (AND, NEAR, *, ^,
    column filters, quotes) are searched as words and cannot break the query; a word of
    three characters or more also matches the words that begin with it, and every word
    matches its forms (the index holds stems). Text without any word (punctuation only)
    searches for nothing and is ignored.
    """
    return match_query(fts_words(q))


def fts_words(q: str | None) -> list[str]:
    """The words of ``q`` (at most 64), folded as FTS5's unicode61 tokenizer folds them
    (lower case, no diacritics); the index's Porter stemmer then sees them as it saw the text."""
    if not q:
        return []
    words = []
    for word in _WORD.findall(q)[:64]:
        folded = "".join(
            c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c)
        )
        words.append(folded)
    return words


def filters_from(args: dict[str, Any], timeline: str | None = None) -> Filters:
    """The store's filters from loaded query arguments (the one place they are built)."""
    get = args.get
    q = get("q")
    return Filters(
        from_day=args["from_"][0] if "from_" in args else None,
        to_day=args["to"][1] if "to" in args else None,
        match=get("match", "overlap"),
        fts=fts_query(q) if q else None,
        fts_terms=tuple(fts_words(q)) if q else (),
        tags=tuple(v) if (v := get("tag")) else (),
        actors=tuple(v) if (v := get("actor")) else (),
        countries=tuple(v) if (v := get("country")) else (),
        timelines=tuple(v) if (v := get("timeline")) else (),
        precisions=tuple(v) if (v := get("precision")) else (),
        min_importance=get("min_importance"),
        bbox=tuple(v) if (v := get("bbox")) else None,
        in_timeline=timeline,
    )


# --------------------------------------------------------------------------- cursors

_UNSIGNED_PARAMS = {"cursor", "limit", "count", "format", "group"}


def _fingerprint(query: MultiDict) -> str:
    pairs = sorted((k, v) for k, vs in query.lists() if k not in _UNSIGNED_PARAMS for v in vs)
    return hashlib.blake2b(orjson.dumps(pairs), digest_size=8).hexdigest()


def cursor_secret(app, store) -> bytes:
    """The key that signs cursors: SECRET_KEY when configured, else the database's own."""
    secret = app.config.get("SECRET_KEY")
    if not secret:
        secret = app.extensions.get("timeline_secret")
        if secret is None:
            secret = app.extensions["timeline_secret"] = store.secret()
    return secret.encode() if isinstance(secret, str) else secret


def encode_cursor(payload: list, query: MultiDict, secret: bytes) -> str:
    """An opaque, signed cursor: the payload, the query's fingerprint and an HMAC."""
    body = orjson.dumps([payload, _fingerprint(query)])
    sig = hmac.new(secret, body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(body + sig).decode().rstrip("=")


def decode_cursor(cursor: str, query: MultiDict, secret: bytes) -> list:
    """The payload of a cursor this service issued for the same query; a 400 otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body, sig = raw[:-12], raw[-12:]
        ok = hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest()[:12], sig)
        payload, fingerprint = orjson.loads(body) if ok else (None, None)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        ok, payload, fingerprint = False, None, None
    if not ok:
        raise bad_param("cursor", "not a cursor issued by this service.")
    if fingerprint != _fingerprint(query):
        raise bad_param("cursor", "issued for a different query: keep every filter the same while paging.")
    return payload


def base_url(req) -> str:
    """The request's own URL without its query (request.base_url, without werkzeug's IRI
    round trip: this runs on every page that has a next one)."""
    return f"{req.scheme}://{req.host}{quote(req.root_path + req.path)}"


def _next_link(next_cursor: str, query: MultiDict, base: str) -> str:
    params = [(k, v) for k, vs in query.lists() if k != "cursor" for v in vs]
    params.append(("cursor", next_cursor))
    return f'<{base}?{urlencode(params)}>; rel="next"'


# --------------------------------------------------------------------------- views


def event_page(args: dict[str, Any], timeline: str | None = None) -> Response:
    """The JSON page (or another format) of GET /events and GET /timelines/{slug}/events."""
    fmt = args.get("format") or format_by_accept(request.headers.get("Accept", ""))
    if fmt != "json":
        return format_response(fmt, filters_from(args, timeline), args, timeline)
    store = get_store()
    body, link = json_page(
        store, args, request.args, cursor_secret(current_app, store), base_url(request), timeline
    )
    response = Response(body, mimetype="application/json")
    if link:
        response.headers["Link"] = link
    return response


def json_page(
    store, args: dict[str, Any], query: MultiDict, secret: bytes, base: str, timeline: str | None = None
) -> tuple[bytes, str | None]:
    """The body of a JSON page and its Link header (None on the last page).

    ``args`` are the loaded query arguments, ``query`` the raw ones (cursors are bound to
    them), ``base`` the request's URL without its query. Raises ApiError (400) for a
    cursor of another query or sort. The Flask view and the fast lane both answer
    through here."""
    f = filters_from(args, timeline)
    limit = args["limit"]
    sort = args["sort"]
    payload = decode_cursor(args["cursor"], query, secret) if "cursor" in args else None
    next_cursor = None
    if sort == "relevance" and f.fts:
        offset = 0
        if payload is not None:
            if payload[0] != "r" or not isinstance(payload[1], int) or payload[1] < 0:
                raise bad_param("cursor", "issued for a different sort.")
            offset = payload[1]
        docs = store.search_by_relevance(f, limit + 1, offset)
        if len(docs) > limit:
            docs = docs[:limit]
            next_cursor = encode_cursor(["r", offset + limit], query, secret)
    else:
        descending = sort == "-date"
        after = None
        if payload is not None:
            tag = "d" if descending else "a"
            if payload[0] != tag or len(payload) != 4:
                raise bad_param("cursor", "issued for a different sort.")
            after = tuple(payload[1:])
        rows = store.list_events(f, limit + 1, after, descending)
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor(
                ["d" if descending else "a", last[0], last[1], last[2]], query, secret
            )
        docs = [r[3] for r in rows]
    parts = [
        b'{"items":[',
        b",".join(docs),
        b'],"next":',
        orjson.dumps(next_cursor),
        b',"limit":',
        str(limit).encode(),
    ]
    if args.get("count"):
        parts += [b',"total":', str(store.count_events(f)).encode()]
    parts.append(b"}")
    return b"".join(parts), (_next_link(next_cursor, query, base) if next_cursor else None)


@lru_cache(maxsize=64)
def format_by_accept(accept: str) -> str:
    """The format an Accept header chooses when `format=` is absent (JSON by default).

    The view and its fast lane both negotiate here; a client sends the same few headers
    again and again, so each is parsed once."""
    mimetypes = parse_accept_header(accept, MIMEAccept)
    best = mimetypes.best_match(["application/json", *formats.ACCEPT_TYPES], default="application/json")
    if best == "application/json" or mimetypes.quality(best) == 0:
        return "json"
    return formats.ACCEPT_TYPES.get(best, "json")


_LIST_QUERY = EventListQuerySchema()


def fast_page(app, environ):
    """list_events in the fast lane: the JSON page of a query ``fast_load`` answers, else None."""
    if format_by_accept(environ.get("HTTP_ACCEPT", "")) != "json":
        return None
    req = Request(environ)
    args = _LIST_QUERY.fast_load(req.args)
    if args is None:
        return None
    store = store_module.connect(app.config["DATABASE"])
    body, link = json_page(store, args, req.args, cursor_secret(app, store), base_url(req))
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("ETag", f'"{body_etag(body)}"'),
    ]
    if link:
        headers.append(("Link", link))
    return headers, body


def fast_event(app, environ, event_id: str):
    """get_event in the fast lane: the stored event, else None (the view words the 404 or 405)."""
    if event_id in RESERVED_IDS or not is_slug(event_id):
        return None
    found = store_module.connect(app.config["DATABASE"]).get_event(event_id)
    if found is None:
        return None
    doc, version = found
    body = doc.encode()
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("ETag", f'"{event_etag(event_id, version)}"'),
    ], body


@blp.route("/events", methods=["GET"])
@fast_lane(fast_page)
@query_answer(
    blp,
    EventListQuerySchema(),
    EventPageSchema,
    "A page of events in chronological order; other formats by `format` or Accept.",
)
def list_events(args):
    """A page of events in chronological order."""
    return event_page(args)


@blp.route("/events/<string:event_id>", methods=["GET"])
@fast_lane(fast_event)
@blp.alt_response(200, schema=EventOutSchema, success=True, description="One event, with an ETag.")
@problems(blp, 404, (405, "The id is import: not an event."))
def get_event(event_id):
    """One event by id."""
    if event_id == "import":
        raise ApiError("method-not-allowed", "/events/import takes POST only.", headers={"Allow": "POST"})
    found = get_store().get_event(event_id)
    if found is None:
        raise ApiError("not-found", f"No event with id '{event_id}'.")
    doc, version = found
    response = Response(doc, mimetype="application/json")
    response.set_etag(event_etag(event_id, version))
    return response


def event_etag(event_id: str, version: int) -> str:
    return hashlib.blake2b(f"{event_id}\x00{version}".encode(), digest_size=8).hexdigest() + f"-v{version}"


@blp.route("/events/histogram", methods=["GET"])
@query_answer(blp, HistogramQuerySchema(), HistogramSchema)
def histogram(args):
    """Counts of matching events per interval, bucketed by their start."""
    return cached_aggregate(lambda: histogram_response(args))


_AGGREGATES: OrderedDict[tuple, tuple[int, bytes]] = OrderedDict()
_AGGREGATE_ENTRIES = 256
_AGGREGATE_MAX_BYTES = 256 * 1024


def cached_aggregate(compute) -> Response:
    """A histogram or facets body, reused while the events have not changed.

    The key is the request's path and query; the entry is valid for one data version (the
    change feed's last seq, which every create, update and delete advances in its own
    transaction), so a cached answer is never stale. Each worker keeps its own small LRU.
    """
    version = get_store().data_version()
    key = (current_app.config["DATABASE"], request.path, tuple(sorted(request.args.items(multi=True))))
    hit = _AGGREGATES.get(key)
    if hit is not None and hit[0] == version:
        _AGGREGATES.move_to_end(key)
        return Response(hit[1], mimetype="application/json")
    response = compute()
    body = response.get_data()
    if len(body) <= _AGGREGATE_MAX_BYTES:
        _AGGREGATES[key] = (version, body)
        _AGGREGATES.move_to_end(key)
        while len(_AGGREGATES) > _AGGREGATE_ENTRIES:
            _AGGREGATES.popitem(last=False)
    return response


def histogram_response(args: dict[str, Any], timeline: str | None = None) -> Response:
    interval = args["interval"]
    f = filters_from(args, timeline)
    grain = {"day": "day", "month": "month"}.get(interval, "year")
    bucket_of = dates.bucketer(interval)
    rows, unbucketed, grain = get_store().start_counts(f, grain, lambda day: bucket_of(day)[1])
    buckets: dict[str, list] = {}
    for row in rows:
        if grain == "day":
            day = row[0]
        elif grain == "month":
            day = dates.day_number(row[0], row[1], 1)
        else:
            day = dates.day_number(row[0], 1, 1)
        key, first, last = bucket_of(day)
        entry = buckets.get(key)
        if entry is None:
            buckets[key] = [first, last, row[-1]]
        else:
            entry[2] += row[-1]
    ordered = sorted(buckets.items(), key=lambda kv: kv[1][0])
    body = {
        "interval": interval,
        "buckets": [
            {"key": k, "start": dates.iso_day(v[0]), "end": dates.iso_day(v[1]), "count": v[2]}
            for k, v in ordered
        ],
        "unbucketed": unbucketed,
    }
    return Response(orjson.dumps(body), mimetype="application/json")


@blp.route("/events/facets", methods=["GET"])
@query_answer(blp, FacetQuerySchema(), FacetsSchema)
def facets(args):
    """The most frequent tags, actors, timelines, countries and precisions of the matches."""
    return cached_aggregate(lambda: facets_response(args))


def facets_response(args: dict[str, Any]) -> Response:
    f = filters_from(args)
    counts = get_store().facets(f, args["facet"], args["size"])
    body = {facet: [{"value": v, "count": n} for v, n in rows] for facet, rows in counts.items()}
    return Response(orjson.dumps(body), mimetype="application/json")
