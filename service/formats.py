"""Output formats of ``GET /events`` (API.md section 4) and ``timeline export``.

Pure functions: standard library, ``orjson`` and ``icalendar`` only; no Flask, no
SQL.  Every function takes an iterable of event dicts exactly as API.md section 1
describes them (writable *and* derived fields: ``start``, ``end``, ``precision``,
``approximate``, ``uncertain``, ``display_date`` ...).  Nothing here parses EDTF:
the derived ``start``/``end`` strings (ISO 8601 proleptic Gregorian days,
astronomical years, signed and zero-padded to at least 4 digits outside
0..9999, ``None`` for an open or unknown end) carry everything needed.

Streamed (memory flat, one chunk per event, input order kept, which the caller
makes chronological): :func:`ndjson`, :func:`csv_stream`, :func:`geojson_stream`.
Whole documents (the HTTP layer caps how many events go in): :func:`ics`,
:func:`timelinejs`, :func:`vis`.

Each function also accepts an item that is already serialised JSON (``bytes`` or
``str``), as the store may hand out pre-serialised documents; :func:`ndjson`
passes such items through untouched, the others decode them first.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .dates import DERIVED_FIELDS, civil, day_number, month_days

__all__ = [
    "MEDIA_TYPES",
    "FORMATS",
    "STREAMED",
    "ACCEPT_TYPES",
    "export",
    "json_array",
    "GROUP_BY",
    "GROUP_NONE",
    "CSV_COLUMNS",
    "ndjson",
    "csv_stream",
    "csv_read",
    "geojson_stream",
    "ics",
    "timelinejs",
    "vis",
]

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "ics": "text/calendar; charset=utf-8",
    "timelinejs": "application/json",
    "vis": "application/json",
}
#: Every format, in the order the documentation lists them: the one list that the query
#: schema, the Accept negotiation, the OpenAPI description and ``timeline export`` read.
FORMATS = tuple(MEDIA_TYPES)
STREAMED = frozenset({"ndjson", "csv", "geojson"})
#: The Accept media types that choose a format other than JSON (``format=`` absent), in
#: the order the negotiation prefers them.
ACCEPT_TYPES: dict[str, str] = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "text/csv": "csv",
    "application/geo+json": "geojson",
    "text/calendar": "ics",
}

#: Accepted values of ``group_by`` (the ``group=`` parameter) and the event field
#: each one reads: the first item of the list, or ``location.country``.
GROUP_BY = ("tag", "actor", "country", "timeline")
#: The group given to an event that has no value for the chosen field.
GROUP_NONE = "(none)"

Event = dict[str, Any]


def _event(item: Any) -> Event:
    if isinstance(item, (bytes, bytearray, memoryview, str)):
        return orjson.loads(item)
    return item


# --------------------------------------------------------------------------
# Days: "±YYYY-MM-DD" with astronomical years, any year (no datetime.date)
# --------------------------------------------------------------------------

_DAY_RE = re.compile(r"^([+-]?\d{4,})-(\d{2})-(\d{2})$")


def _ymd(day: str | None) -> tuple[int, int, int] | None:
    if not day:
        return None
    m = _DAY_RE.match(day)
    if not m:
        raise ValueError(f"not an ISO 8601 calendar day: {day!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def _next_day(y: int, m: int, d: int) -> tuple[int, int, int]:
    return civil(day_number(y, m, d) + 1)


# --------------------------------------------------------------------------
# NDJSON
# --------------------------------------------------------------------------


def ndjson(events: Iterable[Any]) -> Iterator[bytes]:
    """One JSON document per line (``application/x-ndjson``), one chunk per event.

    Dict items are serialised with orjson; ``bytes``/``str`` items are taken to be
    a JSON document already and emitted as they are (a trailing newline of theirs
    is not doubled), each followed by ``b"\\n"``.
    """
    for item in events:
        if isinstance(item, str):
            item = item.encode("utf-8")
        if isinstance(item, (bytes, bytearray, memoryview)):
            yield bytes(item).rstrip(b"\r\n") + b"\n"
        else:
            yield orjson.dumps(item) + b"\n"


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "date",
    *DERIVED_FIELDS,
    "title",
    "summary",
    "importance",
    "tags",
    "actors",
    "timelines",
    "location_name",
    "country",
    "lat",
    "lon",
    "source_urls",
    "sources",
    "created_at",
    "updated_at",
    "version",
)
_LIST_COLUMNS = ("tags", "actors", "timelines")
#: Written by us as plain numbers: never neutralised, never un-neutralised.
_NUMERIC_COLUMNS = frozenset({"importance", "lat", "lon", "version"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _unneutralise(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _join(items: Iterable[str] | None) -> str:
    return ";".join(str(i).replace("\\", "\\\\").replace(";", "\\;") for i in (items or ()))


def _split(cell: str) -> list[str]:
    if cell == "":
        return []
    out, cur, i, n = [], [], 0, len(cell)
    while i < n:
        c = cell[i]
        if c == "\\" and i + 1 < n:
            cur.append(cell[i + 1])
            i += 2
            continue
        if c == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)  # shortest repr: float(repr(x)) == x
    return str(v)


def _csv_row(ev: Event) -> list[str]:
    loc = ev.get("location") or {}
    sources = ev.get("sources") or []
    raw = {
        "id": ev.get("id"),
        "date": ev.get("date"),
        "start": ev.get("start"),
        "end": ev.get("end"),
        "precision": ev.get("precision"),
        "approximate": _num(ev.get("approximate")),
        "uncertain": _num(ev.get("uncertain")),
        "display_date": ev.get("display_date"),
        "title": ev.get("title"),
        "summary": ev.get("summary"),
        "importance": _num(ev.get("importance")),
        "tags": _join(ev.get("tags")),
        "actors": _join(ev.get("actors")),
        "timelines": _join(ev.get("timelines")),
        "location_name": loc.get("name"),
        "country": loc.get("country"),
        "lat": _num(loc.get("lat")),
        "lon": _num(loc.get("lon")),
        "source_urls": _join(s.get("url") for s in sources if s.get("url")),
        "sources": orjson.dumps(sources).decode() if sources else "",
        "created_at": ev.get("created_at"),
        "updated_at": ev.get("updated_at"),
        "version": _num(ev.get("version")),
    }
    row = []
    for col in CSV_COLUMNS:
        v = raw[col]
        v = "" if v is None else str(v)
        row.append(v if col in _NUMERIC_COLUMNS else _neutralise(v))
    return row


def csv_stream(events: Iterable[Any]) -> Iterator[str]:
    """RFC 4180 CSV: a header row, then one row per event (one ``str`` chunk each).

    Columns, in this order (:data:`CSV_COLUMNS`)::

        id,date,start,end,precision,approximate,uncertain,display_date,title,
        summary,importance,tags,actors,timelines,location_name,country,lat,lon,
        source_urls,sources,created_at,updated_at,version

    * Records end in CRLF; a field holding a comma, a quote, CR or LF is quoted and
      its quotes doubled (RFC 4180).  Text is Unicode (the HTTP layer sends UTF-8).
    * ``None`` (an open ``start``/``end``, no location ...) is an empty cell;
      booleans are ``true``/``false``; ``lat``/``lon`` are written so that they
      read back as the very same floats.
    * ``tags``, ``actors``, ``timelines`` and ``source_urls`` are lists joined by
      ``;``.  Inside an item a ``\\`` is written ``\\\\`` and a ``;`` is written
      ``\\;``, so every list splits back exactly (an empty cell is an empty list).
    * ``sources`` holds the event's sources as compact JSON (an empty cell when
      there are none): the exact form, which :func:`csv_read` imports.
      ``source_urls`` is a readable convenience only (used on import only when a
      hand-made file has no ``sources`` column).
    * Formula injection: every cell except the numeric ones (``importance``,
      ``lat``, ``lon``, ``version``) that starts with ``=``, ``+``, ``-``, ``@``,
      TAB, CR, or ``'`` gets a ``'`` prefixed, so spreadsheets show it as text.
      This includes negative years: ``date``/``start``/``end`` of 15 March 44 BC
      are written ``'-0043-03-15``.  Because a leading ``'`` is itself escaped the
      same way, the rule reverses exactly: :func:`csv_read` drops one leading
      ``'`` from every non-numeric cell, so ``-0043-03-15`` round-trips.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def line(row: list[str]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(row)
        return buf.getvalue()

    yield line(list(CSV_COLUMNS))
    for item in events:
        yield line(_csv_row(_event(item)))


