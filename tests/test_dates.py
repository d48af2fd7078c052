"""service.dates: EDTF level 0/1 parsing, day numbers, labels, histogram buckets."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from factories import bearer, make_token

from service import store
from service.dates import (
    DERIVED_FIELDS,
    MAX_YEAR,
    OPEN_END,
    OPEN_START,
    EDTFError,
    ParsedDate,
    bucket,
    civil,
    day_number,
    iso_day,
    parse,
    parse_point,
)

# EDTF in -> (start, end, precision, approximate, uncertain, display_date)
FORMS = [
    # section 1 examples
    ("2021-07-02", "2021-07-02", "2021-07-02", "day", False, False, "2 July 2021"),
    ("2021-04", "2021-04-01", "2021-04-30", "month", False, False, "April 2021"),
    ("2021", "2021-01-01", "2021-12-31", "year", False, False, "2021"),
    ("199X", "1990-01-01", "1999-12-31", "decade", False, False, "1990s"),
    ("19XX", "1900-01-01", "1999-12-31", "century", False, False, "20th century"),
    ("1XXX", "1000-01-01", "1999-12-31", "millennium", False, False, "2nd millennium"),
    ("2021-07-04/2021-07-05", "2021-07-04", "2021-07-05", "day", False, False, "4\u20135 July 2021"),
    ("2021-07/..", "2021-07-01", None, "month", False, False, "from July 2021"),
    ("/2021", None, "2021-12-31", "year", False, False, "? \u2013 2021"),
    ("-0043-03-15", "-0043-03-15", "-0043-03-15", "day", False, False, "15 March 44 BC"),
    ("2021-07-05T03:00:00Z", "2021-07-05", "2021-07-05", "day", False, False, "5 July 2021, 03:00 UTC"),
    ("2021-07-05~", "2021-07-05", "2021-07-05", "day", True, False, "c. 5 July 2021"),
    # section 8 examples
    ("-0100", "-0100-01-01", "-0100-12-31", "year", False, False, "101 BC"),
    ("../2021", None, "2021-12-31", "year", False, False, "until 2021"),
    ("2021-07/", "2021-07-01", None, "month", False, False, "July 2021 \u2013 ?"),
    ("2021-07-05?", "2021-07-05", "2021-07-05", "day", False, True, "5 July 2021?"),
    ("2021-07-05%", "2021-07-05", "2021-07-05", "day", True, True, "c. 5 July 2021?"),
    ("2021-04/2021-07", "2021-04-01", "2021-07-31", "month", False, False, "April \u2013 July 2021"),
    ("199X/2001", "1990-01-01", "2001-12-31", "decade", False, False, "1990s \u2013 2001"),
    ("2004-XX", "2004-01-01", "2004-12-31", "year", False, False, "2004"),
    ("1985-XX-XX", "1985-01-01", "1985-12-31", "year", False, False, "1985"),
    ("1985-04-XX", "1985-04-01", "1985-04-30", "month", False, False, "April 1985"),
    ("201X", "2010-01-01", "2019-12-31", "decade", False, False, "2010s"),
    ("20XX", "2000-01-01", "2099-12-31", "century", False, False, "21st century"),
    ("2021-07-04T23:00:00-05:00", "2021-07-05", "2021-07-05", "day", False, False, "5 July 2021, 04:00 UTC"),
    # brief: more forms
    ("2021-07-05T03:00:00", "2021-07-05", "2021-07-05", "day", False, False, "5 July 2021, 03:00"),
    ("2021-07-05T03:00:00.250Z", "2021-07-05", "2021-07-05", "day", False, False, "5 July 2021, 03:00 UTC"),
    (
        "2021-07-05T03:00:15+00:00",
        "2021-07-05",
        "2021-07-05",
        "day",
        False,
        False,
        "5 July 2021, 03:00:15 UTC",
    ),
    ("2021-07-05T01:30:00+05:30", "2021-07-04", "2021-07-04", "day", False, False, "4 July 2021, 20:00 UTC"),
    (
        "2021-12-31T23:30:00-01:00",
        "2022-01-01",
        "2022-01-01",
        "day",
        False,
        False,
        "1 January 2022, 00:30 UTC",
    ),
    ("0000", "0000-01-01", "0000-12-31", "year", False, False, "1 BC"),
    ("0001", "0001-01-01", "0001-12-31", "year", False, False, "1"),
    ("Y170000002", "+170000002-01-01", "+170000002-12-31", "year", False, False, "170000002"),
    ("Y-170000002", "-170000002-01-01", "-170000002-12-31", "year", False, False, "170000003 BC"),
    ("Y12021", "+12021-01-01", "+12021-12-31", "year", False, False, "12021"),
    # level 1 sets no limit on Y years; day numbers hold up to 16 digits (see MAX_YEAR)
    ("Y17000000002", "+17000000002-01-01", "+17000000002-12-31", "year", False, False, "17000000002"),
    (
        "Y-9999999999999999",
        "-9999999999999999-01-01",
        "-9999999999999999-12-31",
        "year",
        False,
        False,
        "10000000000000000 BC",
    ),
    (
        "Y9999999999999999~",
        "+9999999999999999-01-01",
        "+9999999999999999-12-31",
        "year",
        True,
        False,
        "c. 9999999999999999",
    ),
    ("Y12021?", "+12021-01-01", "+12021-12-31", "year", False, True, "12021?"),
    ("2021-21", "2021-03-01", "2021-05-31", "month", False, False, "Spring 2021"),
    ("2021-22", "2021-06-01", "2021-08-31", "month", False, False, "Summer 2021"),
    ("2021-23", "2021-09-01", "2021-11-30", "month", False, False, "Autumn 2021"),
    ("2021-24", "2021-12-01", "2022-02-28", "month", False, False, "Winter 2021\u201322"),
    ("2023-24", "2023-12-01", "2024-02-29", "month", False, False, "Winter 2023\u201324"),
    ("1999-24", "1999-12-01", "2000-02-29", "month", False, False, "Winter 1999\u20132000"),
    ("-0044-24", "-0044-12-01", "-0043-02-28", "month", False, False, "Winter 45\u201344 BC"),
    ("0000-24", "0000-12-01", "0001-02-28", "month", False, False, "Winter 1 BC \u2013 AD 1"),
    ("2021-21~", "2021-03-01", "2021-05-31", "month", True, False, "c. Spring 2021"),
    ("2021-21/2021-22", "2021-03-01", "2021-08-31", "month", False, False, "Spring \u2013 Summer 2021"),
    # BCE unspecified digits (chosen labels: decades as a BC range, centuries
    # and millennia as ordinals)
    ("-004X", "-0049-01-01", "-0040-12-31", "decade", False, False, "50\u201341 BC"),
    ("-019X", "-0199-01-01", "-0190-12-31", "decade", False, False, "200\u2013191 BC"),
    ("-000X", "-0009-01-01", "-0001-12-31", "decade", False, False, "10\u20132 BC"),
    ("000X", "0000-01-01", "0009-12-31", "decade", False, False, "1 BC \u2013 AD 9"),
    ("001X", "0010-01-01", "0019-12-31", "decade", False, False, "10s"),
    ("-01XX", "-0199-01-01", "-0100-12-31", "century", False, False, "2nd century BC"),
    ("-00XX", "-0099-01-01", "-0001-12-31", "century", False, False, "1st century BC"),
    ("00XX", "0000-01-01", "0099-12-31", "century", False, False, "1st century"),
    ("10XX", "1000-01-01", "1099-12-31", "century", False, False, "11th century"),
    ("11XX", "1100-01-01", "1199-12-31", "century", False, False, "12th century"),
    ("12XX", "1200-01-01", "1299-12-31", "century", False, False, "13th century"),
    ("22XX", "2200-01-01", "2299-12-31", "century", False, False, "23rd century"),
    ("0XXX", "0000-01-01", "0999-12-31", "millennium", False, False, "1st millennium"),
    ("-1XXX", "-1999-01-01", "-1000-12-31", "millennium", False, False, "2nd millennium BC"),
    ("-0XXX", "-0999-01-01", "-0001-12-31", "millennium", False, False, "1st millennium BC"),
    ("199X?", "1990-01-01", "1999-12-31", "decade", False, True, "1990s?"),
    # intervals: labels and collapsing
    ("2021-06-30/2021-07-05", "2021-06-30", "2021-07-05", "day", False, False, "30 June \u2013 5 July 2021"),
    (
        "2020-07-04/2021-07-05",
        "2020-07-04",
        "2021-07-05",
        "day",
        False,
        False,
        "4 July 2020 \u2013 5 July 2021",
    ),
    ("2021-07-05/2021-07-05", "2021-07-05", "2021-07-05", "day", False, False, "5 July 2021"),
    ("2021/2021", "2021-01-01", "2021-12-31", "year", False, False, "2021"),
    ("2019/2021", "2019-01-01", "2021-12-31", "year", False, False, "2019 \u2013 2021"),
    (
        "2021-07-04~/2021-07-05",
        "2021-07-04",
        "2021-07-05",
        "day",
        True,
        False,
        "c. 4 July 2021 \u2013 5 July 2021",
    ),
    (
        "2021-07-04/2021-07-05?",
        "2021-07-04",
        "2021-07-05",
        "day",
        False,
        True,
        "4 July 2021 \u2013 5 July 2021?",
    ),
    ("2021-07?/..", "2021-07-01", None, "month", False, True, "from July 2021?"),
    ("../2021~", None, "2021-12-31", "year", True, False, "until c. 2021"),
    ("/2021-07-05%", None, "2021-07-05", "day", True, True, "? \u2013 c. 5 July 2021?"),
    (
        "-0044-03-15/0014-08-19",
        "-0044-03-15",
        "0014-08-19",
        "day",
        False,
        False,
        "15 March 45 BC \u2013 19 August AD 14",
    ),
    ("-0100/-0043", "-0100-01-01", "-0043-12-31", "year", False, False, "101 BC \u2013 44 BC"),
    (
        "Y-170000002/2021",
        "-170000002-01-01",
        "2021-12-31",
        "year",
        False,
        False,
        "170000003 BC \u2013 AD 2021",
    ),
    (
        "2021-07-04T22:00:00Z/2021-07-05T01:00:00Z",
        "2021-07-04",
        "2021-07-05",
        "day",
        False,
        False,
        "4 July 2021, 22:00 UTC \u2013 5 July 2021, 01:00 UTC",
    ),
    # interval precision is the start's
    ("2021/2021-07-05", "2021-01-01", "2021-07-05", "year", False, False, "2021 \u2013 5 July 2021"),
    ("2021-07-05/2022", "2021-07-05", "2022-12-31", "day", False, False, "5 July 2021 \u2013 2022"),
    # stripped
    ("  2021-07-02\n", "2021-07-02", "2021-07-02", "day", False, False, "2 July 2021"),
    # leap days
    ("2000-02-29", "2000-02-29", "2000-02-29", "day", False, False, "29 February 2000"),
    ("0000-02-29", "0000-02-29", "0000-02-29", "day", False, False, "29 February 1 BC"),
    ("-0004-02-29", "-0004-02-29", "-0004-02-29", "day", False, False, "29 February 5 BC"),
    ("2024-02", "2024-02-01", "2024-02-29", "month", False, False, "February 2024"),
]


def test_derived_fields_are_the_keys_of_as_fields_in_order():
    assert DERIVED_FIELDS == ("start", "end", "precision", "approximate", "uncertain", "display_date")
    assert tuple(parse("2021-07-02").as_fields()) == DERIVED_FIELDS


@pytest.mark.parametrize(
    "text,start,end,precision,approximate,uncertain,display", FORMS, ids=[f[0].strip() for f in FORMS]
)
def test_parse_derives_event_fields(text, start, end, precision, approximate, uncertain, display):
    p = parse(text)
    assert p.edtf == text.strip()
    assert p.as_fields() == {
        "start": start,
        "end": end,
        "precision": precision,
        "approximate": approximate,
        "uncertain": uncertain,
        "display_date": display,
    }
    assert p.start_day == (OPEN_START if start is None else parse_iso(start))
    assert p.end_day == (OPEN_END if end is None else parse_iso(end))
    if start is None:
        assert p.start_year is None and p.start_month is None
    else:
        assert (p.start_year, p.start_month) == civil(p.start_day)[:2]


def parse_iso(s: str) -> int:
    sign = -1 if s[0] == "-" else 1
    y, m, d = s.lstrip("+-").split("-")
    return day_number(sign * int(y), int(m), int(d))


def test_parsed_date_is_frozen_and_hashable():
    p = parse("2021-07-02")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.start = "2000-01-01"  # type: ignore[misc]
    assert hash(p) == hash(parse("2021-07-02"))
    assert isinstance(p, ParsedDate)


@pytest.mark.parametrize(
    "text", ["2021-07-05", "2021-07", "2021", "199X", "19XX", "2021-21", "2021-07/2021-08", "-0043-03-15"]
)
@pytest.mark.parametrize("q", ["?", "~", "%"])
def test_qualifiers_do_not_move_bounds(text, q):
    plain = parse(text)
    if "/" in text:
        a, b = text.split("/")
        qualified = parse(f"{a}{q}/{b}{q}")
    else:
        qualified = parse(text + q)
    assert (qualified.start, qualified.end) == (plain.start, plain.end)
    assert (qualified.start_day, qualified.end_day) == (plain.start_day, plain.end_day)
    assert qualified.precision == plain.precision
    assert qualified.approximate == (q in "~%")
    assert qualified.uncertain == (q in "?%")


REJECTED = [
    ("2021-02-30", "February 2021 has 28 days"),
    ("2021-13", "month 13 is not 1-12 or a season 21-24"),
    ("2021-00", "month 0 is not 1-12"),
    ("2021-07-32", "July 2021 has 31 days"),
    ("2021-04-31", "April 2021 has 30 days"),
    ("1900-02-29", "February 1900 has 28 days"),
    ("-0001-02-29", "February 2 BC has 28 days"),
    ("2021-07-00", "day 0"),
    ("2021-07-05/2021-07-01", "interval end is before its start"),
    ("2021/2020-12", "interval end is before its start"),
    ("", "empty"),
    ("   ", "empty"),
    ("../..", "at least one known date"),
    ("/", "at least one known date"),
    ("../", "at least one known date"),
    ("/..", "at least one known date"),
    ("..", "only allowed as one end of an interval"),
    ("garbage", "not an EDTF date"),
    ("July 2021", "whitespace"),
    ("2021 -07", "whitespace"),
    ("2021-07 /2021-08", "whitespace"),
    ("[2021,2022]", "level 2"),
    ("{2021,2022}", "level 2"),
    ("[..2021]", "level 2"),
    ("2004-?06", "level 2"),
    ("2004?-06", "level 2"),
    ("?2004-06", "level 2"),
    ("2021?~", "one qualifier"),
    ("1985-XX-05", "level 2"),
    ("19X5", "unspecified digits"),
    ("199X-05", "level 2"),
    ("XXXX", "unspecified digits"),
    ("199x", "upper-case X"),
    ("Y17E8", "level 2"),
    ("1950S2", "level 2"),
    ("2021-25", "month 25 is not 1-12 or a season 21-24"),
    ("2021-21-05", "season"),
    ("Y10000000000000000", "beyond \u00b19,999,999,999,999,999"),
    ("Y-10000000000000000", "64-bit date keys"),
    # EDTF reserves Y for years of more than four digits; leading zeros do not make one
    ("Y00001", "more than four significant digits"),
    ("Y-09999", "more than four significant digits"),
    ("Y012021", "without leading zeros"),
    # EDTF digits are 0-9 only: not full-width, Arabic-Indic or Devanagari digits
    ("\uff12\uff10\uff12\uff11", "ASCII digits 0-9 only"),
    ("\u0662\u0660\u0662\u0661-\u0660\u0667-\u0660\u0662", "ASCII digits 0-9 only"),
    ("\u0967\u096f\u096e\u096b", "ASCII digits 0-9 only"),
    ("2021-0\u0667", "ASCII digits 0-9 only"),
    ("2021-07-05T0\u0663:00:00Z", "ASCII digits 0-9 only"),
    ("Y1\u0662021", "ASCII digits 0-9 only"),
    # a date-time interval reversed within one day
    ("2021-07-05T10:00:00Z/2021-07-05T09:00:00Z", "interval end is before its start"),
    ("2021-07-05T10:00:00/2021-07-05T09:59:59", "interval end is before its start"),
    ("2021-07-05T10:00:00+02:00/2021-07-05T07:59:00Z", "interval end is before its start"),
    ("2021-07-05T10:00:00.5Z/2021-07-05T10:00:00.25Z", "interval end is before its start"),
    ("Y2021", "more than four digits"),
    ("Y12021-05", "no month or day"),
    ("12021", "written with Y"),
    ("800", "four digits"),
    ("2021-7-2", "two digits"),
    ("-0000", "year 0 is written 0000"),
    ("2021-07-05T25:00:00Z", "not a time of day"),
    ("2021-07-05T03:60:00Z", "not a time of day"),
    ("2021-07-05T03:00:00+25:00", "not a UTC offset"),
    ("2021-07-05T03:00", "date-times are written"),
    ("2021-07-05 03:00:00", "whitespace"),
    ("2021-07-05T03:00:00Z?", "not date-times"),
    ("2021-07-XXT03:00:00", "complete date"),
    ("2021/2022/2023", "exactly one '/'"),
    ("2021-07-02" * 11, "too long"),
    ("Y" + "9" * 5000, "too long"),
]


@pytest.mark.parametrize("text,why", REJECTED, ids=[r[0][:30] for r in REJECTED])
def test_invalid_dates_are_rejected_with_a_reason(text, why):
    with pytest.raises(EDTFError) as err:
        parse(text)
    assert why in str(err.value)
    assert isinstance(err.value, ValueError)


def test_error_names_the_offending_date():
    with pytest.raises(EDTFError, match=r"^2021-02-30: February 2021 has 28 days$"):
        parse("2021-02-30")
    with pytest.raises(EDTFError, match=r"^2021-13: month 13 is not 1-12"):
        parse("2021-13")


@pytest.mark.parametrize("value", [None, 2021, b"2021"])
def test_non_strings_are_rejected(value):
    with pytest.raises(EDTFError):
        parse(value)  # type: ignore[arg-type]
    with pytest.raises(EDTFError):
        parse_point(value)  # type: ignore[arg-type]


def test_open_sentinels_sort_outside_every_real_day():
    far = [parse(f"Y-{MAX_YEAR}").start_day, parse(f"Y{MAX_YEAR}").end_day]
    assert OPEN_START < min(far) and OPEN_END > max(far)
    # with room for a query window's start less the longest bounded span (ten millennia),
    # and inside SQLite's 64-bit integers
    assert OPEN_START < min(far) - 2 * day_number(10000, 1, 1) and max(far) + 2 * 3652500 < OPEN_END
    assert -(1 << 63) < OPEN_START and OPEN_END < (1 << 63) - 1
    assert OPEN_START == store.OPEN_START and OPEN_END == store.OPEN_END
    assert parse("../2021").start_day == OPEN_START
    assert parse("2021/..").end_day == OPEN_END
    assert parse("/2021").start_day == OPEN_START
    assert parse("2021/").end_day == OPEN_END


def test_day_numbers_order_bce_ce_and_far_future():
    texts = [
        f"Y-{MAX_YEAR}",
        "Y-17000000002",
        "Y-170000002",
        "-0100",
        "-0043",
        "-0043-03-15",
        "0000",
        "0001",
        "1969-12-31",
        "1970",
        "2021",
        "2021-07",
        "2021-07-02",
        "9999",
        "Y12000",
        "Y170000002",
        "Y17000000002",
        f"Y{MAX_YEAR}",
    ]
    starts = [parse(t).start_day for t in texts]
    assert starts == sorted(starts)
    assert parse("-0100").start_day < parse("-0043").start_day < parse("0000").start_day
    assert parse("0000").start_day < parse("2021").start_day < parse("Y12000").start_day


def test_day_number_matches_python_dates_in_years_1_to_9999():
    for d in [
        dt.date(1, 1, 1),
        dt.date(1582, 10, 15),
        dt.date(1900, 3, 1),
        dt.date(1970, 1, 1),
        dt.date(2000, 2, 29),
        dt.date(2021, 7, 2),
        dt.date(9999, 12, 31),
    ]:
        n = d.toordinal() - dt.date(1970, 1, 1).toordinal()
        assert day_number(d.year, d.month, d.day) == n
        assert civil(n) == (d.year, d.month, d.day)
    assert day_number(1970, 1, 1) == 0
    assert day_number(0, 12, 31) == day_number(1, 1, 1) - 1
    assert day_number(0, 3, 1) - day_number(0, 2, 28) == 2  # year 0 is leap
    assert day_number(-1, 3, 1) - day_number(-1, 2, 28) == 1  # 2 BC is not


def test_civil_inverts_day_number_across_bce_and_leap_years():
    start = day_number(-801, 1, 1)
    end = day_number(801, 12, 31)
    prev = None
    for n in range(start, end + 1):
        y, m, d = civil(n)
        assert day_number(y, m, d) == n
        if prev is not None:
            py, pm, pd = prev
            assert (y, m, d) > (py, pm, pd)
        prev = (y, m, d)
    # the span is exactly 1603 proleptic Gregorian years
    leaps = sum(1 for y in range(-801, 802) if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))
    assert end - start + 1 == 1603 * 365 + leaps


@pytest.mark.parametrize(
    "year", [-MAX_YEAR, -999_999_999, -170000002, -10001, 10000, 12021, 170000002, 999_999_999, MAX_YEAR]
)
def test_day_numbers_work_for_huge_years(year):
    for m, d in [(1, 1), (2, 28), (12, 31)]:
        assert civil(day_number(year, m, d)) == (year, m, d)
    assert day_number(year + 1, 1, 1) - day_number(year, 1, 1) in (365, 366)


@pytest.mark.parametrize(
    "y,m,d,iso",
    [
        (2021, 7, 2, "2021-07-02"),
        (0, 1, 1, "0000-01-01"),
        (-43, 3, 15, "-0043-03-15"),
        (-1, 12, 31, "-0001-12-31"),
        (9999, 12, 31, "9999-12-31"),
        (10000, 1, 1, "+10000-01-01"),
        (12021, 1, 1, "+12021-01-01"),
        (-12021, 6, 5, "-12021-06-05"),
        (5, 5, 5, "0005-05-05"),
    ],
)
def test_iso_day_pads_and_signs_years(y, m, d, iso):
    assert iso_day(day_number(y, m, d)) == iso


POINTS = [
    ("2021-07-05", "2021-07-05", "2021-07-05"),
    ("2021-07", "2021-07-01", "2021-07-31"),
    ("2021", "2021-01-01", "2021-12-31"),
    ("199X", "1990-01-01", "1999-12-31"),
    ("19XX", "1900-01-01", "1999-12-31"),
    ("1XXX", "1000-01-01", "1999-12-31"),
    ("2021-24", "2021-12-01", "2022-02-28"),
    ("2021-07-04T23:00:00-05:00", "2021-07-05", "2021-07-05"),
    ("2021-07-05T03:00:00", "2021-07-05", "2021-07-05"),
    ("-0043", "-0043-01-01", "-0043-12-31"),
    ("-004X", "-0049-01-01", "-0040-12-31"),
    ("Y12021", "+12021-01-01", "+12021-12-31"),
    ("2021-07?", "2021-07-01", "2021-07-31"),
    ("2021~", "2021-01-01", "2021-12-31"),
    ("1985-04-XX%", "1985-04-01", "1985-04-30"),
    (" 2021 ", "2021-01-01", "2021-12-31"),
]


@pytest.mark.parametrize("text,first,last", POINTS, ids=[p[0] for p in POINTS])
def test_parse_point_gives_first_and_last_day(text, first, last):
    assert parse_point(text) == (parse_iso(first), parse_iso(last))


@pytest.mark.parametrize(
    "text", ["2021/2022", "2021-07/..", "../2021", "/2021", "2021/", "..", "", "2021-02-30", "nope"]
)
def test_parse_point_rejects_intervals_open_markers_and_bad_dates(text):
    with pytest.raises(EDTFError):
        parse_point(text)


BUCKETS = [
    ("day", (2021, 7, 5), "2021-07-05", (2021, 7, 5), (2021, 7, 5)),
    ("month", (2021, 7, 5), "2021-07", (2021, 7, 1), (2021, 7, 31)),
    ("month", (2024, 2, 10), "2024-02", (2024, 2, 1), (2024, 2, 29)),
    ("year", (2021, 7, 5), "2021", (2021, 1, 1), (2021, 12, 31)),
    ("decade", (1994, 7, 5), "199X", (1990, 1, 1), (1999, 12, 31)),
    ("decade", (2021, 7, 5), "202X", (2020, 1, 1), (2029, 12, 31)),
    ("century", (1994, 7, 5), "19XX", (1900, 1, 1), (1999, 12, 31)),
    ("century", (2000, 1, 1), "20XX", (2000, 1, 1), (2099, 12, 31)),
    ("millennium", (1994, 7, 5), "1XXX", (1000, 1, 1), (1999, 12, 31)),
    # BCE
    ("day", (-43, 3, 15), "-0043-03-15", (-43, 3, 15), (-43, 3, 15)),
    ("month", (-43, 3, 15), "-0043-03", (-43, 3, 1), (-43, 3, 31)),
    ("year", (-43, 3, 15), "-0043", (-43, 1, 1), (-43, 12, 31)),
    ("decade", (-43, 3, 15), "-004X", (-49, 1, 1), (-40, 12, 31)),
    ("decade", (-40, 1, 1), "-004X", (-49, 1, 1), (-40, 12, 31)),
    ("decade", (-39, 1, 1), "-003X", (-39, 1, 1), (-30, 12, 31)),
    ("decade", (-5, 1, 1), "-000X", (-9, 1, 1), (-1, 12, 31)),
    ("decade", (0, 6, 1), "000X", (0, 1, 1), (9, 12, 31)),
    ("decade", (9, 6, 1), "000X", (0, 1, 1), (9, 12, 31)),
    ("century", (-43, 3, 15), "-00XX", (-99, 1, 1), (-1, 12, 31)),
    ("century", (-100, 3, 15), "-01XX", (-199, 1, 1), (-100, 12, 31)),
    ("century", (0, 3, 15), "00XX", (0, 1, 1), (99, 12, 31)),
    ("millennium", (-43, 3, 15), "-0XXX", (-999, 1, 1), (-1, 12, 31)),
    # beyond four-digit years
    ("year", (12021, 3, 15), "Y12021", (12021, 1, 1), (12021, 12, 31)),
    ("year", (-170000002, 3, 15), "Y-170000002", (-170000002, 1, 1), (-170000002, 12, 31)),
    ("month", (12021, 3, 15), "+12021-03", (12021, 3, 1), (12021, 3, 31)),
    ("decade", (12021, 3, 15), "Y1202X", (12020, 1, 1), (12029, 12, 31)),
    ("century", (-12021, 3, 15), "Y-120XX", (-12099, 1, 1), (-12000, 12, 31)),
]


@pytest.mark.parametrize("interval,ymd,key,first,last", BUCKETS, ids=[f"{b[0]}-{b[2]}" for b in BUCKETS])
def test_bucket_holds_the_day_and_is_keyed_in_edtf(interval, ymd, key, first, last):
    day = day_number(*ymd)
    k, lo, hi = bucket(interval, day)
    assert (k, lo, hi) == (key, day_number(*first), day_number(*last))
    assert lo <= day <= hi


def test_bucket_keys_parse_back_to_their_bucket():
    days = [
        day_number(y, m, 15)
        for y in (-9999, -1001, -100, -43, -10, -9, -1, 0, 1, 9, 10, 99, 100, 1990, 2021, 9999)
        for m in (1, 2, 12)
    ]
    for interval in ("day", "month", "year", "decade", "century", "millennium"):
        for day in days:
            key, lo, hi = bucket(interval, day)
            assert parse_point(key) == (lo, hi), (interval, key)


def test_buckets_tile_the_timeline_without_gaps():
    for interval in ("month", "year", "decade", "century"):
        day = bucket(interval, day_number(-250, 6, 15))[1]
        end = day_number(250, 1, 1)
        while day < end:
            _, lo, hi = bucket(interval, day)
            assert lo == day
            day = hi + 1


def test_unknown_bucket_interval_is_an_error():
    with pytest.raises(ValueError):
        bucket("week", 0)


def test_chronological_order_of_contract_examples():
    texts = ["199X", "2001", "2021-04", "2021-07-02"]
    keys = [(parse(t).start_day, parse(t).end_day) for t in texts]
    assert keys == sorted(keys)


# --- oracle: the edtf package agrees on bounds where it supports the form ---------

ORACLE = [
    "2021-07-02",
    "2021-07",
    "2021",
    "0000",
    "0001",
    "-0043-03-15",
    "-0100",
    "-0001",
    "1900-02-28",
    "2000-02-29",
    "2024-02",
    "1900-02",
    "199X",
    "19XX",
    "1XXX",
    "201X",
    "20XX",
    "-004X",
    "-01XX",
    "2004-XX",
    "1985-XX-XX",
    "1985-04-XX",
    "2021-21",
    "2021-22",
    "2021-23",
    "Y170000002",
    "Y-170000002",
    "Y12021",
    "2021-07-02?",
    "2021-07~",
    "2021%",
    "199X?",
    "2021-07-04/2021-07-05",
    "2021-04/2021-07",
    "199X/2001",
    "2020-07-04/2021-07-05",
    "-0100/-0043",
    "2021-07-05T03:00:00Z",
    "2021-07-05T03:00:00",
    "2021-07-05T03:00:00.5Z",
    "2021-07-02?/2021-07-05~",
    # deliberately not here: winter seasons (edtf ends them on 31 December; we
    # run them to the end of February), zoned date-times whose UTC day differs
    # from the written one (edtf uses the written day), open/unknown ends (edtf
    # raises or invents bounds), and invalid leap days (edtf accepts 1900-02-29
    # and -0001-02-29; we reject both).
]


@pytest.mark.parametrize("text", ORACLE)
def test_bounds_agree_with_the_edtf_package(text):
    edtf = pytest.importorskip("edtf")
    try:
        ref = edtf.parse_edtf(text)
        lo, hi = ref.lower_strict(), ref.upper_strict()
    except Exception as exc:  # edtf cannot parse it: nothing to compare
        pytest.skip(f"edtf fails on {text}: {exc}")
    p = parse(text)
    assert civil(p.start_day) == (lo.tm_year, lo.tm_mon, lo.tm_mday)
    assert civil(p.end_day) == (hi.tm_year, hi.tm_mon, hi.tm_mday)


# --- edge cases where another EDTF implementation disagreed (issue 16) -----------


@pytest.mark.parametrize(
    "text",
    [
        "\uff12\uff10\uff12\uff11",  # full-width
        "\u0662\u0660\u0662\u0661-\u0660\u0667-\u0660\u0662",  # Arabic-Indic
        "\u0967\u096f\u096e\u096b",  # Devanagari
        "\U0001d7d0\U0001d7ce\U0001d7d0\U0001d7cf",  # mathematical bold digits
        "2021-07-0\u0665",
        "19\u0669X",  # a decade with an Arabic-Indic nine
    ],
)
def test_only_ascii_digits_are_edtf_digits(text):
    with pytest.raises(EDTFError):
        parse(text)
    with pytest.raises(EDTFError):
        parse_point(text)
    with pytest.raises(EDTFError):
        parse(f"{text}/2022")


def test_y_years_need_more_than_four_significant_digits():
    for text in ["Y00001", "Y-09999", "Y09999", "Y00000", "Y-00000", "Y0000012021"]:
        with pytest.raises(EDTFError, match="significant digits"):
            parse(text)
    assert parse("Y10000").start == "+10000-01-01"
    assert parse("Y-10000").start == "-10000-01-01"


def test_y_years_up_to_sixteen_digits_round_trip_through_day_numbers():
    for year in (10**10 + 2, -(10**12) - 7, MAX_YEAR, -MAX_YEAR):
        p = parse(f"Y{year}")
        assert civil(p.start_day) == (year, 1, 1) and civil(p.end_day) == (year, 12, 31)
        assert bucket("year", p.start_day)[0] == f"Y{year}"
    assert parse(f"Y-{MAX_YEAR}/Y{MAX_YEAR}").end_day - parse(f"Y-{MAX_YEAR}").start_day > 0
    with pytest.raises(EDTFError, match="not supported"):
        parse(f"Y{MAX_YEAR + 1}")


@pytest.mark.parametrize(
    "text",
    [
        "2021-07-05T09:00:00Z/2021-07-05T10:00:00Z",
        "2021-07-05T10:00:00Z/2021-07-05T10:00:00Z",
        "2021-07-05T10:00:00.25Z/2021-07-05T10:00:00.5Z",
        "2021-07-05T10:00:00+02:00/2021-07-05T08:30:00Z",  # 08:00 UTC to 08:30 UTC
        "2021-07-05T10:00:00/2021-07-05T09:00:00Z",  # naive and zoned: no order known
        "2021-07-05/2021-07-05T09:00:00Z",  # a day without a time covers the whole day
        "2021-07-05T09:00:00Z/2021-07-05",
    ],
)
def test_same_day_date_time_intervals_in_order_are_accepted(text):
    p = parse(text)
    assert p.start == p.end == "2021-07-05"


def test_sixteen_digit_years_keep_their_order_through_the_store(app, client):
    """Stored as day numbers, the largest Y years still sort inside the open ends, in
    every read path (pages, filters, histogram, formats), and a 17-digit year is a 422."""
    token = make_token(app)
    dates = ["../2021", f"Y-{MAX_YEAR}", "Y-17000000002", "2021-07-05", f"Y{MAX_YEAR}", f"Y{MAX_YEAR}/.."]
    body = [{"id": f"e{i}", "date": d, "title": d} for i, d in enumerate(dates)]
    headers = bearer(token)
    r = client.post("/api/v1/events/import", json=body, headers=headers)
    assert r.status_code == 200, r.get_json()
    items = client.get("/api/v1/events?limit=2").get_json()
    page = items["items"]
    while items["next"]:
        items = client.get(f"/api/v1/events?limit=2&cursor={items['next']}").get_json()
        page += items["items"]
    assert [e["date"] for e in page] == dates
    assert page[-2]["end"] == f"+{MAX_YEAR}-12-31" and page[-1]["end"] is None
    far = client.get(f"/api/v1/events?from=Y{MAX_YEAR}&to=Y{MAX_YEAR}").get_json()["items"]
    assert [e["id"] for e in far] == ["e4", "e5"]
    for interval in ("year", "decade", "century", "month", "day"):
        r = client.get(f"/api/v1/events/histogram?interval={interval}")
        assert r.status_code == 200, (interval, r.get_json())
        assert sum(b["count"] for b in r.get_json()["buckets"]) == 5
    for fmt in ("csv", "ndjson", "ics", "timelinejs", "vis", "geojson"):
        assert client.get(f"/api/v1/events?format={fmt}").status_code == 200, fmt
    r = client.post("/api/v1/events", json={"date": f"Y{MAX_YEAR + 1}", "title": "x"}, headers=headers)
    assert r.status_code == 422 and "date" in r.get_json()["errors"]


@pytest.mark.parametrize("interval", ["day", "month", "year", "decade", "century", "millennium"])
def test_bucketer_answers_as_bucket_in_any_order(interval):
    """dates.bucketer remembers the last bucket; it must answer as dates.bucket does for
    days in order, out of order, on bucket edges and across BCE."""
    import random

    from service import dates

    rng = random.Random(interval)
    days = sorted(rng.randrange(-1_500_000, 900_000) for _ in range(400))
    days += [rng.randrange(-1_500_000, 900_000) for _ in range(400)]
    days += [dates.day_number(y, 1, 1) + k for y in (-101, -1, 0, 1, 1999, 2000) for k in (-1, 0, 1)]
    of = dates.bucketer(interval)
    assert [of(d) for d in days] == [dates.bucket(interval, d) for d in days]
