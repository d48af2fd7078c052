"""Every marshmallow schema of the service: the event, the timeline, query arguments, problems.

Field rules live here once; the API, the importer and the seed loader all validate through
these schemas, and /openapi.json is generated from them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from . import dates, slugs
from .countries import ASSIGNED as COUNTRIES
from .formats import FORMATS, GROUP_BY

READ_ONLY_EVENT_FIELDS = (*dates.DERIVED_FIELDS, "created_at", "updated_at", "version")
PRECISIONS = ("day", "month", "year", "decade", "century", "millennium")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# JSON Schema approximations of rules the validators below enforce exactly (documentation:
# /openapi.json shows them; the calendar and relations need the validators themselves).
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,119}$"
NO_CONTROL_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
_EDTF_POINT = (
    r"(-?[0-9X]{4}(-[0-9X]{2}(-[0-9X]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?[?~%]?)"
)
EDTF_PATTERN = rf"^({_EDTF_POINT}|{_EDTF_POINT}?/({_EDTF_POINT}|\.\.)?|\.\./{_EDTF_POINT})$"
EDTF_POINT_PATTERN = rf"^{_EDTF_POINT}$"
_NUM = r"-?[0-9]{1,3}(\.[0-9]{1,8})?"
BBOX_PATTERN = rf"^{_NUM},{_NUM},{_NUM},{_NUM}$"


class StrictInteger(fields.Integer):
    """An integer that refuses booleans, floats and numeric strings (JSON types are strict)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Text(fields.String):
    """A string stored trimmed, refusing control characters; lengths count after trimming."""

    def __init__(self, **kwargs):
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata.setdefault("pattern", NO_CONTROL_PATTERN)  # documents the refusal below
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(value):
            raise ValidationError("Must not contain control characters.")
        return value.strip()


def _length(min_len: int | None, max_len: int) -> validate.Length:
    return validate.Length(min=min_len, max=max_len)


def _slug(value: str) -> None:
    if not slugs.is_slug(value):
        raise ValidationError(
            "Must be a slug: lower-case letters, digits and hyphens, starting with a letter or digit, at most 120 characters."
        )


def _edtf(value: str) -> None:
    try:
        dates.parse(value)
    except dates.EDTFError as exc:
        raise ValidationError(f"Not a valid EDTF date: {exc}") from None


def _event_id(value: str) -> None:
    _slug(value)
    if value in slugs.RESERVED_IDS:
        raise ValidationError(f"'{value}' is a reserved word and cannot be an id.")


def _country(value: str) -> None:
    if value not in COUNTRIES:
        raise ValidationError("Must be an assigned ISO 3166-1 alpha-2 code in upper case, e.g. 'AF'.")


