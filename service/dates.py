"""EDTF (Extended Date/Time Format, ISO 8601-2) level 0 and level 1 dates.

Pure and fast: standard library only, compiled regexes and integer arithmetic,
a parse costs a few microseconds (results are also memoised).  Days are counted
as integers (days since 1970-01-01, proleptic Gregorian, astronomical years:
year 0 is 1 BC, -43 is 44 BC), so BCE and very long years work, which Python's
``datetime.date`` (years 1-9999) cannot do.

Accepted forms
--------------
* ``2021-07-02``, ``2021-07``, ``2021``, ``-0043-03-15`` (four-digit years,
  optionally negative; ``-0000`` is refused: year 0 is ``0000``)
* long years ``Y170000002``, ``Y-170000002`` (more than four significant digits,
  no leading zero; at most 16 digits either way: see ``MAX_YEAR``)
* seasons ``2021-21`` .. ``2021-24`` (northern meteorological seasons: spring =
  March-May, summer = June-August, autumn = September-November, winter =
  December of the year written through the end of February of the next year)
* unspecified digits ``201X``, ``20XX``, ``1XXX``, ``2004-XX``, ``1985-XX-XX``,
  ``1985-04-XX``, also negative (``-004X`` = years -49..-40)
* date-times ``2021-07-05T03:00:00`` with optional fraction and ``Z``, ``+hh:mm``,
  ``+hhmm`` or ``+hh``: a zoned date-time counts on its UTC calendar day, a naive
  one on its written day
* intervals ``A/B`` with open (``..``) or unknown (empty) ends; not both
* qualifiers ``?`` (uncertain) ``~`` (approximate) ``%`` (both), one, at the end
  of a date (each side of an interval separately); not on date-times.

Digits are the ASCII 0-9 only (never other Unicode digits).

Qualifiers never move bounds.  An interval is reversed (an error) when its end
side *starts* before its start side does; two date-times on the same day compare
by their time (both zoned: in UTC; both naive: as written; a naive and a zoned
one cannot be ordered and are accepted).

Negative unspecified-digit forms never contain year 0: ``-000X`` is years -9..-1,
``-00XX`` -99..-1, ``-0XXX`` -999..-1; year 0 belongs to ``000X`` / ``00XX`` /
``0XXX``.  :func:`bucket` follows the same rule, so every histogram key for a
year in -9999..9999 parses back (via :func:`parse_point`) to exactly its bucket.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "EDTFError",
    "OPEN_START",
    "OPEN_END",
    "ParsedDate",
    "parse",
    "parse_point",
    "day_number",
    "civil",
    "iso_day",
    "bucket",
]


class EDTFError(ValueError):
    """An unparsable or invalid EDTF string; ``str(e)`` says why, in English."""


OPEN_START = -(1 << 62)
OPEN_END = 1 << 62

# Years are stored as day numbers in SQLite's 64-bit integers, between the open-end
# sentinels OPEN_START/OPEN_END (+-2**62 days, about +-1.26e16 years). Y years of up to 16
# digits (day numbers within +-3.66e18) stay inside them with room for query arithmetic
# (a window's start less the longest bounded span); a 17th digit could reach a sentinel.
MAX_YEAR = 9_999_999_999_999_999
_MAX_YEAR_CHARS = len(str(MAX_YEAR))

MONTHS = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SEASONS = {21: "Spring", 22: "Summer", 23: "Autumn", 24: "Winter"}
# season -> (first month, last month); winter's last month is in the next year
_SEASON_MONTHS = {21: (3, 5), 22: (6, 8), 23: (9, 11), 24: (12, 2)}


# --------------------------------------------------------------------------
# Day arithmetic (Howard Hinnant's algorithms; valid for every integer year)
# --------------------------------------------------------------------------


def day_number(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (astronomical year)."""
    if month <= 2:
        year -= 1
        mp = month + 9
    else:
        mp = month - 3
    era = year // 400
    yoe = year - era * 400
    doe = yoe * 365 + yoe // 4 - yoe // 100 + (153 * mp + 2) // 5 + day - 1
    return era * 146097 + doe - 719468


