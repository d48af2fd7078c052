"""Evidence and shape checks for the seed data set (seed/events.json, seed/timelines.json).

The seed is extracted from one news report kept outside the project, at
``<repo root>/../shared/seeds/000_b6733ea8aba2a067.txt`` (RFE/RL, July 2021). The project
holds only quotes from it. These tests prove that

* every source quote is copied verbatim from the report (never from its first line,
  which is an advert of the site the report was copied from, not part of the report);
* every event's ``date`` is justified sentence by sentence: each sentence of its quote
  carries the date phrase the date is built from, so a quote of several paragraphs cannot
  borrow a neighbour's date; or the event names, in ``seed/date_basis.tsv``, how its date
  was derived (a closed vocabulary: publication month, before the report, before the day
  named, inferred from paragraph order, one statement over consecutive paragraphs), and the
  checker holds the date to that basis (tests show it rejects wrong pairings, and the padded
  quotes and over-precise dates of the seed before issue 16);
* nothing in the seed ends after the report, and the timelines' bounds follow from that;
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

import factories
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
WRITABLE_FIELDS = set(factories.WRITABLE_FIELDS)
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
_MONTH_ALT = "|".join(MONTHS)

# The report's paragraphs, in order (an "inferred from paragraph order" date looks at them).
PARAGRAPHS = [p for p in REPORT.split("\n\n") if p.strip()]

# Present-tense statements: they describe the situation when the report was written
# (its month). "now" is the explicit one; a state that is "now" still going on has an
# open end (..), never an end in the report's month.
PRESENT_PHRASES = [r"\bnow\b", r"\bsay that\b", r"\bare already\b", r"\bremain\b"]

# How an event's date was derived when its quote does not state it (seed/date_basis.tsv).
# Each basis has a rule in basis_problems(); an event without one is dated by its quote.
BASES = {
    "publication month",
    "before the report",
    "before the day named",
    "inferred from paragraph order",
    "one statement over consecutive paragraphs",
}
NEIGHBOURHOOD = 3  # paragraphs either side that an inferred day may come from


def read_date_basis(text: str) -> dict[str, str]:
    """``id<TAB>basis`` lines; ``#`` starts a comment line (continued by indented lines)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        event_id, tab, basis = line.partition("\t")
        assert tab and event_id and basis == basis.strip(), f"not 'id<TAB>basis': {line!r}"
        assert event_id not in out, f"{event_id} has two bases"
        out[event_id] = basis
    return out


DATE_BASIS = read_date_basis((SEED_DIR / "date_basis.tsv").read_text(encoding="utf-8"))


def sentences(quote: str) -> list[str]:
    """The quote's sentences: paragraphs, then sentence ends ("U.S." is not one)."""
    text = quote.replace("U.S.", "US")
    return [s for s in re.split(r"(?<=[.!?])[”\"]?\s+(?=[“\"A-Z])|\n+", text) if s.strip()]


def named_dates(text: str) -> dict[str, set[str]]:
    """Explicit dates the text names: days ("July 5"), months ("in April"), years, decades."""
    days = {
        f"{REPORT_YEAR}-{MONTHS[m[1]]:02d}-{int(m[2]):02d}"
        for m in re.finditer(rf"\b({_MONTH_ALT}) (\d{{1,2}})\b", text)
    }
    months = {f"{REPORT_YEAR}-{MONTHS[m[1]]:02d}" for m in re.finditer(rf"\b({_MONTH_ALT})\b(?! \d)", text)}
    decades = {f"{m[1]}X" for m in re.finditer(r"\b(\d{3})0s\b", text)}
    # "2001" (not part of a number such as 1,357 or 20,000, nor of a decade)
    years = {m[1] for m in re.finditer(r"(?<![\d,.])((?:1[89]|20)\d\d)(?![\d,]|s\b)", text)}
    return {"days": days, "months": months, "decades": decades, "years": years}


def _names_a_date(text: str) -> bool:
    return any(named_dates(text).values())