def _float(col: str, v: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise ValueError(f"{col}: not a number: {v!r}") from None


def csv_read(lines: Iterable[str]) -> Iterator[Event]:
    """Read a CSV written by :func:`csv_stream` (or by hand with the same header).

    ``lines`` is anything ``csv.reader`` accepts: a text file opened with
    ``newline=""`` or an iterable of strings (fields may span several of them).
    The first row is the header; columns are found by name, unknown ones and the
    derived ones (``start``, ``end``, ``precision``, ``display_date``,
    ``created_at`` ...) are ignored.  Yields one dict per row holding the writable
    fields only, ready for import:

    * ``id`` (absent when the cell is empty), ``date``, ``title``;
    * ``summary`` when not empty; ``importance`` as ``int`` when not empty;
    * ``tags``, ``actors``, ``timelines``: lists (split as documented above);
    * ``location``: ``name``/``country``/``lat``/``lon`` as far as present (lat
      and lon as floats); absent when all four cells are empty;
    * ``sources``: the JSON of the ``sources`` column; without that column, one
      ``{"url": ...}`` per ``source_urls`` item; ``[]`` when empty.

    Every non-numeric cell loses one leading ``'`` (the formula-injection escape).
    Blank rows are skipped.  Values are not validated here: the import does that.
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    header = [h.strip() for h in header]
    for row in reader:
        if not any(row):
            continue
        cells: dict[str, str] = {}
        for col, v in zip(header, row, strict=False):
            cells[col] = v if col in _NUMERIC_COLUMNS else _unneutralise(v)
        ev: Event = {}
        if cells.get("id"):
            ev["id"] = cells["id"]
        ev["date"] = cells.get("date", "")
        ev["title"] = cells.get("title", "")
        if cells.get("summary"):
            ev["summary"] = cells["summary"]
        imp = cells.get("importance", "").strip()
        if imp:
            try:
                ev["importance"] = int(imp)
            except ValueError:
                ev["importance"] = imp  # left for the validator to name
        for col in _LIST_COLUMNS:
            ev[col] = _split(cells.get(col, ""))
        loc: dict[str, Any] = {}
        if cells.get("location_name"):
            loc["name"] = cells["location_name"]
        if cells.get("country"):
            loc["country"] = cells["country"]
        for col in ("lat", "lon"):
            v = cells.get(col, "").strip()
            if v:
                loc[col] = _float(col, v)
        if loc:
            ev["location"] = loc
        if "sources" in cells:
            ev["sources"] = orjson.loads(cells["sources"]) if cells["sources"] else []
        else:
            ev["sources"] = [{"url": u} for u in _split(cells.get("source_urls", ""))]
        yield ev


# --------------------------------------------------------------------------
# GeoJSON
# --------------------------------------------------------------------------


def geojson_stream(events: Iterable[Any]) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection (RFC 7946) of the events that have lat and lon.

    Streamed: the opening, one chunk per feature, the closing; the concatenation
    is one JSON document, also with no features.  Each feature is a ``Point``
    ``[lon, lat]`` with ``id`` = the event id and ``properties`` = the whole event
    except ``location.lat``/``location.lon`` (its ``name``/``country`` stay).
    Events without coordinates are left out.
    """
    yield b'{"type":"FeatureCollection","features":['
    sep = b""
    for item in events:
        ev = _event(item)
        loc = ev.get("location") or {}
        lat, lon = loc.get("lat"), loc.get("lon")
        if lat is None or lon is None:
            continue
        props = dict(ev)
        rest = {k: v for k, v in loc.items() if k not in ("lat", "lon")}
        props["location"] = rest or None
        feature = {
            "type": "Feature",
            "id": ev.get("id"),
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props,
        }
        yield sep + orjson.dumps(feature)
        sep = b","
    yield b"]}"


# --------------------------------------------------------------------------
# iCalendar
# --------------------------------------------------------------------------

PRODID = "-//timeline-service//timeline events//EN"


def _ics_bounds(ev: Event) -> tuple[_dt.date, _dt.date | _dt.timedelta] | None:
    """(DTSTART, exclusive DTEND) or None when a calendar cannot hold the event.

    An event ending on 31 December 9999 has no DTEND a calendar can write (10000-01-01):
    its second value is then its length, a ``timedelta`` for ``DURATION`` (RFC 5545
    3.8.2.5: an all-day event may give DTSTART and DURATION instead of DTEND)."""
    try:
        s, e = _ymd(ev.get("start")), _ymd(ev.get("end"))
    except ValueError:
        return None
    if s is None or e is None:
        return None
    if not (1 <= s[0] <= 9999 and 1 <= e[0] <= 9999):
        return None
    start = _dt.date(*s)
    if e == (9999, 12, 31):
        return start, _dt.date.max - start + _dt.timedelta(days=1)
    ny, nm, nd = _next_day(*e)
    return start, _dt.date(ny, nm, nd)


def _parse_rfc3339(v: Any) -> _dt.datetime | None:
    if not isinstance(v, str) or not v:
        return None
    try:
        t = _dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).replace(microsecond=0)