def civil(day: int) -> tuple[int, int, int]:
    """Inverse of :func:`day_number`: ``(year, month, day)``."""
    z = day + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    if mp < 10:
        return yoe + era * 400, mp + 3, d
    return yoe + era * 400 + 1, mp - 9, d


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _month_days(y: int, m: int) -> int:
    if m == 2:
        return 29 if _is_leap(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


month_days = _month_days  # public: the number of days in month m of (astronomical) year y


def _year_iso(y: int) -> str:
    if 0 <= y <= 9999:
        return f"{y:04d}"
    return f"-{-y:04d}" if y < 0 else f"+{y:04d}"


def iso_day(day: int) -> str:
    """Day number -> ISO 8601 date; years <0 or >9999 signed, padded to 4 digits."""
    return _iso(*civil(day))


def _iso(y: int, m: int, d: int) -> str:
    if 0 <= y <= 9999:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return f"{_year_iso(y)}-{m:02d}-{d:02d}"


def _edtf_year(y: int) -> str:
    """A year written in EDTF: ``2021``, ``-0043``, ``Y12021``, ``Y-170000002``."""
    if -9999 <= y <= 9999:
        return f"-{-y:04d}" if y < 0 else f"{y:04d}"
    return f"Y{y}"


_BUCKET_DIGITS = {"decade": 1, "century": 2, "millennium": 3}


def bucket(interval: str, day: int) -> tuple[str, int, int]:
    """The histogram bucket holding ``day``: ``(key, first_day, last_day)``.

    ``interval`` is ``day``, ``month``, ``year``, ``decade``, ``century`` (or
    ``millennium``).  Keys are written in EDTF: ``2021-07-05``, ``2021-07``,
    ``2021``, ``199X``, ``19XX``.

    BCE buckets follow the EDTF meaning of the key, with year 0 always on the
    non-negative side: astronomical year -43 is in decade ``-004X`` (years
    -49..-40), year -5 in ``-000X`` (years -9..-1), years 0..9 in ``000X``;
    century ``-00XX`` is years -99..-1 and ``00XX`` years 0..99.

    Outside years -9999..9999 (which EDTF level 1 writes only as ``Y`` years):
    year keys are ``Y12021`` / ``Y-170000002``; month and day keys use the ISO
    expanded form (``+12021-07``, ``+12021-07-05``) and decade/century keys the
    same digits-and-X pattern (``Y1202X``); those keys do not parse back.
    """
    y, m, d = civil(day)
    if interval == "day":
        return iso_day(day), day, day
    if interval == "month":
        first = day - d + 1
        return f"{_year_iso(y)}-{m:02d}", first, first + _month_days(y, m) - 1
    if interval == "year":
        return _edtf_year(y), day_number(y, 1, 1), day_number(y, 12, 31)
    k = _BUCKET_DIGITS.get(interval)
    if k is None:
        raise ValueError(f"unknown histogram interval {interval!r}")
    size = 10**k
    a = -y if y < 0 else y
    t = a // size
    lo = t * size
    hi = lo + size - 1
    digits = f"{t:0{4 - k}d}" + "X" * k
    if y < 0:
        key = "-" + digits
        lo, hi = -hi, -max(lo, 1)
    else:
        key = digits
    if a > 9999:
        key = "Y" + key
    return key, day_number(lo, 1, 1), day_number(hi, 12, 31)


def bucketer(interval: str) -> Callable[[int], tuple[str, int, int]]:
    """:func:`bucket` for one ``interval``, remembering the last bucket it worked out.

    A histogram folds its days in order, so nearly every day falls in the bucket of the
    day before: one calendar computation per bucket instead of one per day (a decade
    histogram of a large archive folds tens of thousands of days into a few hundred)."""
    last = ("", 1, 0)  # an empty bucket: the first day always misses

    def of(day: int) -> tuple[str, int, int]:
        nonlocal last
        if not last[1] <= day <= last[2]:
            last = bucket(interval, day)
        return last

    return of


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------


def _year_text(y: int, ad: bool = False) -> str:
    if y <= 0:
        return f"{1 - y} BC"
    return f"AD {y}" if ad else str(y)


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _winter_text(y: int, ad: bool) -> str:
    if y >= 1:
        if y >= 100 and y // 100 == (y + 1) // 100:
            text = f"{y}\u2013{(y + 1) % 100:02d}"
        else:
            text = f"{y}\u2013{y + 1}"
        return "AD " + text if ad else text
    if y <= -1:
        return f"{1 - y}\u2013{-y} BC"
    return "1 BC \u2013 AD 1"


# --------------------------------------------------------------------------
# One date
# --------------------------------------------------------------------------

# EDTF digits are 0-9 only: re.ASCII keeps \d from matching other Unicode digits
# (Arabic-Indic, Devanagari, full-width ...), which int() would then happily read.
_DATE = re.compile(
    r"(?:Y(-?[1-9]\d{4,})"  # 1 long year: more than four significant digits
    r"|(-?\d{4})"  # 2 year
    r"(?:-(\d\d|XX)"  # 3 month / season
    r"(?:-(\d\d|XX)"  # 4 day
    r"(?:T(\d\d):(\d\d):(\d\d)(\.\d+)?"  # 5 6 7 time, 8 fraction
    r"(Z|[+-]\d\d(?::?\d\d)?)?)?)?)?"  # 9 zone
    r"|(-?)(\d{3}X|\d{2}XX|\dXXX))"  # 10 11 unspecified year
    r"([?~%])?\Z",  # 12 qualifier
    re.ASCII,
)


class _Side:
    """One date of an interval (or a whole single date)."""

    __slots__ = ("first", "last", "precision", "q", "kind", "y", "m", "d", "extra")

    def __init__(self, first, last, precision, q, kind, y, m=0, d=0, extra=None):
        self.first = first
        self.last = last
        self.precision = precision
        self.q = q or ""
        self.kind = kind
        self.y = y
        self.m = m
        self.d = d
        self.extra = extra

    def body(self, ad: bool = False) -> str:
        """Label without qualifiers."""
        kind = self.kind
        if kind == "day":
            return f"{self.d} {MONTHS[self.m]} {_year_text(self.y, ad)}"
        if kind == "month":
            return f"{MONTHS[self.m]} {_year_text(self.y, ad)}"
        if kind == "year":
            return _year_text(self.y, ad)
        if kind == "season":
            if self.m == 24:
                return f"Winter {_winter_text(self.y, ad)}"
            return f"{SEASONS[self.m]} {_year_text(self.y, ad)}"
        if kind == "datetime":
            hh, mi, ss, utc, _ = self.extra
            t = f"{hh:02d}:{mi:02d}" + (f":{ss:02d}" if ss else "")
            return f"{self.d} {MONTHS[self.m]} {_year_text(self.y, ad)}, {t}" + (" UTC" if utc else "")
        # decade / century / millennium: self.extra = (negative, t)
        neg, t = self.extra
        if kind == "decade":
            if neg:
                return f"{10 * t + 10}\u2013{max(10 * t, 1) + 1} BC"
            return f"{10 * t}s" if t else "1 BC \u2013 AD 9"
        word = "century" if kind == "century" else "millennium"
        return f"{_ordinal(t + 1)} {word}" + (" BC" if neg else "")

    def label(self, ad: bool = False) -> str:
        text = self.body(ad)
        q = self.q
        if not q:
            return text
        if q == "?":
            return text + "?"
        if q == "~":
            return "c. " + text
        return "c. " + text + "?"


def _bad_calendar(text: str, why: str) -> EDTFError:
    return EDTFError(f"{text}: {why}")


def _side(text: str) -> _Side:
    """Parse one EDTF date (no interval); raise EDTFError saying why."""
    mt = _DATE.match(text)
    if mt is None:
        raise EDTFError(_diagnose(text))
    ly, ys, ms, ds, hh, mi, ss, frac, tz, uneg, uy, q = mt.groups()

    if ys is not None:
        y = int(ys)
        if y == 0 and ys[0] == "-":
            raise EDTFError(f"{text}: year 0 is written 0000, not -0000")
        if ms is None:
            return _Side(day_number(y, 1, 1), day_number(y, 12, 31), "year", q, "year", y)
        if ms == "XX":
            if ds is not None and ds != "XX":
                raise EDTFError(
                    f"{text}: a known day in an unspecified month is EDTF level 2, which is not supported"
                )
            if hh is not None:
                raise EDTFError(f"{text}: a date-time needs a complete date")
            return _Side(day_number(y, 1, 1), day_number(y, 12, 31), "year", q, "year", y)
        m = int(ms)
        if m > 12:
            if 21 <= m <= 24:
                if ds is not None:
                    raise EDTFError(f"{text}: a season ({ms}) cannot have a day")
                m1, m2 = _SEASON_MONTHS[m]
                y2 = y + 1 if m == 24 else y
                return _Side(
                    day_number(y, m1, 1), day_number(y2, m2, _month_days(y2, m2)), "month", q, "season", y, m
                )
            raise EDTFError(f"{text}: month {m} is not 1-12 or a season 21-24")
        if m == 0:
            raise EDTFError(f"{text}: month 0 is not 1-12 or a season 21-24")
        if ds is None or ds == "XX":
            if hh is not None:
                raise EDTFError(f"{text}: a date-time needs a complete date")
            first = day_number(y, m, 1)
            return _Side(first, first + _month_days(y, m) - 1, "month", q, "month", y, m)
        d = int(ds)
        if d == 0:
            raise EDTFError(f"{text}: day 0 does not exist (days count from 1)")
        if d > 28:
            n = _month_days(y, m)
            if d > n:
                raise EDTFError(f"{text}: {MONTHS[m]} {_year_text(y)} has {n} days")
        day = day_number(y, m, d)
        if hh is None:
            return _Side(day, day, "day", q, "day", y, m, d)
        # date-time
        if q:
            raise EDTFError(f"{text}: qualifiers (? ~ %) apply to dates, not date-times")
        h, mn, s = int(hh), int(mi), int(ss)
        if h > 23 or mn > 59 or s > 60:
            raise EDTFError(f"{text}: {hh}:{mi}:{ss} is not a time of day")
        if tz is None:
            return _Side(day, day, "day", None, "datetime", y, m, d, (h, mn, s, False, frac))
        if tz != "Z":
            oh = int(tz[1:3])
            om = int(tz[-2:]) if len(tz) > 3 else 0
            if oh > 23 or om > 59:
                raise EDTFError(f"{text}: {tz} is not a UTC offset")
            off = oh * 60 + om
            minutes = h * 60 + mn - (off if tz[0] == "+" else -off)
            shift, minutes = divmod(minutes, 1440)
            h, mn = divmod(minutes, 60)
            if shift:
                day += shift
                y, m, d = civil(day)
        return _Side(day, day, "day", None, "datetime", y, m, d, (h, mn, s, True, frac))

    if ly is not None:
        if len(ly) > _MAX_YEAR_CHARS + (ly[0] == "-"):
            raise EDTFError(
                f"{text}: years beyond \u00b1{MAX_YEAR:,} are not supported "
                "(their day numbers would not fit the service's 64-bit date keys)"
            )
        y = int(ly)
        return _Side(day_number(y, 1, 1), day_number(y, 12, 31), "year", q, "year", y)

    # unspecified digits: 199X, 19XX, 1XXX (optionally negative)
    k = uy.count("X")
    t = int(uy[: 4 - k])
    size = 10**k
    lo = t * size
    hi = lo + size - 1
    neg = uneg == "-"
    if neg:
        lo, hi = -hi, -max(lo, 1)
    precision = ("decade", "century", "millennium")[k - 1]
    return _Side(day_number(lo, 1, 1), day_number(hi, 12, 31), precision, q, precision, lo, extra=(neg, t))


_LEVEL2_HINTS = (
    (re.compile(r"[\[\]{}]"), "sets ([...] and {...}) are EDTF level 2, which is not supported"),
    (
        re.compile(r"[?~%]."),
        "qualifiers (? ~ %) go only at the end of a date; "
        "qualifying single parts is EDTF level 2, "
        "which is not supported",
    ),
    (re.compile(r"\d[ES]\d"), "exponents and significant digits are EDTF level 2, which is not supported"),
)


def _diagnose(text: str) -> str:
    """Why ``text`` (one date, no '/') did not match; slow path, errors only."""
    if not text:
        return "empty date"
    if text == "..":
        return "'..' (open) is only allowed as one end of an interval"
    if any(c.isspace() for c in text):
        return f"{text!r}: whitespace is not allowed inside a date"
    if any(c.isdigit() and not c.isascii() for c in text):
        return f"{text!r}: EDTF digits are the ASCII digits 0-9 only"
    if re.fullmatch(r".*[?~%]{2,}", text):
        return f"{text}: use one qualifier: ? uncertain, ~ approximate, % both"
    for rx, why in _LEVEL2_HINTS:
        if rx.search(text):
            return f"{text}: {why}"
    if "x" in text and re.fullmatch(r"-?[0-9xX]{4}(-[0-9xX]{2}){0,2}[?~%]?", text):
        return f"{text}: unspecified digits are written with upper-case X"
    if re.fullmatch(r"-?[0-9]{4}(-[0-9X]{2}){0,2}[?~%]?", text):
        return (
            f"{text}: unspecified digits (X) must be the rightmost ones; "
            "other patterns are EDTF level 2, which is not supported"
        )
    if "X" in text:
        return (
            f"{text}: unspecified digits are supported as 199X, 19XX, 1XXX, "
            "2004-XX, 1985-XX-XX and 1985-04-XX; other patterns are EDTF "
            "level 2, which is not supported"
        )
    if re.fullmatch(r"Y-?\d{1,4}[?~%]?", text):
        return f"{text}: Y years need more than four digits (write 2021, not Y2021)"
    if re.fullmatch(r"Y-?0\d*[?~%]?", text):
        return (
            f"{text}: Y years need more than four significant digits, "
            "without leading zeros (a shorter year is written 0001 or -0043, not Y00001)"
        )
    if re.fullmatch(r"Y-?\d+-.*", text):
        return f"{text}: Y years take no month or day"
    if re.fullmatch(r"[+-]?\d{5,}([-T].*)?[?~%]?", text):
        return f"{text}: years beyond 9999 are written with Y, e.g. Y12021"
    if re.fullmatch(r"-?\d{1,3}([-T].*)?[?~%]?", text):
        return f"{text}: years take four digits (0800, not 800)"
    if re.fullmatch(r"-?\d{4}-\d{1,2}(-\d{1,2})?[?~%]?", text):
        return f"{text}: months and days take two digits (2021-07-02)"
    if re.fullmatch(r"-?\d{4}-\d\d-\d\d[Tt ].*", text):
        return f"{text}: date-times are written 2021-07-05T03:00:00 with an optional Z or \u00b1hh:mm"
    return (
        f"{text!r} is not an EDTF date (expected e.g. 2021-07-02, 2021-07, "
        "2021, 199X, or an interval such as 2021-07/2021-08)"
    )


# --------------------------------------------------------------------------
# Parsed dates and intervals
# --------------------------------------------------------------------------


#: The fields of an event that its ``date`` determines, in the contract's order (the keys of
#: :meth:`ParsedDate.as_fields`).
DERIVED_FIELDS = ("start", "end", "precision", "approximate", "uncertain", "display_date")


@dataclass(frozen=True, slots=True)
class ParsedDate:
    edtf: str
    start: str | None
    end: str | None
    start_day: int
    end_day: int
    precision: str
    approximate: bool
    uncertain: bool
    display_date: str
    start_year: int | None
    start_month: int | None

    def as_fields(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "precision": self.precision,
            "approximate": self.approximate,
            "uncertain": self.uncertain,
            "display_date": self.display_date,
        }


_COLLAPSIBLE = frozenset(("day", "month", "season"))


def _head(s: _Side) -> str:
    if s.kind == "day":
        return f"{s.d} {MONTHS[s.m]}"
    if s.kind == "month":
        return MONTHS[s.m]
    return SEASONS[s.m]


def _time_before(b: _Side, a: _Side) -> bool:
    """Whether date-time ``b`` is earlier than date-time ``a`` on the same day.

    Both must be zoned (compared in UTC) or both naive (compared as written); a naive and
    a zoned time cannot be ordered, and a date without a time covers its whole day."""
    if a.kind != "datetime" or b.kind != "datetime" or a.extra[3] != b.extra[3]:
        return False
    ta, tb = a.extra, b.extra
    if tb[:3] != ta[:3]:
        return tb[:3] < ta[:3]
    fa, fb = (ta[4] or ".")[1:], (tb[4] or ".")[1:]
    n = max(len(fa), len(fb))
    return fb.ljust(n, "0") < fa.ljust(n, "0")


def _interval_label(a: _Side, b: _Side) -> str:
    if (
        not a.q
        and not b.q
        and a.kind in _COLLAPSIBLE
        and b.kind in _COLLAPSIBLE
        and a.y == b.y
        and not (a.kind == "season" and a.m == 24)
        and not (b.kind == "season" and b.m == 24)
    ):
        yt = _year_text(a.y)
        if a.kind == "day" and b.kind == "day" and a.m == b.m:
            if a.d == b.d:
                return a.label()
            return f"{a.d}\u2013{b.d} {MONTHS[a.m]} {yt}"
        ha, hb = _head(a), _head(b)
        if ha == hb and a.kind == b.kind:
            return a.label()
        return f"{ha} \u2013 {hb} {yt}"
    ad = (a.y <= 0) != (b.y <= 0)
    la, lb = a.label(ad), b.label(ad)
    if la == lb:
        return la
    return f"{la} \u2013 {lb}"


def _make(text, first, last, precision, approx, uncertain, label) -> ParsedDate:
    if first == OPEN_START:
        start = sy = sm = None
    else:
        sy, sm, sd = civil(first)
        start = _iso(sy, sm, sd)
    if last == OPEN_END:
        end = None
    elif last == first:
        end = start
    else:
        end = iso_day(last)
    return ParsedDate(text, start, end, first, last, precision, approx, uncertain, label, sy, sm)


_APPROX = frozenset("~%")
_UNCERTAIN = frozenset("?%")


@lru_cache(maxsize=1 << 16)
def _parse(text: str) -> ParsedDate:
    if "/" not in text:
        s = _side(text)
        q = s.q
        return _make(
            text,
            s.first,
            s.last,
            s.precision,
            q in _APPROX and q != "",
            q in _UNCERTAIN and q != "",
            s.label(),
        )
    left, sep, right = text.partition("/")
    if "/" in right:
        raise EDTFError(f"{text}: an interval has exactly one '/'")
    lmiss = left in ("", "..")
    rmiss = right in ("", "..")
    if lmiss and rmiss:
        raise EDTFError(f"{text!r}: an interval needs at least one known date")
    a = None if lmiss else _side(left)
    b = None if rmiss else _side(right)
    qs = (a.q if a else "") + (b.q if b else "")
    approx = "~" in qs or "%" in qs
    uncertain = "?" in qs or "%" in qs
    if a is None:
        label = ("until " if left == ".." else "? \u2013 ") + b.label()
        return _make(text, OPEN_START, b.last, b.precision, approx, uncertain, label)
    if b is None:
        label = "from " + a.label() if right == ".." else a.label() + " \u2013 ?"
        return _make(text, a.first, OPEN_END, a.precision, approx, uncertain, label)
    if b.first <= a.first and (b.first < a.first or _time_before(b, a)):
        raise EDTFError(f"{text}: interval end is before its start ({right} begins before {left})")
    return _make(text, a.first, b.last, a.precision, approx, uncertain, _interval_label(a, b))


MAX_LENGTH = 100


def _clean(text) -> str:
    if not isinstance(text, str):
        raise EDTFError("a date must be a string")
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise EDTFError(f"a date of {len(text)} characters is too long (at most {MAX_LENGTH})")
    return text


def parse(text: str) -> ParsedDate:
    """Parse an EDTF level 0/1 date or interval; raise :class:`EDTFError`."""
    return _parse(_clean(text))


@lru_cache(maxsize=4096)
def _parse_point(text: str) -> tuple[int, int]:
    if "/" in text:
        raise EDTFError(f"{text}: a single date is needed here, not an interval")
    s = _side(text)
    return s.first, s.last


def parse_point(text: str) -> tuple[int, int]:
    """A single EDTF date at any precision -> ``(first_day, last_day)``.

    For query filters (``from`` means the first day, ``to`` the last).
    Qualifiers are allowed and ignored; intervals and ``..`` are errors.
    """
    return _parse_point(_clean(text))
