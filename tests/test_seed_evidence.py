"""Evidence and shape checks for the seed data set (seed/events.json, seed/timelines.json).

The seed is extracted from one news report kept outside the project, at
``<repo root>/../shared/seeds/000_b6733ea8aba2a067.txt`` (RFE/RL, July 2021). The project
holds only quotes from it. These tests prove that

* every source quote is copied verbatim from the report (never from its first line,
  which is an advert of the site the report was copied from, not part of the report);
* every event's ``date`` is justified by the date phrases in its own quote (a small
  evidence checker, with tests showing that it rejects wrong pairings);
* every event keeps to the basic shape of API.md section 1 (writable fields only, slugs,
  countries, coordinates, existing timelines).

Full validation against the service's schemas happens in other tests.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date as Date
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT_PATH = REPO_ROOT.parent / "shared" / "seeds" / "000_b6733ea8aba2a067.txt"
SEED_DIR = REPO_ROOT / "seed"

if not REPORT_PATH.is_file():
    pytest.skip(
        f"source report {REPORT_PATH} is not present, so the seed's evidence cannot be checked",
        allow_module_level=True,
    )

REPORT_RAW = REPORT_PATH.read_text(encoding="utf-8")
ADVERT_LINE, _, REPORT = REPORT_RAW.partition("\n")  # the first line is an advert, not the report

EVENTS = json.loads((SEED_DIR / "events.json").read_text(encoding="utf-8"))
TIMELINES = json.loads((SEED_DIR / "timelines.json").read_text(encoding="utf-8"))

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
RESERVED_IDS = {"histogram", "facets", "import"}
WRITABLE_FIELDS = {
    "id",
    "date",
    "title",
    "summary",
    "importance",
    "tags",
    "actors",
    "location",
    "sources",
    "timelines",
}
LOCATION_FIELDS = {"name", "country", "lat", "lon"}
SOURCE_FIELDS = {"url", "title", "publisher", "published", "quote"}


def _event_ids(events):
    return [e.get("id", f"#{i}") for i, e in enumerate(events)]


# ---------------------------------------------------------------------------
# EDTF bounds, for the small subset of EDTF the evidence table produces
# ---------------------------------------------------------------------------

_QUALIFIER_RE = re.compile(r"^(?P<base>.*?)(?P<q>[~?%]?)$")


def split_qualifier(part: str) -> tuple[str, str]:
    m = _QUALIFIER_RE.match(part)
    return m["base"], m["q"]


def bounds_of_single(base: str) -> tuple[Date, Date]:
    """Earliest and latest day of YYYY, YYYY-MM, YYYY-MM-DD or a decade YYYX."""
    if m := re.fullmatch(r"(\d{3})X", base):
        decade = int(m[1]) * 10
        return Date(decade, 1, 1), Date(decade + 9, 12, 31)
    if m := re.fullmatch(r"(\d{4})", base):
        y = int(m[1])
        return Date(y, 1, 1), Date(y, 12, 31)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", base):
        y, mo = int(m[1]), int(m[2])
        return Date(y, mo, 1), Date(y, mo, calendar.monthrange(y, mo)[1])
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", base):
        d = Date(int(m[1]), int(m[2]), int(m[3]))
        return d, d
    raise ValueError(f"unsupported date {base!r}")


def bounds(edtf: str) -> tuple[Date | None, Date | None]:
    """(start, end) as in API.md section 1; None for an open or unknown end.

    Qualifiers do not move bounds (API.md section 8)."""
    if "/" in edtf:
        left, right = edtf.split("/", 1)
        start = None if left in ("", "..") else bounds_of_single(split_qualifier(left)[0])[0]
        end = None if right in ("", "..") else bounds_of_single(split_qualifier(right)[0])[1]
        return start, end
    return bounds_of_single(split_qualifier(edtf)[0])


def chronological_key(event):
    start, end = bounds(event["date"])
    return (start or Date.min, end or Date.max, event["id"])


# ---------------------------------------------------------------------------
# The evidence checker
# ---------------------------------------------------------------------------

# The report carries no date of its own. Its latest dated happening is "July 5" (2021, as
# "April" is the month of Biden's withdrawal announcement and "July 2" the Bagram exit),
# so it was written in early July 2021; relative phrases are read against that month.
REPORT_YEAR = 2021
REPORT_MONTH = "2021-07"

MONTHS = {name: i for i, name in enumerate(calendar.month_name) if name}

# Phrases that place a happening only relatively or vaguely. A quote with one of them
# may justify a qualified (~ ? %) date; a quote without one may not.
VAGUE_PHRASES = [
    r"\balso\b",  # "He also spoke with ...": placed next to a dated event, not dated
    r"\banother\b",  # "another Afghan soldier": one more account of the same flight
    r"\brecent(?:ly)?\b",  # "a recent analysis", "recently captured"
    r"\bnow\b",  # the report's own present
    r"\bthe coming weeks\b",
    r"\bovernight\b",
]

# Phrases in the present tense of the report: they describe the situation when it was
# written (July 2021). "now" is the explicit one; the others are present-tense statements.
PRESENT_PHRASES = [r"\bnow\b", r"\bsay that\b", r"\bare already\b", r"\bremain\b"]


def evidence(quote: str):
    """Read the date phrases of a quote.

    Returns (atoms, wholes, vague, found):
      atoms  -- EDTF dates (no qualifier) that a date, or each side of an interval, may use;
      wholes -- complete EDTF dates a phrase gives on its own (e.g. an overnight interval);
      vague  -- whether qualifiers are allowed;
      found  -- the phrases found, for messages.
    """
    atoms: set[str] = set()
    wholes: set[str] = set()
    found: list[str] = []
    days: list[str] = []

    month_alt = "|".join(MONTHS)
    # "July 2", "July 4", "July 5": a day in the report's year.
    for m in re.finditer(rf"\b({month_alt}) (\d{{1,2}})\b", quote):
        day = f"{REPORT_YEAR}-{MONTHS[m[1]]:02d}-{int(m[2]):02d}"
        atoms.add(day)
        days.append(day)
        found.append(m[0])
    # "in April": a month of the report's year (a month name not followed by a day).
    for m in re.finditer(rf"\b({month_alt})\b(?! \d)", quote):
        atoms.add(f"{REPORT_YEAR}-{MONTHS[m[1]]:02d}")
        found.append(m[0])
    # "1990s": a decade.
    for m in re.finditer(r"\b(\d{3})0s\b", quote):
        atoms.add(f"{m[1]}X")
        found.append(m[0])
    # "2001": a year (not part of a number such as 1,357 or 20,000).
    for m in re.finditer(r"(?<![\d,.])((?:1[89]|20)\d\d)(?![\d,]|s\b)", quote):
        atoms.add(m[1])
        found.append(m[0])
    # "now" and other present-tense statements: the report's month; "now" may also stand
    # for an end that is still open (an offensive still going on).
    for pattern in PRESENT_PHRASES:
        if m := re.search(pattern, quote):
            atoms.add(REPORT_MONTH)
            if m[0] == "now":
                atoms.add("..")
            found.append(m[0])
    # "recent": the weeks before the report.
    if m := re.search(r"\brecent(?:ly)?\b", quote):
        atoms.update({"2021-06", REPORT_MONTH})
        found.append(m[0])
    # "the coming weeks": the weeks after the report, into the next month.
    if m := re.search(r"\bthe coming weeks\b", quote):
        atoms.update({REPORT_MONTH, "2021-08"})
        found.append(m[0])
    # "overnight", reported on a day D: the night from D-1 to D.
    if re.search(r"\bovernight\b", quote):
        found.append("overnight")
        for day in days:
            d = Date.fromisoformat(day)
            wholes.add(f"{Date.fromordinal(d.toordinal() - 1).isoformat()}/{day}")

    vague = any(re.search(p, quote) for p in VAGUE_PHRASES)
    # A run of sentences where some sentence carries no date phrase: the happening may be
    # told in an undated sentence next to a dated one, so the date is only approximate.
    if not vague and atoms:
        text = quote.replace("U.S.", "US")  # an abbreviation, not a sentence end
        sentences = [s for s in re.split(r"(?<=[.!?])[”\"]?\s+(?=[“\"A-Z])|\n+", text) if s.strip()]
        if len(sentences) > 1 and any(not _has_date_phrase(s) for s in sentences):
            vague = True
    return atoms, wholes, vague, found


def _has_date_phrase(sentence: str) -> bool:
    atoms, wholes, _, _ = evidence_atoms_only(sentence)
    return bool(atoms or wholes)


def evidence_atoms_only(text: str):
    # evidence() without the sentence rule (which would recurse).
    month_alt = "|".join(MONTHS)
    hits = (
        re.search(rf"\b({month_alt})\b", text)
        or re.search(r"\b\d{3}0s\b", text)
        or re.search(r"(?<![\d,.])(?:1[89]|20)\d\d(?![\d,]|s\b)", text)
        or any(re.search(p, text) for p in PRESENT_PHRASES)
        or re.search(r"\brecent(?:ly)?\b|\bthe coming weeks\b|\bovernight\b", text)
    )
    return ({"x"} if hits else set()), set(), False, []


def date_problems(date: str, quote: str) -> list[str]:
    """Why ``date`` is not supported by ``quote`` (empty list: it is)."""
    atoms, wholes, vague, found = evidence(quote)
    if not atoms and not wholes:
        return [f"the quote has no date phrase that could justify {date!r}"]
    problems = []
    if date in wholes:
        return []
    parts = date.split("/") if "/" in date else [date]
    if len(parts) == 2 and parts[0] == parts[1]:
        problems.append("an interval with equal ends")
    for part in parts:
        base, qualifier = split_qualifier(part)
        if qualifier and not vague:
            problems.append(f"qualifier {qualifier!r} in {part!r} but the quote is precise")
        if base not in atoms:
            problems.append(
                f"{part!r} is not built from the date phrases of the quote "
                f"({', '.join(found) or 'none'} -> {sorted(atoms)})"
            )
    if len(parts) == 2 and not problems:
        start, end = bounds(date)
        if start and end and start > end:
            problems.append("reversed interval")
    return problems


# ---------------------------------------------------------------------------
# Quotes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_every_quote_is_verbatim_from_the_report(event):
    assert event.get("sources"), "every seed event cites the report"
    for source in event["sources"]:
        quote = source["quote"]
        assert quote == quote.strip(), "quotes are stored trimmed"
        assert 0 < len(quote) <= 2000
        assert quote in REPORT, f"quote not found verbatim in the report: {quote[:80]!r}"


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_no_quote_uses_the_advert_line(event):
    advert = ADVERT_LINE.strip()
    assert advert, "the report's first line (the advert) is expected to be non-empty"
    for source in event["sources"]:
        quote = source["quote"]
        assert advert not in quote and quote not in advert
        # Nothing that starts the advert may appear in a quote either.
        assert advert[:30] not in quote


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_the_source_is_the_report_without_an_invented_url(event):
    assert len(event["sources"]) == 1
    (source,) = event["sources"]
    assert set(source) == {"title", "publisher", "published", "quote"}, "no url: it is not known"
    assert source["title"] == "Tajikistan reinforces border as Afghan forces collapse under Taliban offensive"
    assert source["title"] in REPORT
    assert source["publisher"] == "RFE/RL"
    assert source["published"] == REPORT_MONTH


# ---------------------------------------------------------------------------
# Dates against their evidence
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_every_date_agrees_with_its_quote(event):
    problems = [p for s in event["sources"] for p in date_problems(event["date"], s["quote"])]
    assert not problems, f"{event['id']} ({event['date']}): {problems}"


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_the_id_starts_with_the_date_it_carries(event):
    # Ids are "<date>-<words>": the leading date part must agree with the event's start.
    start, _ = bounds(event["date"])
    base = split_qualifier(event["date"].split("/")[0])[0]
    if base.endswith("X"):
        assert event["id"].startswith(base[:-1].lower() + "0s-")
    else:
        assert event["id"].startswith(base + "-")
    assert start is not None


def test_seed_is_in_chronological_order():
    keys = [chronological_key(e) for e in EVENTS]
    assert keys == sorted(keys), "events must be ordered by start, then end, then id"


BAGRAM = (
    "On July 2, all international troops left Bagram Airfield, the largest U.S. military base in Afghanistan."
)
FLED = (
    "Underscoring the rapid collapse of Afghan security forces, more than 1,000 Afghan troops "
    "fled into Tajikistan overnight, Tajik border guards said on July 5."
)
BIDEN = (
    "Since U.S. President Joe Biden in April announced U.S. troop would withdraw, the Taliban has "
    "unleashed a quick offensive and now controls about one-third of the country’s 421 districts "
    "and district centers."
)
HISTORY = (
    "The Taliban’s inroads in the north are significant because it’s a gateway to Central Asia "
    "and the group failed to take control of the area during their 1990s rule, when it was a "
    "stronghold of the U.S.-backed Northern Alliance that helped topple the Islamist group in 2001."
)
UNDATED = (
    "“Remaining there would be suicide for us,” said another Afghan soldier, Mohammad Vali, "
    "who accompanied 134 Afghan troops into Tajikistan."
)


@pytest.mark.parametrize("quote", [BAGRAM, FLED, BIDEN, HISTORY, UNDATED])
def test_checker_examples_are_real_quotes(quote):
    assert quote in REPORT


@pytest.mark.parametrize(
    ("date", "quote"),
    [
        ("2021-07-02", BAGRAM),
        ("2021-07-04/2021-07-05", FLED),
        ("2021-04", BIDEN),
        ("2021-04/2021-07", BIDEN),
        ("2021-04/..", BIDEN),
        ("199X", HISTORY),
        ("2001", HISTORY),
    ],
)
def test_checker_accepts_dates_the_quote_supports(date, quote):
    assert date_problems(date, quote) == []


@pytest.mark.parametrize(
    ("date", "quote", "why"),
    [
        ("2021-07-04", BAGRAM, "a quote about July 2 does not date an event to July 4"),
        ("2021-07-02~", BAGRAM, "a precise quote does not allow a qualifier"),
        ("2021-07", BAGRAM, "a day in the quote does not become a month"),
        ("2021", BAGRAM, "nor a year"),
        ("2021-04-14", BIDEN, "'April' gives no day: invented precision"),
        ("2021-05", BIDEN, "May is not in the quote"),
        ("1995", HISTORY, "'1990s' gives a decade, not a year"),
        ("2001-09-11", HISTORY, "'2001' gives a year, not a day"),
        ("2021-07-05/2021-07-04", FLED, "reversed interval"),
        ("2021-07-03/2021-07-05", FLED, "overnight is one night"),
        ("2021-07-05", UNDATED, "a quote without a date phrase supports no date"),
    ],
)
def test_checker_rejects_dates_the_quote_does_not_support(date, quote, why):
    assert date_problems(date, quote), why


def test_checker_reads_the_report_dates_relative_to_july_2021():
    atoms, wholes, vague, _ = evidence(FLED)
    assert "2021-07-05" in atoms and "2021-07-04/2021-07-05" in wholes and vague
    atoms, _, vague, _ = evidence(BAGRAM)
    assert atoms == {"2021-07-02"} and not vague
    atoms, _, _, _ = evidence("Tajik authorities say that two-thirds of the 1,357-kilometer-long border")
    assert atoms == {"2021-07"}, "numbers such as 1,357 are not years"


# ---------------------------------------------------------------------------
# Shape (API.md section 1, writable fields only)
# ---------------------------------------------------------------------------


def test_timelines_shape():
    assert isinstance(TIMELINES, list) and TIMELINES
    slugs = [t["slug"] for t in TIMELINES]
    assert len(slugs) == len(set(slugs))
    assert "afghanistan-2021" in slugs
    for t in TIMELINES:
        assert set(t) <= {"slug", "title", "description"}
        assert SLUG_RE.match(t["slug"]) and t["slug"] not in RESERVED_IDS
        assert isinstance(t["title"], str) and 1 <= len(t["title"].strip()) <= 200
        assert isinstance(t.get("description", ""), str)


def test_event_ids_are_unique():
    ids = [e["id"] for e in EVENTS]
    assert len(ids) == len(set(ids))


def test_every_timeline_has_events():
    used = {slug for e in EVENTS for slug in e["timelines"]}
    assert used == {t["slug"] for t in TIMELINES}


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_text_list(values, *, slug):
    assert isinstance(values, list) and len(values) <= 50
    for v in values:
        assert isinstance(v, str) and 1 <= len(v) <= 100 and v == v.strip()
        if slug:
            assert SLUG_RE.match(v), f"not a slug: {v!r}"
    assert len(values) == len(set(values)), "no repeated items"


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_event_shape(event):
    assert set(event) <= WRITABLE_FIELDS, f"unknown or read-only fields: {set(event) - WRITABLE_FIELDS}"

    assert isinstance(event["id"], str) and SLUG_RE.match(event["id"])
    assert event["id"] not in RESERVED_IDS

    assert isinstance(event["date"], str)
    bounds(event["date"])  # a date form this checker understands

    title = event["title"]
    assert isinstance(title, str) and 1 <= len(title.strip()) <= 200 and title == title.strip()
    summary = event.get("summary", "")
    assert isinstance(summary, str) and len(summary) <= 5000 and summary == summary.strip()

    importance = event.get("importance", 3)
    assert type(importance) is int and 1 <= importance <= 5

    _check_text_list(event.get("tags", []), slug=True)
    _check_text_list(event.get("actors", []), slug=False)
    _check_text_list(event["timelines"], slug=True)
    assert event["timelines"], "every event belongs to at least one timeline"
    known = {t["slug"] for t in TIMELINES}
    assert set(event["timelines"]) <= known, f"unknown timelines: {set(event['timelines']) - known}"

    location = event.get("location")
    if location is not None:
        assert isinstance(location, dict) and set(location) <= LOCATION_FIELDS
        assert isinstance(location["name"], str) and 1 <= len(location["name"].strip()) <= 200
        assert isinstance(location["country"], str) and re.fullmatch(r"[A-Z]{2}", location["country"])
        assert ("lat" in location) == ("lon" in location), "lat and lon come together"
        if "lat" in location:
            assert _is_number(location["lat"]) and -90 <= location["lat"] <= 90
            assert _is_number(location["lon"]) and -180 <= location["lon"] <= 180

    sources = event["sources"]
    assert isinstance(sources, list) and 1 <= len(sources) <= 20
    for source in sources:
        assert isinstance(source, dict) and set(source) <= SOURCE_FIELDS
        assert "url" in source or "title" in source
        for key in ("title", "publisher", "published", "quote"):
            if key in source:
                assert isinstance(source[key], str) and source[key].strip()
        assert len(source.get("title", "x")) <= 300
        assert len(source.get("quote", "")) <= 2000


def test_dates_are_valid_edtf():
    edtf = pytest.importorskip("edtf")
    for e in EVENTS:
        edtf.parse_edtf(e["date"])
        for s in e["sources"]:
            edtf.parse_edtf(s["published"])


def test_the_summary_is_not_copied_from_the_report():
    # Summaries are in our own words: no long run of the report is copied into them.
    copied = []
    for e in EVENTS:
        words = e["summary"].split()
        for i in range(len(words) - 7):
            run = " ".join(words[i : i + 8])
            if run in REPORT:
                copied.append(f"{e['id']}: {run!r}")
    assert not copied, copied