def _ics_description(ev: Event) -> str:
    flags = [ev.get("precision") or "unknown"]
    if ev.get("approximate"):
        flags.append("approximate")
    if ev.get("uncertain"):
        flags.append("uncertain")
    parts = [f"{ev.get('display_date') or ev.get('date') or ''}\nPrecision: {', '.join(flags)}"]
    if ev.get("summary"):
        parts.append(ev["summary"])
    srcs = []
    for s in ev.get("sources") or []:
        head = s.get("title") or s.get("url") or ""
        meta = ", ".join(x for x in (s.get("publisher"), s.get("published")) if x)
        line = f"- {head}" + (f" ({meta})" if meta else "")
        if s.get("url") and s.get("title"):
            line += f"\n  {s['url']}"
        if s.get("quote"):
            line += f"\n  \u201c{s['quote']}\u201d"
        srcs.append(line)
    if srcs:
        parts.append("Sources:\n" + "\n".join(srcs))
    # TEXT values carry line breaks as "\n" (RFC 5545 3.3.11): no bare CRs
    return "\n\n".join(parts).replace("\r\n", "\n").replace("\r", "\n")


def ics(events: Iterable[Any], *, name: str) -> bytes:
    """An RFC 5545 VCALENDAR (built with the ``icalendar`` library) of all-day events.

    Not streamed: the calendar is built whole in memory (the count of omitted
    events goes in a calendar property ahead of the events), so the HTTP layer
    caps how many events it passes in.

    Calendar: ``PRODID``, ``VERSION:2.0``, ``CALSCALE:GREGORIAN``,
    ``X-WR-CALNAME`` = ``name``, and ``X-TIMELINE-OMITTED`` = the number of events
    left out.  One VEVENT per event whose ``start`` and ``end`` are both known and
    in years 1..9999: ``UID`` ``<id>@timeline`` (stable), ``DTSTART;VALUE=DATE`` =
    start, ``DTEND;VALUE=DATE`` = the day after end (exclusive, so a month covers the
    whole month; for an event ending on 31 December 9999, whose exclusive end would be
    in year 10000, ``DURATION:P<n>D`` = its length in days instead), ``DTSTAMP`` = ``updated_at`` (else ``created_at``, else now),
    ``SUMMARY`` = title, ``DESCRIPTION`` = display date, precision (and
    approximate/uncertain), summary, and each source (title, publisher,
    published, URL, quote), ``URL`` = the first source URL, ``CATEGORIES`` = tags,
    ``LOCATION`` = location name, ``GEO`` when located.  Events that a calendar
    cannot hold (BCE, open or unknown ends, years past 9999) are left out.
    """
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    vevents = []
    omitted = 0
    now = None
    for item in events:
        ev = _event(item)
        bounds = _ics_bounds(ev)
        if bounds is None:
            omitted += 1
            continue
        ve = icalendar.Event()
        ve.add("uid", f"{ev.get('id')}@timeline")
        stamp = _parse_rfc3339(ev.get("updated_at")) or _parse_rfc3339(ev.get("created_at"))
        if stamp is None:
            now = now or _dt.datetime.now(_dt.UTC).replace(microsecond=0)
            stamp = now
        ve.add("dtstamp", stamp)
        ve.add("dtstart", bounds[0])
        ve.add("duration" if isinstance(bounds[1], _dt.timedelta) else "dtend", bounds[1])
        ve.add("summary", ev.get("title") or "")
        ve.add("description", _ics_description(ev))
        urls = [s["url"] for s in ev.get("sources") or [] if s.get("url")]
        if urls:
            ve.add("url", urls[0])
        if ev.get("tags"):
            ve.add("categories", list(ev["tags"]))
        loc = ev.get("location") or {}
        if loc.get("name"):
            ve.add("location", loc["name"])
        if loc.get("lat") is not None and loc.get("lon") is not None:
            ve.add("geo", (loc["lat"], loc["lon"]))
        vevents.append(ve)
    cal.add("x-timeline-omitted", str(omitted))
    for ve in vevents:
        cal.add_component(ve)
    return cal.to_ical()