def evidence(sentence: str):
    """Read the date phrases of one sentence.

    Returns (atoms, single, ends, wholes, found):
      atoms  -- EDTF dates (no qualifier) that a date, or either side of an interval, may use;
      single -- dates usable only as a whole single date (the report's month, for a present state);
      ends   -- what an interval end may be besides atoms ("..": a present state still going on);
      wholes -- complete EDTF dates a phrase gives on its own (an overnight interval, "recent");
      found  -- the phrases found, for messages.
    """
    named = named_dates(sentence)
    atoms = set().union(*named.values())
    found = sorted(atoms)
    single: set[str] = set()
    ends: set[str] = set()
    wholes: set[str] = set()
    for pattern in PRESENT_PHRASES:
        if m := re.search(pattern, sentence):
            single.add(REPORT_MONTH)
            if m[0] == "now":
                ends.add("..")
            found.append(m[0])
    # "recent": the weeks before a report written in early July, so June as much as July.
    if m := re.search(r"\brecent(?:ly)?\b", sentence):
        wholes.add(f"{REPORT_YEAR}-06/{REPORT_MONTH}")
        found.append(m[0])
    # "overnight", reported on a day D: the night from D-1 to D.
    if re.search(r"\bovernight\b", sentence):
        found.append("overnight")
        for day in named["days"]:
            d = Date.fromisoformat(day)
            wholes.add(f"{Date.fromordinal(d.toordinal() - 1).isoformat()}/{day}")
    return atoms, single, ends, wholes, found


def stated_problems(date: str, sentence: str) -> list[str]:
    """Why one sentence does not state ``date`` by itself (empty list: it does)."""
    atoms, single, ends, wholes, found = evidence(sentence)
    if not (atoms or single or ends or wholes):
        return [f"no date phrase in {sentence[:70]!r} could justify {date!r}"]
    if date in wholes or date in single:
        return []
    problems = []
    parts = date.split("/") if "/" in date else [date]
    if len(parts) == 2 and parts[0] == parts[1]:
        problems.append("an interval with equal ends")
    for i, part in enumerate(parts):
        base, qualifier = split_qualifier(part)
        if qualifier:
            problems.append(f"qualifier {qualifier!r} in {part!r}: a stated date is not qualified")
        if base in atoms or (i == 1 and base in ends):
            continue
        why = "a present state has no end in the report's month" if base in single and i == 1 else ""
        problems.append(
            f"{part!r} is not built from the date phrases of {sentence[:50]!r} "
            f"({', '.join(found) or 'none'} -> {sorted(atoms | single)}){': ' + why if why else ''}"
        )
    if len(parts) == 2 and not problems:
        start, end = bounds(date)
        if start and end and start > end:
            problems.append("reversed interval")
    return problems


def _quote_paragraphs(quote: str) -> tuple[int, int]:
    """Indices of the report's first and last paragraph that the quote is taken from."""
    first = quote.split("\n\n")[0]
    hits = [i for i, p in enumerate(PARAGRAPHS) if first in p]
    assert len(hits) == 1, f"the quote's first paragraph is not found once in the report: {first[:60]!r}"
    return hits[0], hits[0] + quote.count("\n\n")


