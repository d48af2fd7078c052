"""A fast path for loading the common, well-formed event: plain type and shape checks.

:func:`load_event` returns exactly the dict that ``EventSchema().load(data)`` returns (same
keys, same key order, same values: stripped texts, floats for coordinates) when ``data``
is a valid event of the usual shape, and ``None`` otherwise. It never produces an error
of its own: anything invalid or unusual (a bool for an int, a ``None`` where the schema
refuses it, a tuple for a list, a subclass of ``str``, an unknown key ...) is declined,
and the caller then runs the marshmallow schema, which stays the single source of
validation messages. It uses the schema module's own constants and validators (control
characters, slugs, countries, URLs, EDTF) so the two cannot drift apart on a rule;
``tests/test_fastcheck.py`` checks the equivalence with generated valid and near-valid
events.

Measured on the bench events: about 14 us an event (21 us when its date was not seen
before: the EDTF parse) against about 75 us for the schema.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError

from . import dates, slugs
from .schemas import _CONTROL, COUNTRIES, READ_ONLY_EVENT_FIELDS, _http_url

_EVENT_KEYS = frozenset(
    ("id", "date", "title", "summary", "importance", "tags", "actors", "timelines", "location", "sources")
) | frozenset(READ_ONLY_EVENT_FIELDS)
_LOCATION_KEYS = frozenset(("name", "country", "lat", "lon"))
_SOURCE_KEYS = frozenset(("url", "title", "publisher", "published", "quote"))
_RESERVED = slugs.RESERVED_IDS
_is_slug = slugs.is_slug
_control = _CONTROL.search
_parse_date = dates.parse
_EDTFError = dates.EDTFError


# A URL of this shape always passes the schema's URL check (scheme http or https, a host,
# no space); any other URL is checked by that function itself.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][^\s\x00-\x1f\x7f]*)?")


class _Decline(Exception):
    """Not the common valid shape: let the schema decide (and word any error)."""


def _text(value: Any, lo: int, hi: int) -> str:
    """A ``Text`` field: a str without control characters, stored stripped, length checked after."""
    if type(value) is not str or _control(value):
        raise _Decline
    value = value.strip()
    if not lo <= len(value) <= hi:
        raise _Decline
    return value


def _edtf(value: Any) -> str:
    if type(value) is not str:
        raise _Decline
    try:
        _parse_date(value)
    except _EDTFError:
        raise _Decline from None
    return value


def _text_list(value: Any, slug: bool) -> list[str]:
    """tags and timelines (1-100 characters, slugs) and actors (1-100 characters), at most 50."""
    if type(value) is not list or len(value) > 50:
        raise _Decline
    out = []
    for item in value:
        if type(item) is not str or _control(item):
            raise _Decline
        item = item.strip()
        if not 1 <= len(item) <= 100 or (slug and not _is_slug(item)):
            raise _Decline
        out.append(item)
    return out


def _coordinate(value: Any, limit: float) -> float:
    kind = type(value)
    if kind is int:
        if not -limit <= value <= limit:
            raise _Decline
        return float(value)
    if kind is not float or not -limit <= value <= limit:  # NaN compares false: declined
        raise _Decline
    return value


def _location(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict or not value or not _LOCATION_KEYS.issuperset(value):
        raise _Decline
    out: dict[str, Any] = {}
    if "name" in value:
        out["name"] = _text(value["name"], 1, 200)
    if "country" in value:
        country = value["country"]
        if type(country) is not str or country not in COUNTRIES:
            raise _Decline
        out["country"] = country
    has_lat, has_lon = "lat" in value, "lon" in value
    if has_lat != has_lon:
        raise _Decline
    if has_lat:
        out["lat"] = _coordinate(value["lat"], 90)
        out["lon"] = _coordinate(value["lon"], 180)
    return out


def _source(value: Any) -> dict[str, Any]:
    if type(value) is not dict or not _SOURCE_KEYS.issuperset(value):
        raise _Decline
    out: dict[str, Any] = {}
    if "url" in value:
        url = value["url"]
        if type(url) is not str or not 1 <= len(url) <= 2000:
            raise _Decline
        if not _PLAIN_URL.fullmatch(url):
            try:
                _http_url(url)
            except ValidationError:
                raise _Decline from None
        out["url"] = url
    if "title" in value:
        out["title"] = _text(value["title"], 1, 300)
    if "publisher" in value:
        out["publisher"] = _text(value["publisher"], 1, 200)
    if "published" in value:
        out["published"] = _edtf(value["published"])
    if "quote" in value:
        out["quote"] = _text(value["quote"], 0, 2000)
    if not out.get("url") and not out.get("title"):
        raise _Decline
    return out


def _sources(value: Any) -> list[dict[str, Any]]:
    if type(value) is not list or len(value) > 20:
        raise _Decline
    return [_source(item) for item in value]


def _load(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not _EVENT_KEYS.issuperset(data):
        raise _Decline
    out: dict[str, Any] = {}
    get = data.get
    # The schema's declared field order, which is the order of its output.
    if "id" in data:
        event_id = data["id"]
        if type(event_id) is not str or not _is_slug(event_id) or event_id in _RESERVED:
            raise _Decline
        out["id"] = event_id
    if "date" not in data:
        raise _Decline
    out["date"] = _edtf(data["date"])
    if "title" not in data:
        raise _Decline
    out["title"] = _text(data["title"], 1, 200)
    if "summary" in data:
        summary = data["summary"]
        out["summary"] = None if summary is None else _text(summary, 0, 5000)
    if "importance" in data:
        importance = get("importance")
        if type(importance) is not int or not 1 <= importance <= 5:
            raise _Decline
        out["importance"] = importance
    if "tags" in data:
        out["tags"] = _text_list(data["tags"], True)
    if "actors" in data:
        out["actors"] = _text_list(data["actors"], False)
    if "timelines" in data:
        out["timelines"] = _text_list(data["timelines"], True)
    if "location" in data:
        out["location"] = _location(data["location"])
    if "sources" in data:
        out["sources"] = _sources(data["sources"])
    return out


def load_event(data: Any) -> dict[str, Any] | None:
    """``EventSchema().load(data)`` for a valid event of the common shape, else None."""
    try:
        return _load(data)
    except Exception:  # _Decline, or anything unexpected: the schema decides
        return None