# --------------------------------------------------------------------------
# Groups (TimelineJS and vis-timeline)
# --------------------------------------------------------------------------


def _check_group_by(group_by: str | None) -> None:
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")


def _group(ev: Event, group_by: str) -> str:
    if group_by == "country":
        value = (ev.get("location") or {}).get("country")
    else:
        items = ev.get({"tag": "tags", "actor": "actors", "timeline": "timelines"}[group_by])
        value = items[0] if items else None
    return value or GROUP_NONE


def _esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


# --------------------------------------------------------------------------
# TimelineJS 3
# --------------------------------------------------------------------------

_RANK = {"day": 0, "month": 1}  # anything coarser (year, decade, ...) ranks 2


def _parts(ymd: tuple[int, int, int], rank: int) -> dict[str, int]:
    y, m, d = ymd
    if rank >= 2:
        return {"year": y}
    if rank == 1:
        return {"year": y, "month": m}
    return {"year": y, "month": m, "day": d}


def _natural_rank(ymd: tuple[int, int, int]) -> int:
    """How coarse a last day looks: 31 Dec -> year, a month's last day -> month."""
    y, m, d = ymd
    if d != month_days(y, m):
        return 0
    return 2 if m == 12 else 1


def _tl_text(ev: Event) -> str:
    out = []
    if ev.get("summary"):
        out.append(f"<p>{_esc(ev['summary'])}</p>")
    for s in ev.get("sources") or []:
        label = _esc(s.get("title") or s.get("url") or "")
        url = s.get("url") or ""
        if url.startswith(("http://", "https://")):
            label = f'<a href="{_esc(url)}">{label}</a>'
        meta = ", ".join(_esc(x) for x in (s.get("publisher"), s.get("published")) if x)
        line = f'<p class="tl-source">Source: {label}' + (f" ({meta})" if meta else "") + "</p>"
        if s.get("quote"):
            line += f"<blockquote>{_esc(s['quote'])}</blockquote>"
        out.append(line)
    return "".join(out)


