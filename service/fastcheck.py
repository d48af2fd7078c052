"""A fast path for loading the common, well-formed event: plain type and shape checks.

:func:`load_event` returns exactly the dict that ``EventSchema().load(data)`` returns (same
keys, same key order, same values: stripped texts, floats for coordinates) when ``data``
is a valid event of the usual shape, and ``None`` otherwise. It never produces an error
of its own: anything invalid or unusual (a bool for an int, a ``None`` where the schema
refuses it, a tuple for a list, a subclass of ``str``, an unknown key ...) is declined,
and the caller then runs the marshmallow schema, which stays the single source of
validation messages. Every length, count and range it checks is read from the schema's
own fields (their ``Length`` and ``Range`` validators), and the rules it cannot read as
numbers (control characters, slugs, reserved ids, countries, URLs, EDTF) are the schema
module's own constants and functions, so the two cannot drift apart on a rule;
``tests/test_fastcheck.py`` checks the equivalence with generated valid and near-valid
events, and at every limit the fields declare. It costs a fraction of the schema's load.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

from . import dates, slugs
from .schemas import _CONTROL, COUNTRIES, READ_ONLY_EVENT_FIELDS, EventSchema, _http_url


def _validator(field: fields.Field, kind: type) -> Any:
    (found,) = [v for v in field.validators if isinstance(v, kind)]
    return found


def length(field: fields.Field) -> tuple[int, int]:
    """(min, max) of a field's ``Length`` validator: characters of a text, items of a list."""
    v = _validator(field, validate.Length)
    return v.min or 0, v.max


def bounds(field: fields.Field) -> tuple[float, float]:
    """(min, max) of a field's ``Range`` validator (both inclusive)."""
    v = _validator(field, validate.Range)
    assert v.min_inclusive and v.max_inclusive
    return v.min, v.max


def text_list(field: fields.List) -> tuple[int, int, int]:
    """(max items, min length, max length) of a list of texts."""
    return (length(field)[1], *length(field.inner))


_EVENT = EventSchema().fields
_LOCATION = _EVENT["location"].schema.fields
_SOURCE = _EVENT["sources"].inner.schema.fields
_EVENT_KEYS = frozenset(_EVENT) | frozenset(READ_ONLY_EVENT_FIELDS)
_LOCATION_KEYS = frozenset(_LOCATION)
_SOURCE_KEYS = frozenset(_SOURCE)
_TITLE, _SUMMARY = (length(_EVENT[name]) for name in ("title", "summary"))
_IMPORTANCE = bounds(_EVENT["importance"])
_TAGS, _ACTORS, _TIMELINES = (text_list(_EVENT[name]) for name in ("tags", "actors", "timelines"))
_SOURCES = length(_EVENT["sources"])[1]
_PLACE = length(_LOCATION["name"])
_LAT, _LON = (bounds(_LOCATION[name]) for name in ("lat", "lon"))
_URL, _SOURCE_TITLE, _PUBLISHER, _QUOTE = (
    length(_SOURCE[name]) for name in ("url", "title", "publisher", "quote")
)
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


def _text(value: Any, limits: tuple[int, int]) -> str:
    """A ``Text`` field: a str without control characters, stored stripped, length checked after."""
    if type(value) is not str or _control(value):
        raise _Decline
    value = value.strip()
    lo, hi = limits
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


def _text_list(value: Any, limits: tuple[int, int, int], slug: bool) -> list[str]:
    """tags and timelines (slugs) and actors: a list of texts, limits as the field's."""
    most, lo, hi = limits
    if type(value) is not list or len(value) > most:
        raise _Decline
    out = []
    for item in value:
        if type(item) is not str or _control(item):
            raise _Decline
        item = item.strip()
        if not lo <= len(item) <= hi or (slug and not _is_slug(item)):
            raise _Decline
        out.append(item)
    return out


def _coordinate(value: Any, limits: tuple[float, float]) -> float:
    kind = type(value)
    lo, hi = limits
    if kind is int:
        if not lo <= value <= hi:
            raise _Decline
        return float(value)
    if kind is not float or not lo <= value <= hi:  # NaN compares false: declined
        raise _Decline
    return value


def _location(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict or not value or not _LOCATION_KEYS.issuperset(value):
        raise _Decline
    out: dict[str, Any] = {}
    if "name" in value:
        out["name"] = _text(value["name"], _PLACE)
    if "country" in value:
        country = value["country"]
        if type(country) is not str or country not in COUNTRIES:
            raise _Decline
        out["country"] = country
    has_lat, has_lon = "lat" in value, "lon" in value
    if has_lat != has_lon:
        raise _Decline
    if has_lat:
        out["lat"] = _coordinate(value["lat"], _LAT)
        out["lon"] = _coordinate(value["lon"], _LON)
    return out


def _source(value: Any) -> dict[str, Any]:
    if type(value) is not dict or not _SOURCE_KEYS.issuperset(value):
        raise _Decline
    out: dict[str, Any] = {}
    if "url" in value:
        url = value["url"]
        if type(url) is not str or not _URL[0] <= len(url) <= _URL[1]:
            raise _Decline
        if not _PLAIN_URL.fullmatch(url):
            try:
                _http_url(url)
            except ValidationError:
                raise _Decline from None
        out["url"] = url
    if "title" in value:
        out["title"] = _text(value["title"], _SOURCE_TITLE)
    if "publisher" in value:
        out["publisher"] = _text(value["publisher"], _PUBLISHER)
    if "published" in value:
        out["published"] = _edtf(value["published"])
    if "quote" in value:
        out["quote"] = _text(value["quote"], _QUOTE)
    if not out.get("url") and not out.get("title"):
        raise _Decline
    return out


def _sources(value: Any) -> list[dict[str, Any]]:
    if type(value) is not list or len(value) > _SOURCES:
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
    out["title"] = _text(data["title"], _TITLE)
    if "summary" in data:
        summary = data["summary"]
        out["summary"] = None if summary is None else _text(summary, _SUMMARY)
    if "importance" in data:
        importance = get("importance")
        if type(importance) is not int or not _IMPORTANCE[0] <= importance <= _IMPORTANCE[1]:
            raise _Decline
        out["importance"] = importance
    if "tags" in data:
        out["tags"] = _text_list(data["tags"], _TAGS, True)
    if "actors" in data:
        out["actors"] = _text_list(data["actors"], _ACTORS, False)
    if "timelines" in data:
        out["timelines"] = _text_list(data["timelines"], _TIMELINES, True)
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