def basis_problems(date: str, quote: str, basis: str) -> list[str]:
    """Why ``date`` does not follow from ``quote`` by ``basis`` (empty list: it does)."""
    if basis not in BASES:
        return [f"unknown date_basis {basis!r} (one of {sorted(BASES)})"]
    if basis == "one statement over consecutive paragraphs":
        head, *rest = quote.split("\n\n")
        if not rest:
            return ["one paragraph is not 'one statement over consecutive paragraphs'"]
        problems = [p for s in sentences(head) for p in stated_problems(date, s)]
        for para in rest:
            if not re.search(r"\bsaid\b", para):
                problems.append(f"{para[:50]!r} does not report a statement ('said')")
            if _names_a_date(para):
                problems.append(f"{para[:50]!r} names a date of its own: it is not the same statement")
        return problems
    named = named_dates(quote)
    if basis == "before the day named":
        m = re.fullmatch(r"(?:\.\.)?/(\d{4}-\d\d-\d\d)", date)
        if not m:
            return [f"{date!r}: 'before the day named' is an open or unknown start ending on that day (/D)"]
        if m[1] not in named["days"]:
            return [f"{m[1]} is not a day the quote names ({sorted(named['days'])})"]
        return []
    if _names_a_date(quote):
        return [f"the quote names a date ({named}): {basis!r} is for quotes without one"]
    if basis == "publication month":
        return [] if date == REPORT_MONTH else [f"'publication month' is {REPORT_MONTH}, not {date!r}"]
    if basis == "before the report":
        ok = (f"/{REPORT_MONTH}", f"../{REPORT_MONTH}")
        return [] if date in ok else [f"'before the report' is {' or '.join(ok)}, not {date!r}"]
    # inferred from paragraph order
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)\?", date)
    if not m:
        return [f"{date!r}: a day inferred from the order of paragraphs is an uncertain day (D?)"]
    first, last = _quote_paragraphs(quote)
    lo, hi = max(0, first - NEIGHBOURHOOD), min(len(PARAGRAPHS), last + NEIGHBOURHOOD + 1)
    near = {d for i in range(lo, hi) if not first <= i <= last for d in named_dates(PARAGRAPHS[i])["days"]}
    if m[1] not in near:
        return [f"{m[1]} is not named within {NEIGHBOURHOOD} paragraphs of the quote ({sorted(near)})"]
    return []


def date_problems(date: str, quote: str, basis: str | None = None) -> list[str]:
    """Why ``date`` is not supported by ``quote`` (empty list: it is).

    Without a basis every sentence of the quote must state the date by itself, so a quote
    of several sentences or paragraphs cannot borrow a date from a neighbour."""
    if basis is not None:
        return basis_problems(date, quote, basis)
    return [p for s in sentences(quote) for p in stated_problems(date, s)]


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
        # whole sentences only: a quote starts a paragraph or follows a sentence end
        at = REPORT.index(quote)
        assert at == 0 or REPORT[at - 1] == "\n" or REPORT[at - 2 : at] in (". ", "? ", "! ")
        after = REPORT[at + len(quote) : at + len(quote) + 1]
        assert after in ("", "\n", " ") and quote[-1] in ".?!”", "a quote ends a sentence"


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
    basis = DATE_BASIS.get(event["id"])
    problems = [p for s in event["sources"] for p in date_problems(event["date"], s["quote"], basis)]
    assert not problems, f"{event['id']} ({event['date']}, basis {basis!r}): {problems}"


def test_every_date_basis_names_a_seed_event_and_a_known_basis():
    ids = {e["id"] for e in EVENTS}
    assert set(DATE_BASIS) <= ids, f"bases of unknown events: {set(DATE_BASIS) - ids}"
    assert set(DATE_BASIS.values()) <= BASES
    # a basis is for what the quote does not state: an event whose every sentence states
    # its date needs none (so a basis cannot paper over a quote that would pass anyway)
    for e in EVENTS:
        if e["id"] in DATE_BASIS:
            assert date_problems(e["date"], e["sources"][0]["quote"]), f"{e['id']} needs no date_basis"


def test_the_seed_loader_never_reads_the_date_basis_file():
    # `timeline seed` loads timelines.json and every other *.json / *.ndjson as events; the
    # API has no field for a date basis (API.md section 1), so it stays out of those files.
    assert (SEED_DIR / "date_basis.tsv").suffix not in (".json", ".ndjson")
    assert all("date_basis" not in e for e in EVENTS)


@pytest.mark.parametrize("event", EVENTS, ids=_event_ids(EVENTS))
def test_the_id_starts_with_the_date_it_carries(event):
    # Ids are "<date>-<words>": the leading date part agrees with the event's start, or,
    # for an event known only to have happened by a date, "by-<end>-<words>".
    start, _ = bounds(event["date"])
    left, _, right = event["date"].partition("/")
    if start is None:
        assert event["id"].startswith("by-" + split_qualifier(right)[0] + "-")
        return
    base = split_qualifier(left)[0]
    if base.endswith("X"):
        assert event["id"].startswith(base[:-1].lower() + "0s-")
    else:
        assert event["id"].startswith(base + "-")