def timelinejs(events: Iterable[Any], *, title: str, text: str = "", group_by: str | None = None) -> dict:
    """A TimelineJS 3 JSON document that TimelineJS renders as it is.

    ``{"title": {"text": {"headline": title, "text": text}, "unique_id": "_title"},
    "events": [...]}``; ``title`` and ``text`` are HTML-escaped, and the title
    slide's ``unique_id`` contains ``_``, which no event id can, so it never
    collides with (and renames) an event.  Each event:

    * ``start_date``: the parts of ``start`` that its precision gives:
      ``{"year", "month", "day"}`` for day, ``{"year", "month"}`` for month
      (seasons included), ``{"year"}`` for year and coarser.
    * ``end_date`` (only when it differs from ``start_date``): the parts of
      ``end``, as fine as the precision and never finer than ``end`` shows (31
      December gives only the year, another month's last day year and month), so
      a decade is ``{"year": 1990}``..``{"year": 1999}`` (a span, not 1 January),
      ``2021-04/2021-07-05`` is ``{2021, 4}``..``{2021, 7, 5}``.
    * Years are astronomical integers, as JavaScript's ``Date`` counts them (and
      TimelineJS passes them to it): 44 BC is ``{"year": -43}``.
    * ``display_date`` = our ``display_date`` (TimelineJS shows it instead of its
      own label), ``text`` = ``{"headline": title, "text": summary and sources}``
      as HTML-escaped text (source links as ``<a>``), ``unique_id`` = id,
      ``group`` when ``group_by`` is given (first tag / actor / timeline, or the
      location's country; :data:`GROUP_NONE` when the event has none).
    * Open or unknown ends: an event with only one known bound is drawn at that
      bound (its precision's parts, no ``end_date``), its ``display_date``
      (``from July 2021``, ``until 2021``) says it is open.  An event with no
      known bound at all is left out.
    """
    _check_group_by(group_by)
    out_events = []
    for item in events:
        ev = _event(item)
        s, e = _ymd(ev.get("start")), _ymd(ev.get("end"))
        rank = _RANK.get(ev.get("precision"), 2)
        if s is None and e is None:
            continue
        if s is None or e is None:
            start, end = _parts(s or e, rank), None
        else:
            start = _parts(s, rank)
            end = _parts(e, min(rank, _natural_rank(e)))
            if end == start:
                end = None
        slide: dict[str, Any] = {"start_date": start}
        if end is not None:
            slide["end_date"] = end
        slide["display_date"] = ev.get("display_date") or ""
        slide["text"] = {"headline": _esc(ev.get("title")), "text": _tl_text(ev)}
        slide["unique_id"] = ev.get("id")
        if group_by:
            slide["group"] = _group(ev, group_by)
        out_events.append(slide)
    return {
        "title": {"text": {"headline": _esc(title), "text": _esc(text)}, "unique_id": "_title"},
        "events": out_events,
    }