def _http_url(value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced "[" in the host
        raise ValidationError("Must be an absolute http or https URL.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise ValidationError("Must be an absolute http or https URL.")


class LocationSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text(validate=_length(1, 200), metadata={"description": "Place name."})
    country = fields.String(
        validate=_country,
        metadata={"description": "ISO 3166-1 alpha-2, upper case.", "enum": sorted(COUNTRIES)},
    )
    lat = fields.Float(
        validate=validate.Range(-90, 90), allow_nan=False, metadata={"description": "Latitude, WGS 84."}
    )
    lon = fields.Float(
        validate=validate.Range(-180, 180), allow_nan=False, metadata={"description": "Longitude, WGS 84."}
    )

    @pre_load
    def strict_numbers(self, data, **kwargs):
        if isinstance(data, dict):
            errors = {
                k: ["Not a valid number."]
                for k in ("lat", "lon")
                if k in data and (isinstance(data[k], bool) or not isinstance(data[k], (int, float)))
            }
            if errors:
                raise ValidationError(errors)
        return data

    @validates_schema
    def coordinates_together(self, data, **kwargs):
        if ("lat" in data) != ("lon" in data):
            raise ValidationError(
                "lat and lon come together or not at all.", "lat" if "lat" not in data else "lon"
            )
        if not data:
            raise ValidationError("A location needs at least a name, a country or coordinates.", "name")


class SourceSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(
        validate=[_length(1, 2000), _http_url], metadata={"description": "Absolute http(s) URL."}
    )
    title = Text(validate=_length(1, 300))
    publisher = Text(validate=_length(1, 200))
    published = fields.String(
        validate=_edtf, metadata={"description": "EDTF date of publication.", "pattern": EDTF_PATTERN}
    )
    quote = Text(validate=_length(0, 2000), metadata={"description": "Words copied from the source."})

    @validates_schema
    def url_or_title(self, data, **kwargs):
        if not data.get("url") and not data.get("title"):
            raise ValidationError("A source names at least a url or a title.", "url")


class TextList(fields.List):
    """A list of Text items, checked with the items' own rules in one loop.

    Same rules and messages as ``fields.List(Text(...))`` (the item field's validators are
    the ones run), without a full field deserialization per item: imports check tens of
    thousands of tags and actors a second. Anything but a list of strings takes the
    general path, so its messages are marshmallow's own.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return super()._deserialize(value, attr, data, **kwargs)
        validators = self.inner.validators
        result, errors = [], {}
        for index, item in enumerate(value):
            if _CONTROL.search(item):
                errors[index] = ["Must not contain control characters."]
                continue
            item = item.strip()
            messages = []
            for check in validators:
                try:
                    check(item)
                except ValidationError as exc:
                    messages.extend(exc.messages if isinstance(exc.messages, list) else [exc.messages])
            if messages:
                errors[index] = messages
            result.append(item)
        if errors:
            raise ValidationError(errors, valid_data=result)
        return result


def _list(inner, max_items: int, **kwargs):
    cls = TextList if isinstance(inner, Text) else fields.List
    return cls(inner, validate=validate.Length(max=max_items), **kwargs)


class EventSchema(Schema):
    """The writable fields of an event. Read-only fields are accepted and ignored."""

    class Meta:
        unknown = RAISE
        ordered = True

    id = fields.String(
        validate=_event_id,
        metadata={
            "description": "Slug; derived from date and title when absent. Not histogram, facets or import.",
            "pattern": SLUG_PATTERN,
        },
    )
    date = fields.String(
        required=True,
        validate=_edtf,
        metadata={
            "description": "EDTF date (levels 0 and 1); invalid calendar dates are refused.",
            "example": "2021-07-02",
            "pattern": EDTF_PATTERN,
        },
    )
    title = Text(required=True, validate=_length(1, 200))
    summary = Text(validate=_length(0, 5000), allow_none=True)
    importance = StrictInteger(validate=validate.Range(1, 5), metadata={"description": "1-5, default 3."})
    tags = _list(Text(validate=[_length(1, 100), _slug], metadata={"pattern": SLUG_PATTERN}), 50)
    actors = _list(Text(validate=_length(1, 100)), 50)
    timelines = _list(
        Text(validate=[_length(1, 100), _slug], metadata={"pattern": SLUG_PATTERN}),
        50,
        metadata={"description": "Slugs of existing timelines."},
    )
    location = fields.Nested(LocationSchema, allow_none=True)
    sources = _list(fields.Nested(SourceSchema), 20)

    @pre_load
    def drop_read_only(self, data, **kwargs):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in READ_ONLY_EVENT_FIELDS}
        return data


class EventOutSchema(Schema):
    """An event as the service returns it (documentation of the response shape)."""

    id = fields.String(required=True)
    date = fields.String(required=True)
    start = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Earliest day, ISO 8601; null when open or unknown."},
    )
    end = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Latest day, ISO 8601; null when open or unknown."},
    )
    precision = fields.String(required=True, validate=validate.OneOf(PRECISIONS))
    approximate = fields.Boolean(required=True)
    uncertain = fields.Boolean(required=True)
    display_date = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(allow_none=True, required=True)
    importance = fields.Integer(required=True)
    tags = fields.List(fields.String(), required=True)
    actors = fields.List(fields.String(), required=True)
    location = fields.Nested(LocationSchema, allow_none=True, required=True)
    sources = fields.List(fields.Nested(SourceSchema), required=True)
    timelines = fields.List(fields.String(), required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    version = fields.Integer(required=True)


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventOutSchema), required=True)
    next = fields.String(
        allow_none=True, required=True, metadata={"description": "Opaque cursor of the next page, or null."}
    )
    limit = fields.Integer(required=True)
    total = fields.Integer(metadata={"description": "Number of matches; only with count=true."})


class TimelineSchema(Schema):
    class Meta:
        unknown = RAISE

    slug = fields.String(
        validate=_event_id,
        metadata={"pattern": SLUG_PATTERN, "description": "Required on POST; on PUT the path names it."},
    )
    title = Text(required=True, validate=_length(1, 200))
    description = Text(validate=_length(0, 5000), allow_none=True)

    @pre_load
    def drop_read_only(self, data, **kwargs):
        if isinstance(data, dict):
            data = {
                k: v
                for k, v in data.items()
                if k not in ("event_count", "start", "end", "created_at", "updated_at", "version")
            }
        return data


# --------------------------------------------------------------------------- query arguments


class _PointField(fields.String):
    """An EDTF single date at any precision; loads to its (first_day, last_day)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return dates.parse_point(value)
        except dates.EDTFError as exc:
            raise ValidationError(f"Not a valid EDTF single date: {exc}") from None


class _BBoxField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = [float(p) for p in value.split(",")]
        except ValueError:
            parts = []
        if len(parts) != 4 or any(p != p or p in (float("inf"), float("-inf")) for p in parts):
            raise ValidationError("Must be min_lon,min_lat,max_lon,max_lat: four numbers.")
        min_lon, min_lat, max_lon, max_lat = parts
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise ValidationError(
                "Longitudes must lie in -180..180 and latitudes in -90..90 with min_lat <= max_lat."
            )
        return (min_lon, min_lat, max_lon, max_lat)


MATCHES = ("overlap", "within")
SORTS = ("date", "-date", "relevance")
MAX_PAGE = 500
MAX_CURSOR = 1000
COUNT_TRUE, COUNT_FALSE = frozenset(("true", "1")), frozenset(("false", "0"))


class EventQuerySchema(Schema):
    """Query parameters of GET /events (and of the histogram, facets and timeline events)."""

    class Meta:
        unknown = EXCLUDE

    from_ = _PointField(
        data_key="from",
        metadata={
            "description": "EDTF single date; its earliest day starts the window.",
            "example": "2021-07",
            "pattern": EDTF_POINT_PATTERN,
        },
    )
    to = _PointField(
        metadata={
            "description": "EDTF single date; its latest day ends the window; not before `from`.",
            "example": "2021-07",
            "pattern": EDTF_POINT_PATTERN,
        }
    )
    match = fields.String(load_default="overlap", validate=validate.OneOf(MATCHES))
    q = fields.String(
        validate=validate.Length(max=5000),
        metadata={
            "description": "Words to search for in the title, summary, actors, tags, place name and "
            "source quotes; every word must occur. A word also finds its other forms (refugee: "
            "refugees), and a word of three or more characters the words that begin with it "
            "(Taliba: Taliban). Any text is searched as words, never as query syntax."
        },
    )
    tag = fields.List(fields.String(validate=validate.Length(max=100)), validate=validate.Length(max=50))
    actor = fields.List(fields.String(validate=validate.Length(max=100)), validate=validate.Length(max=50))
    country = fields.List(fields.String(validate=validate.Length(max=2)), validate=validate.Length(max=50))
    timeline = fields.List(fields.String(validate=validate.Length(max=120)), validate=validate.Length(max=50))
    precision = fields.List(
        fields.String(validate=validate.OneOf(PRECISIONS)), validate=validate.Length(max=6)
    )
    min_importance = fields.Integer(strict=False, validate=validate.Range(1, 5))
    bbox = _BBoxField(
        metadata={
            "description": "min_lon,min_lat,max_lon,max_lat (lon -180..180, lat -90..90, min_lat <= max_lat)",
            "example": "60,29,75,39",
            "pattern": BBOX_PATTERN,
        }
    )

    @validates_schema
    def window_in_order(self, data, **kwargs):
        if "from_" in data and "to" in data and data["from_"][0] > data["to"][1]:
            raise ValidationError("'from' is after 'to'.", "from")


class EventListQuerySchema(EventQuerySchema):
    sort = fields.String(load_default="date", validate=validate.OneOf(SORTS))
    limit = fields.Integer(strict=False, load_default=50, validate=validate.Range(1, MAX_PAGE))
    cursor = fields.String(
        validate=validate.Length(max=MAX_CURSOR),
        metadata={"description": "The opaque `next` value of the previous page."},
    )
    count = fields.Boolean(load_default=False, truthy=set(COUNT_TRUE), falsy=set(COUNT_FALSE))
    format = fields.String(validate=validate.OneOf(FORMATS))
    group = fields.String(
        validate=validate.OneOf(GROUP_BY),
        metadata={"description": "Grouping field for the timelinejs and vis formats."},
    )

    @validates_schema
    def relevance_needs_q(self, data, **kwargs):
        if data.get("sort") == "relevance" and not data.get("q"):
            raise ValidationError("sort=relevance needs a q.", "sort")

    # The query keys fast_load understands; any other key (even one the schema would
    # ignore) sends the request through the full load.
    _FAST_KEYS = frozenset(("from", "to", "match", "sort", "limit", "cursor", "count"))
    _LIMIT = re.compile(r"[1-9][0-9]{0,2}")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._defaults = {
            name: self.fields[name].load_default for name in ("match", "sort", "limit", "count")
        }

    def fast_load(self, args) -> dict | None:
        """The result of ``load`` for the common query (a date window, a page size, a
        cursor), computed without marshmallow's machinery; None when the query has
        anything else or any value this path does not accept at a glance, and then the
        caller loads it the full way, which also words every error. The limits are the
        fields' own (MATCHES, SORTS, MAX_PAGE, MAX_CURSOR, COUNT_TRUE/FALSE); equality with
        ``load`` on every query it answers is a property test (tests/test_query_fast_path.py).
        ``args`` is a MultiDict (``request.args``)."""
        out = dict(self._defaults)
        for key, values in args.lists():
            if key not in self._FAST_KEYS or len(values) != 1:
                return None
            value = values[0]
            if key == "from" or key == "to":
                try:
                    out["from_" if key == "from" else "to"] = dates.parse_point(value)
                except dates.EDTFError:
                    return None
            elif key == "match":
                if value not in MATCHES:
                    return None
                out["match"] = value
            elif key == "sort":
                if value not in SORTS or value == "relevance":  # relevance needs q: the full load
                    return None
                out["sort"] = value
            elif key == "limit":
                if not self._LIMIT.fullmatch(value) or int(value) > MAX_PAGE:
                    return None
                out["limit"] = int(value)
            elif key == "count":
                if value in COUNT_TRUE:
                    out["count"] = True
                elif value in COUNT_FALSE:
                    out["count"] = False
                else:
                    return None
            else:  # cursor
                if len(value) > MAX_CURSOR:
                    return None
                out["cursor"] = value
        if "from_" in out and "to" in out and out["from_"][0] > out["to"][1]:
            return None
        return out


class HistogramQuerySchema(EventQuerySchema):
    interval = fields.String(
        load_default="year", validate=validate.OneOf(("day", "month", "year", "decade", "century"))
    )


class FacetQuerySchema(EventQuerySchema):
    facet = fields.List(
        fields.String(validate=validate.OneOf(("tags", "actors", "timelines", "country", "precision"))),
        load_default=lambda: ["tags", "actors", "country", "precision"],
        validate=validate.Length(max=5),
    )
    size = fields.Integer(strict=False, load_default=20, validate=validate.Range(1, 500))


class ChangesQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    since = fields.Integer(strict=False, load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(strict=False, load_default=100, validate=validate.Range(1, 1000))


# --------------------------------------------------------------------------- responses


class HistogramBucketSchema(Schema):
    key = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    count = fields.Integer(required=True)


class HistogramSchema(Schema):
    interval = fields.String(required=True)
    buckets = fields.List(fields.Nested(HistogramBucketSchema), required=True)
    unbucketed = fields.Integer(required=True)


class FacetValueSchema(Schema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)


class FacetsSchema(Schema):
    tags = fields.List(fields.Nested(FacetValueSchema))
    actors = fields.List(fields.Nested(FacetValueSchema))
    timelines = fields.List(fields.Nested(FacetValueSchema))
    country = fields.List(fields.Nested(FacetValueSchema))
    precision = fields.List(fields.Nested(FacetValueSchema))


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "Field (or item index) to messages."})
    request_id = fields.String()


class ImportResultSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)