def test_seed_is_in_chronological_order():
    keys = [chronological_key(e) for e in EVENTS]
    assert keys == sorted(keys), "events must be ordered by start, then end, then id"


def test_nothing_ends_after_the_report():
    # The report tells nothing that happened after it was written (early July 2021): every
    # known end is in July 2021 at the latest; a state still going on has an open end.
    report_end = bounds(REPORT_MONTH)[1]
    late = [(e["id"], e["date"]) for e in EVENTS if (bounds(e["date"])[1] or Date.min) > report_end]
    assert not late, late


def timeline_bounds(slug: str) -> tuple[Date | None, Date | None]:
    """A timeline's start and end as API.md section 8 derives them from its events."""
    spans = [bounds(e["date"]) for e in EVENTS if slug in e["timelines"]]
    starts, ends = [s for s, _ in spans], [e for _, e in spans]
    return (None if None in starts else min(starts)), (None if None in ends else max(ends))


def test_timeline_bounds_say_no_more_than_the_report():
    # afghanistan-2021: events known only to have happened "by" a date have no start, and
    # the offensive "since April" was still going on, so the timeline has no end (it used to
    # end on an invented August, from "the coming weeks" read as a dated exit).
    assert timeline_bounds("afghanistan-2021") == (None, None)
    assert timeline_bounds("tajikistan-border") == (None, Date(2021, 7, 31))


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
AAN = (
    "According to a recent\u00a0analysis\u00a0by the Afghanistan Analysts Network, a Kabul think tank, "
    "the Taliban strategy in the north “looks like a preemptive strike to prevent a northern "
    "opposition from organizing.”"
)
WASHINGTON = (
    "With Washington aiming to exit the country in the coming weeks, there are increasing concerns "
    "that the Western-backed government in Kabul may collapse."
)
MEETING = (
    "Following a top security meeting on July 5, Tajik President Emomali Rahmon ordered 20,000 "
    "reserve officers to the Afghan border."
)
CALLS = (
    "He also spoke with Russian President Vladimir Putin and his counterparts from fellow Central Asian "
    "states Uzbekistan and Kazakhstan about the situation in Afghanistan."
)
GHANI = (
    "On July 4, Rahmon spoke with his Afghan counterpart, Ashraf Ghani, about the “alarming” situation "
    "along the border, according to Tajik state media."
)
KREMLIN = (
    "According to a Kremlin statement, Putin confirmed that Moscow was ready to “provide Tajikistan with "
    "the necessary support,” both on a bilateral basis and through the Collective Security Treaty "
    "Organization (CSTO), a Russian-led military alliance that includes Tajikistan. Russia has a "
    "military base in Tajikistan, a former Soviet republic."
)
ADVISER = (
    "An adviser to Afghan President Ashraf Ghani said on July 5 that government forces were planning a "
    "counteroffensive in the north to retake ground from the militants."
)
MOHIB = (
    "National-security adviser Hamdullah Mohib, who was in Moscow for talks with Russian officials, said "
    "government forces had not expected the Taliban offensive but would “absolutely, definitely” "
    "counterattack."
)
SAFARALI = (
    "The head of the Afghan Border Troops’ communications unit in Khokhan, Mohammad Zahir Safarali, who "
    "fled Afghanistan for Tajikistan on July 5, told RFE/RL’s Tajik Service how the Taliban took control."
)
MILITIAS = (
    "“Local militias and villagers armed by the Afghan government joined the Taliban when they arrived, "
    "and we had no other choice but to flee,” he said."
)
EXAMPLES = [BAGRAM, FLED, BIDEN, HISTORY, UNDATED, AAN, WASHINGTON, MEETING, CALLS, GHANI, KREMLIN]
EXAMPLES += [ADVISER, MOHIB, SAFARALI, MILITIAS]


