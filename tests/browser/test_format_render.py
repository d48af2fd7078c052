"""Our `timelinejs` and `vis` formats render, as they are, in the real libraries.

The libraries come from npm (`package.json` at the repository root; the test
command runs `npm ci` first) and are served from `<repo>/node_modules` by a local
http.server thread on 127.0.0.1.  Every request to any other host is aborted and
counted: the pages must not touch the network (TimelineJS gets `font: null`).
"""

from __future__ import annotations

import functools
import http.server
import json
from pathlib import Path

import pytest
from factories import serving

from service import formats

pytestmark = pytest.mark.slow  # a real browser

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
TIMELINEJS = NODE_MODULES / "@knight-lab" / "timelinejs" / "dist"
VIS = NODE_MODULES / "vis-timeline" / "standalone" / "umd"

# (id, EDTF, title, tags) -- every shape the formats have to draw.
SAMPLES = [
    ("day-event", "2021-07-02", "Troops leave Bagram <airfield> & more", ["military"]),
    ("month-event", "2021-04", "Withdrawal announced", ["politics"]),
    ("year-event", "2019", "Talks in Doha", ["politics"]),
    ("decade-event", "199X", "Civil war", []),
    ("interval-event", "2021-04/2021-07-05", "Drawdown", ["military"]),
    ("bce-day", "-0043-03-15", "Caesar assassinated", ["rome"]),
    ("bce-year", "-0100", "A year BC", ["rome"]),
    ("approx-event", "2020-02-29~", "Doha agreement (approximate)", ["politics"]),
    ("uncertain-month", "2001-10?", "Invasion (uncertain)", ["military"]),
    ("open-end", "2021-08/..", "Taliban rule", ["politics"]),
]


def _events():
    try:
        from service import dates
    except ImportError:  # pragma: no cover - dates.py is part of the project
        pytest.fail("service.dates is needed to build the sample events")
    out = []
    for i, (eid, edtf, title, tags) in enumerate(SAMPLES):
        ev = {
            "id": eid,
            "date": edtf,
            "title": title,
            "summary": f'Summary of {title} with <b>markup</b> & a quote "x".',
            "importance": 3,
            "tags": tags,
            "actors": ["Someone"] if i % 2 else [],
            "timelines": [],
            "location": None,
            "sources": [
                {
                    "url": f"https://example.org/{eid}",
                    "title": "A source",
                    "publisher": "Pub",
                    "quote": "Quoted <text>.",
                }
            ],
            "created_at": "2026-11-24T19:20:00Z",
            "updated_at": "2026-11-24T19:20:00Z",
            "version": 1,
        }
        ev.update(dates.parse(edtf).as_fields())
        out.append(ev)
    return out


def _require_node_modules():
    missing = [
        p for p in (TIMELINEJS / "js" / "timeline.js", VIS / "vis-timeline-graph2d.min.js") if not p.exists()
    ]
    if missing:
        pytest.fail(
            "the browser libraries are not installed (missing "
            + ", ".join(str(p.relative_to(REPO)) for p in missing)
            + "): run `npm ci` in the repository root first"
        )


class _Handler(http.server.SimpleHTTPRequestHandler):
    pages: dict[str, str] = {}

    def do_GET(self):  # noqa: N802
        page = self.pages.get(self.path.split("?")[0])
        if page is None:
            return super().do_GET()
        body = page.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    _require_node_modules()
    handler = functools.partial(_Handler, directory=str(REPO))
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url


def _open(browser, base, path, html, ready_js, timeout=20_000):
    """Load `html` at base+path; return (page, problems) once `ready_js` is true."""
    _Handler.pages[path] = html
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    problems = {"console": [], "pageerror": [], "offline": [], "warnings": []}

    def route(r):
        if r.request.url.startswith(base + "/"):
            r.continue_()
        else:
            problems["offline"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            problems["console"].append(m.text)
            if m.type == "error"
            else problems["warnings"].append(m.text)
            if m.type == "warning"
            else None
        ),
    )
    page.on("pageerror", lambda e: problems["pageerror"].append(str(e)))
    page.goto(base + path)
    page.wait_for_function(ready_js, timeout=timeout)
    return page, problems


def _assert_clean(problems):
    assert problems["pageerror"] == [], problems
    assert problems["console"] == [], problems
    assert problems["offline"] == [], f"the page tried to reach the network: {problems}"