# --------------------------------------------------------------------------
# vis-timeline
# --------------------------------------------------------------------------

#: JavaScript's Date holds +-8.64e15 ms around 1970: about years -271821..275760.
_JS_MIN_YEAR, _JS_MAX_YEAR = -271820, 275759


def _vis_date(ymd: tuple[int, int, int]) -> str:
    """ISO 8601 that moment (vis-timeline's parser) reads: years outside 0..9999 in
    the expanded form, sign and six digits (``-000043-03-15``)."""
    y, m, d = ymd
    if 0 <= y <= 9999:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return f"{'-' if y < 0 else '+'}{abs(y):06d}-{m:02d}-{d:02d}"


def vis(events: Iterable[Any], *, group_by: str | None = None) -> list[dict]:
    """vis-timeline items, which ``new vis.Timeline(el, items, options)`` renders.

    Each item: ``id`` (event id), ``content`` (title, HTML-escaped), ``start``,
    ``type``, ``end`` for ranges, ``title`` (tooltip: display_date, HTML-escaped),
    ``className`` (``precision-<p>`` plus ``approximate``, ``uncertain``,
    ``open-start``, ``open-end`` as they apply), ``group`` when ``group_by`` is
    given (as for :func:`timelinejs`; the page makes a groups DataSet of the
    distinct values).

    * A single day (day precision, ``start == end``) is a ``point`` at ``start``.
    * Anything longer is a ``range`` from ``start`` to the day *after* ``end``
      (vis ends are exclusive), so a month item covers the whole month.
    * Dates are ISO 8601 calendar days (local midnight, as vis/moment parse them);
      years outside 0..9999 use the expanded form ``-000043-03-15`` /
      ``+012021-01-01`` (sign and six digits), the only form moment parses
      as ISO: 44 BC (astronomical -43) renders in 44 BC.
    * Open or unknown ends: a ``point`` at the known bound, marked ``open-start`` /
      ``open-end``; events with no known bound, or beyond what a JavaScript Date
      holds (about 271,820 years either way), are left out.
    """
    _check_group_by(group_by)
    items = []
    for item in events:
        ev = _event(item)
        s, e = _ymd(ev.get("start")), _ymd(ev.get("end"))
        if s is None and e is None:
            continue
        known = [x for x in (s, e) if x is not None]
        if any(not (_JS_MIN_YEAR <= x[0] <= _JS_MAX_YEAR) for x in known):
            continue
        precision = ev.get("precision") or "day"
        classes = [f"precision-{precision}"]
        if ev.get("approximate"):
            classes.append("approximate")
        if ev.get("uncertain"):
            classes.append("uncertain")
        out: dict[str, Any] = {"id": ev.get("id"), "content": _esc(ev.get("title"))}
        if s is None or e is None:
            classes.append("open-start" if s is None else "open-end")
            out["start"] = _vis_date(s or e)
            out["type"] = "point"
        elif s == e and precision == "day":
            out["start"] = _vis_date(s)
            out["type"] = "point"
        else:
            out["start"] = _vis_date(s)
            out["end"] = _vis_date(_next_day(*e))
            out["type"] = "range"
        out["title"] = _esc(ev.get("display_date"))
        out["className"] = " ".join(classes)
        if group_by:
            out["group"] = _group(ev, group_by)
        items.append(out)
    return items