def _paras(*quotes: str) -> str:
    return "\n\n".join(quotes)


@pytest.mark.parametrize(
    "quote", EXAMPLES + [_paras(MEETING, CALLS, GHANI, KREMLIN), _paras(SAFARALI, MILITIAS)]
)
def test_checker_examples_are_real_quotes(quote):
    assert quote in REPORT


@pytest.mark.parametrize(
    ("date", "quote"),
    [
        ("2021-07-02", BAGRAM),
        ("2021-07-04/2021-07-05", FLED),
        ("2021-04", BIDEN),
        ("2021-04/..", BIDEN),
        ("2021-07", BIDEN),  # "now controls": the report's month, as a single date
        ("199X", HISTORY),
        ("2001", HISTORY),
        ("2021-06/2021-07", AAN),
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
        ("2021-04/2021-07", BIDEN, "an offensive that 'now controls' is still going on: no end in July"),
        ("1995", HISTORY, "'1990s' gives a decade, not a year"),
        ("2001-09-11", HISTORY, "'2001' gives a year, not a day"),
        ("2021-07-05/2021-07-04", FLED, "reversed interval"),
        ("2021-07-03/2021-07-05", FLED, "overnight is one night"),
        ("2021-07-05", UNDATED, "a quote without a date phrase supports no date"),
        ("2021-07~", AAN, "'recent' is June as much as July"),
        ("2021-06", AAN, "nor June alone"),
        ("2021-07/2021-08~", WASHINGTON, "'the coming weeks' is an aim, not the date of an exit"),
        ("2021-07", WASHINGTON, "a present aim is dated by its basis, not by 'the coming weeks'"),
    ],
)
def test_checker_rejects_dates_the_quote_does_not_support(date, quote, why):
    assert date_problems(date, quote), why


# The six padded quotes of the seed before issue 16, with the dates they carried: each ran
# across two to four paragraphs and passed only on a neighbouring paragraph's "July 5".
# Sentence by sentence, none of them holds, with no basis or with the basis that would fit.
PADDED = {
    "khokhan-falls": ("2021-07-05~", _paras(SAFARALI, MILITIAS), "before the day named"),
    "kremlin-offers-support": (
        "2021-07-05~",
        _paras(MEETING, CALLS, GHANI, KREMLIN),
        "inferred from paragraph order",
    ),
    "mohammad-vali-crosses": ("2021-07-05~", _paras(SAFARALI, MILITIAS, UNDATED), "before the report"),
    "rahmon-putin-call": ("2021-07-05~", _paras(MEETING, CALLS), "inferred from paragraph order"),
    "rahmon-uzbek-kazakh-call": ("2021-07-05~", _paras(MEETING, CALLS), "inferred from paragraph order"),
    "mohib-in-moscow": ("2021-07-05~", _paras(ADVISER, MOHIB), "one statement over consecutive paragraphs"),
}


@pytest.mark.parametrize("case", sorted(PADDED))
def test_padded_quotes_of_the_old_seed_fail(case):
    date, quote, fitting = PADDED[case]
    assert quote in REPORT
    assert date_problems(date, quote), "a neighbouring paragraph's date was borrowed"
    assert date_problems(date, quote, fitting), f"'~' is not what {fitting!r} gives"


@pytest.mark.parametrize(
    ("case", "undated"),
    [
        ("khokhan-falls", MILITIAS),
        ("kremlin-offers-support", KREMLIN),
        ("mohammad-vali-crosses", UNDATED),
        ("rahmon-putin-call", CALLS),
        ("rahmon-uzbek-kazakh-call", CALLS),
        ("mohib-in-moscow", MOHIB),
    ],
)
def test_the_sentence_about_each_padded_event_carries_no_date(case, undated):
    date, quote, _ = PADDED[case]
    assert undated in quote and date_problems(date, undated)