TIMELINEJS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>timelinejs</title>
<link rel="stylesheet" href="/node_modules/@knight-lab/timelinejs/dist/css/timeline.css">
<script src="/node_modules/@knight-lab/timelinejs/dist/js/timeline.js"></script>
</head><body style="margin:0">
<div id="timeline-embed" style="width:1400px;height:800px"></div>
<script>
  window.tlReady = false;
  window.tl = new TL.Timeline('timeline-embed', DATA, {
    font: null,
    script_path: location.origin + '/node_modules/@knight-lab/timelinejs/dist/js/'
  });
  window.tl.on('ready', function () { window.tlReady = true; });
</script>
</body></html>
"""


@pytest.mark.parametrize("group_by", [None, "tag"])
def test_timelinejs_renders_every_event(browser, server, group_by):
    events = _events()
    doc = formats.timelinejs(events, title="Sample & <test>", text="Intro", group_by=group_by)
    doc_ids = [e["unique_id"] for e in doc["events"]]
    assert doc_ids == [e["id"] for e in events]  # no event left out here
    html = TIMELINEJS_PAGE.replace("DATA", json.dumps(doc))
    page, problems = _open(browser, server, f"/tl-{group_by}.html", html, "window.tlReady === true")
    try:
        page.wait_for_timeout(300)
        _assert_clean(problems)
        assert page.evaluate("tl.config.getErrors()") == []
        # every event has its slide and its marker on the time navigation
        for e in doc["events"]:
            uid = e["unique_id"]
            assert page.locator(f"#{uid}.tl-slide").count() == 1, uid
            assert page.locator(f"#{uid}-marker.tl-timemarker").count() == 1, uid
        # our label is the one shown on each slide
        shown = page.evaluate("""() => Object.fromEntries(
            [...document.querySelectorAll('.tl-slide')].filter(s => s.id && s.id !== '_title')
              .map(s => [s.id, (s.querySelector('.tl-headline-date') || {}).textContent]))""")
        for ev in events:
            assert shown[ev["id"]] == ev["display_date"], ev["id"]
        # dates as TimelineJS understood them
        parsed = page.evaluate("""() => Object.fromEntries(tl.config.events.map(e => {
            const s = e.start_date.data.date_obj, en = e.end_date && e.end_date.data.date_obj;
            return [e.unique_id, {y: s.getFullYear(), m: s.getMonth() + 1, d: s.getDate(),
                                  end: en ? en.getFullYear() : null}];
        }))""")
        assert parsed["bce-day"] == {"y": -43, "m": 3, "d": 15, "end": None}
        assert parsed["bce-year"]["y"] == -100
        assert parsed["decade-event"] == {"y": 1990, "m": 1, "d": 1, "end": 1999}
        assert parsed["month-event"] == {"y": 2021, "m": 4, "d": 1, "end": None}
        # chronological: TimelineJS sorted the BCE events first
        order = page.evaluate("tl.config.events.map(e => e.unique_id)")
        assert order[:2] == ["bce-year", "bce-day"], order
        # a span is drawn as a span (marker with an end), a day as a point
        assert page.locator("#decade-event-marker.tl-timemarker-with-end").count() == 1
        assert page.locator("#interval-event-marker.tl-timemarker-with-end").count() == 1
        assert page.locator("#day-event-marker.tl-timemarker-with-end").count() == 0
        lefts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            '.tl-timemarker')].map(m => [m.id, m.getBoundingClientRect().left]))""")
        assert lefts["bce-year-marker"] < lefts["bce-day-marker"] < lefts["decade-event-marker"]
        if group_by:
            labels = page.evaluate("tl._timenav.timescale.getGroupLabels().map(g => g.label)")
            assert set(labels) == {e["group"] for e in doc["events"]}
        assert problems["offline"] == []
    finally:
        page.context.close()


VIS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>vis</title>
<link rel="stylesheet" href="/node_modules/vis-timeline/styles/vis-timeline-graph2d.min.css">
<script src="/node_modules/vis-timeline/standalone/umd/vis-timeline-graph2d.min.js"></script>
</head><body style="margin:0">
<div id="vis" style="width:1400px"></div>
<script>
  const items = ITEMS;
  const options = {dataAttributes: ['id'], start: START, end: END};
  if (GROUPED) {
    const names = [...new Set(items.map(i => i.group))];
    window.timeline = new vis.Timeline(document.getElementById('vis'), items,
      names.map(n => ({id: n, content: n})), options);
  } else {
    window.timeline = new vis.Timeline(document.getElementById('vis'), items, options);
  }
  window.visReady = false;
  window.timeline.on('changed', function () { window.visReady = true; });