def json_array(events: Iterable[Any]) -> Iterator[bytes]:
    """A JSON array of the events, one per line (what ``timeline import`` reads back)."""
    first = True
    yield b"["
    for ev in events:
        doc = ev if isinstance(ev, bytes) else ev.encode() if isinstance(ev, str) else orjson.dumps(ev)
        yield (b"\n" if first else b",\n") + doc
        first = False
    yield b"\n]\n"


def export(
    fmt: str, events: Iterable[Any], *, title: str, text: str = "", group_by: str | None = None
) -> Iterator[bytes]:
    """Every event of ``events`` in format ``fmt`` (one of :data:`FORMATS`; ``json`` is
    :func:`json_array`), as bytes: the streamed formats chunk by chunk, a whole document
    as one chunk. ``title`` and ``text`` name the calendar or TimelineJS document;
    ``group_by`` groups TimelineJS and vis. The API and ``timeline export`` both write
    through here."""
    if fmt == "json":
        yield from json_array(events)
    elif fmt == "ndjson":
        yield from ndjson(events)
    elif fmt == "csv":
        for chunk in csv_stream(events):
            yield chunk.encode("utf-8")
    elif fmt == "geojson":
        yield from geojson_stream(events)
    elif fmt == "ics":
        yield ics(events, name=title)
    elif fmt == "timelinejs":
        yield orjson.dumps(timelinejs(events, title=title, text=text, group_by=group_by))
    elif fmt == "vis":
        yield orjson.dumps(vis(events, group_by=group_by))
    else:
        raise ValueError(f"unknown format {fmt!r}")