def test_the_old_dates_that_said_more_than_the_report_fail():
    assert date_problems("2021-07~", AAN), "AAN analysis: 'recent'"
    assert date_problems("2021-07/2021-08~", WASHINGTON), "an exit forecast to August"
    assert date_problems("2021-04/2021-07", BIDEN), "the offensive ended with July"
    assert date_problems("2021-07-05~", UNDATED, "before the report"), "Mohammad Vali on 5 July"


@pytest.mark.parametrize(
    ("date", "quote", "basis"),
    [
        ("2021-07", WASHINGTON, "publication month"),
        ("/2021-07", UNDATED, "before the report"),
        ("../2021-07", UNDATED, "before the report"),
        ("/2021-07-05", _paras(SAFARALI, MILITIAS), "before the day named"),
        ("../2021-07-05", SAFARALI, "before the day named"),
        ("2021-07-05?", CALLS, "inferred from paragraph order"),
        ("2021-07-04?", CALLS, "inferred from paragraph order"),  # the next paragraph's day
        ("2021-07-05?", KREMLIN.split(" Russia has")[0], "inferred from paragraph order"),
        ("2021-07-05", _paras(ADVISER, MOHIB), "one statement over consecutive paragraphs"),
    ],
)
def test_each_basis_accepts_the_dates_it_gives(date, quote, basis):
    assert date_problems(date, quote, basis) == []


@pytest.mark.parametrize(
    ("date", "quote", "basis", "why"),
    [
        ("2021-07", WASHINGTON, "as the editor thinks", "not in the vocabulary"),
        ("2021-08", WASHINGTON, "publication month", "the publication month is July 2021"),
        ("2021-07~", WASHINGTON, "publication month", "no qualifier"),
        ("2021-07", BAGRAM, "publication month", "a dated quote is dated by its date"),
        ("/2021-08", UNDATED, "before the report", "after the report"),
        ("/2021-07-05", UNDATED, "before the report", "a day the quote does not name"),
        ("/2021-07", BAGRAM, "before the report", "a dated quote is dated by its date"),
        ("/2021-07-04", SAFARALI, "before the day named", "July 4 is not named"),
        ("2021-07-05~", SAFARALI, "before the day named", "'~' does not widen bounds"),
        ("2021-07-05/..", SAFARALI, "before the day named", "before, not after"),
        ("/2021-07-05", UNDATED, "before the day named", "no day named"),
        ("2021-07-05~", CALLS, "inferred from paragraph order", "an inferred day is uncertain (?), not ~"),
        ("2021-07-05", CALLS, "inferred from paragraph order", "nor certain"),
        ("2021-07-02?", CALLS, "inferred from paragraph order", "July 2 is far from the calls"),
        ("2021-07-05?", MEETING, "inferred from paragraph order", "the quote names its own day"),
        ("2021-07-05?", AAN, "inferred from paragraph order", "no day within three paragraphs"),
        ("2021-07-05", ADVISER, "one statement over consecutive paragraphs", "one paragraph"),
        ("2021-07-05", _paras(MEETING, CALLS), "one statement over consecutive paragraphs", "no 'said'"),
        ("2021-07-04", _paras(ADVISER, MOHIB), "one statement over consecutive paragraphs", "July 5"),
    ],
)
def test_each_basis_rejects_dates_it_does_not_give(date, quote, basis, why):
    assert date_problems(date, quote, basis), why


def test_checker_reads_the_report_dates_relative_to_july_2021():
    atoms, _, _, wholes, _ = evidence(FLED)
    assert "2021-07-05" in atoms and "2021-07-04/2021-07-05" in wholes
    atoms, single, ends, _, _ = evidence(BAGRAM)
    assert atoms == {"2021-07-02"} and not single and not ends
    atoms, single, _, _, _ = evidence(
        "Tajik authorities say that two-thirds of the 1,357-kilometer-long border"
    )
    assert not atoms and single == {"2021-07"}, "numbers such as 1,357 are not years"
    assert sentences(_paras(SAFARALI, MILITIAS)) == [SAFARALI.replace("U.S.", "US"), MILITIAS]
    assert len(sentences(KREMLIN)) == 2 and len(sentences(BIDEN)) == 1


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