</script>
</body></html>
"""


def _vis_page(items, grouped, start, end):
    return (
        VIS_PAGE.replace("ITEMS", json.dumps(items))
        .replace("GROUPED", "true" if grouped else "false")
        .replace("START", json.dumps(start))
        .replace("END", json.dumps(end))
    )


def _vis_dates(page):
    return page.evaluate("""() => Object.fromEntries(timeline.itemsData.get().map(i => {
        const f = d => d && [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours()];
        return [i.id, {start: f(i.start), end: f(i.end)}];
    }))""")


@pytest.mark.parametrize("group_by", [None, "tag"])
def test_vis_renders_every_item(browser, server, group_by):
    events = _events()
    items = formats.vis(events, group_by=group_by)
    assert [i["id"] for i in items] == [e["id"] for e in events]
    # a window over everything: vis draws only what is in view
    html = _vis_page(items, bool(group_by), "-000150-01-01", "2030-01-01")
    page, problems = _open(browser, server, f"/vis-{group_by}.html", html, "window.visReady === true")
    try:
        page.wait_for_timeout(300)
        _assert_clean(problems)
        # moment parsed every date as ISO (no fallback to Date(), which warns)
        assert not [w for w in problems["warnings"] if "deprecat" in w.lower()], problems
        for it in items:
            el = page.locator(f'.vis-item[data-id="{it["id"]}"]')
            assert el.count() == 1, it["id"]
            assert "vis-" + it["type"] in el.get_attribute("class"), it
        # one item element each (a point also draws a `.vis-item.vis-dot` inside)
        assert page.locator(".vis-item:not(.vis-dot):not(.vis-line)").count() == len(items)
        month = page.locator('.vis-item[data-id="month-event"]')
        assert "vis-range" in month.get_attribute("class")
        assert "precision-month" in month.get_attribute("class")
        approx = page.locator('.vis-item[data-id="approx-event"]')
        assert "approximate" in approx.get_attribute("class")
        got = _vis_dates(page)
        # BCE: astronomical -43 = 44 BC, 15 March, at local midnight
        assert got["bce-day"] == {"start": [-43, 3, 15, 0], "end": None}
        assert got["bce-year"] == {"start": [-100, 1, 1, 0], "end": [-99, 1, 1, 0]}
        # exclusive ends: the month covers all of April, the decade all ten years
        assert got["month-event"] == {"start": [2021, 4, 1, 0], "end": [2021, 5, 1, 0]}
        assert got["decade-event"] == {"start": [1990, 1, 1, 0], "end": [2000, 1, 1, 0]}
        assert got["interval-event"]["end"] == [2021, 7, 6, 0]
        # drawn in time order, BCE far to the left
        lefts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            '.vis-item[data-id]')].map(m => [m.dataset.id, m.getBoundingClientRect().left]))""")
        assert lefts["bce-year"] < lefts["bce-day"] < lefts["decade-event"] < lefts["month-event"]
        if group_by:
            assert page.locator(".vis-label").count() == len({i["group"] for i in items})
    finally:
        page.context.close()


def test_vis_renders_large_years(browser, server):
    """Years past 9999 use the expanded ISO form and land where they should."""
    from service import dates

    events = []
    for eid, edtf in (("far-future", "Y12021"), ("last-year", "9999"), ("year-zero", "0000")):
        ev = {"id": eid, "date": edtf, "title": eid, "tags": [], "actors": [], "timelines": [], "sources": []}
        ev.update(dates.parse(edtf).as_fields())
        events.append(ev)
    items = formats.vis(events)
    assert items[0]["start"] == "+012021-01-01"
    html = _vis_page(items, False, "-000100-01-01", "+013000-01-01")
    page, problems = _open(browser, server, "/vis-large.html", html, "window.visReady === true")
    try:
        page.wait_for_timeout(200)
        _assert_clean(problems)
        assert not [w for w in problems["warnings"] if "deprecat" in w.lower()], problems
        assert page.locator(".vis-item:not(.vis-dot):not(.vis-line)").count() == 3
        got = _vis_dates(page)
        assert got["far-future"] == {"start": [12021, 1, 1, 0], "end": [12022, 1, 1, 0]}
        assert got["last-year"] == {"start": [9999, 1, 1, 0], "end": [10000, 1, 1, 0]}
        assert got["year-zero"] == {"start": [0, 1, 1, 0], "end": [1, 1, 1, 0]}
    finally:
        page.context.close()