class TimelineOutSchema(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    event_count = fields.Integer(required=True)
    start = fields.String(allow_none=True, required=True)
    end = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    version = fields.Integer(required=True)


class TimelineListSchema(Schema):
    items = fields.List(fields.Nested(TimelineOutSchema), required=True)


class ChangeSchema(Schema):
    seq = fields.Integer(required=True)
    op = fields.String(required=True, validate=validate.OneOf(("upsert", "delete")))
    id = fields.String(required=True)
    at = fields.String(required=True)
    event = fields.Nested(EventOutSchema, metadata={"description": "The event after an upsert."})


class ChangeFeedSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    next_since = fields.Integer(required=True)


class HealthSchema(Schema):
    """GET /healthz and /readyz."""

    status = fields.String(required=True, validate=validate.OneOf(("ok", "ready")))
    schema_version = fields.Integer(metadata={"description": "The database schema version (readyz)."})
    role = fields.String(
        validate=validate.OneOf(("primary", "replica")),
        metadata={"description": "readyz: this node's role (API.md section 9)."},
    )
    seq = fields.Integer(metadata={"description": "readyz: the change feed's last seq on this node."})
    lag_seconds = fields.Float(
        allow_none=True,
        metadata={
            "description": "readyz: how far a replica's copy is behind its replica URL (0 on a primary)."
        },
    )


class TimelineCreateSchema(TimelineSchema):
    """The body of POST /timelines (documentation: the slug is required there)."""

    slug = fields.String(required=True, validate=_event_id, metadata={"pattern": SLUG_PATTERN})
