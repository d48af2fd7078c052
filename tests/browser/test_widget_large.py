"""The widget over a large archive (issue 17, point 7), in Debian's Chromium: more events
than the widget loads whole (its SMALL_ARCHIVE), so every view goes the way it goes at a
million events: the window's histogram and a few small, bounded reads of its layers.

The archive is the benchmark's generator (every precision, open ends, long spans), 6,000
events imported through the service's own path. Nothing here measures time: how fast a
view is drawn is `python -m bench.widget`'s to say. These tests pin what makes it fast.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import varied_archive
from factories import serving
from widget_page import DESKTOP, Widget, api

from service import create_app

pytestmark = pytest.mark.slow  # a real browser

EVENTS = 6000  # above the widget's SMALL_ARCHIVE (5,000): the layered reads
CONNECTIONS = 6  # Chromium's HTTP/1.1 connections per host: a 7th request waits for one
VIEW_DAYS = {"week": 7, "month": 30, "year": 365, "decade": 3652}

VIEW_JS = """
([a, b]) => new Promise((resolve) => {
  const root = document.querySelector('[data-timeline-widget]');
  const timer = setTimeout(() => resolve(false), 15000);
  root.addEventListener('tlw:listed', () => { clearTimeout(timer); resolve(true); }, {once: true});
  root.tlwWidget.timeline.setWindow(new Date(a), new Date(b), {animation: false});
})
"""

# Counts how vis draws its items from here on: one at a time (an item's redraw called
# without vis's batching flag: a forced layout of the page each) or in its batched pass.
COUNT_REDRAWS_JS = """
() => {
  const tl = document.querySelector('[data-timeline-widget]').tlwWidget.timeline;
  window.__drawn = {single: 0, batched: 0};
  const protos = new Set(Object.values(tl.itemSet.items).map((i) => Object.getPrototypeOf(i)));
  protos.forEach((p) => {
    const redraw = p.redraw;
    p.redraw = function (batched) {
      window.__drawn[batched ? 'batched' : 'single']++;
      return redraw.apply(this, arguments);
    };
  });
  return [...protos].map((p) => p.constructor.name);
}
"""

# Every item vis holds that lies in the window is on the page, and no other.
SHOWN_JS = """
() => {
  const tl = document.querySelector('[data-timeline-widget]').tlwWidget.timeline;
  const range = tl.range, out = {missing: [], shown: 0};
  Object.values(tl.itemSet.items).forEach((item) => {
    const el = item.dom && (item.dom.box || item.dom.point);
    const onPage = !!(item.displayed && el && el.isConnected);
    if (item.isVisible(range) && !onPage) out.missing.push(String(item.id));
    if (onPage) out.shown++;
  });
  return out;
}
"""


@pytest.fixture(scope="module")
def large_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "timeline.db"
    varied_archive.build(path, 17, EVENTS, [])  # (the service shares its connection)
    from werkzeug.serving import make_server

    app = create_app({"TESTING": True, "DATABASE": str(path)})
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


@pytest.fixture
def widget(browser, large_server):
    context = browser.new_context(**DESKTOP)
    w = Widget(context.new_page(), large_server).open()
    yield w
    w.assert_clean()
    context.close()


def densest_day(base: str) -> date:
    """A day in the archive's busiest year (where a reader zooms in)."""
    buckets = api(base, "events/histogram?interval=year")["buckets"]
    best = max((b for b in buckets if re.fullmatch(r"\d{4}-\d\d-\d\d", b["start"])), key=lambda b: b["count"])
    return date.fromisoformat(best["start"]) + timedelta(days=180)


def ms(d: date) -> int:
    return int((d - date(1970, 1, 1)).total_seconds() * 1000)


def show(w: Widget, first: date, days: int) -> list[dict]:
    """Moves the window as a pan or zoom ends, waits for its list; the requests it made."""
    before = len(w.requests)
    assert w.page.evaluate(VIEW_JS, [ms(first), ms(first + timedelta(days=days))]), (
        "the view was never listed"
    )
    w.page.wait_for_timeout(300)  # the counts of events outside the window follow
    return w.requests[before:]


def test_the_archive_is_large_for_the_widget(large_server):
    total = api(large_server, "events?limit=1&count=true")["total"]
    assert total > 5000, "the widget loads archives of up to 5,000 events whole: not this path"


@pytest.mark.parametrize("zoom", list(VIEW_DAYS))
def test_each_view_of_a_large_archive_is_a_few_bounded_requests(widget, large_server, zoom):
    """What a view waits for fits Chromium's six connections at once and asks only for its
    window (no histogram of all time), each read small; after it is drawn come at most the
    two counts of the events before and after the window."""
    centre = densest_day(large_server)
    days = VIEW_DAYS[zoom]
    for k in range(3):  # a jump there, then two pans of a fifth (answered from cache, maybe)
        first = centre - timedelta(days=days // 2) + timedelta(days=k * max(1, days // 5))
        got = [r for r in show(widget, first, days) if r["path"] != "events/facets"]
        window = [r for r in got if "from" in r["query"] and "to" in r["query"]]
        counts = [r for r in got if r not in window]
        if k == 0:
            assert window, f"{zoom}: the jump asked for nothing (no cached answer covers it)"
        assert len(window) <= CONNECTIONS, f"{zoom} view {k}: {len(window)} requests: {window}"
        assert got[: len(window)] == window, f"the counts went before the window's reads: {got}"
        assert len(counts) <= 2, counts
        for r in counts:  # one bound each: the events before the window, or after it
            assert r["query"]["count"] == ["true"] and r["query"]["limit"] == ["1"], r
        for r in window:
            if r["path"] == "events":
                assert int(r["query"]["limit"][0]) <= 25, r
        assert widget.page.locator(".tlw-canvas .vis-item .tlw-label[data-id]").count() > 0


def test_panning_within_the_slices_asks_for_nothing_new(widget, large_server):
    """Every read of a view names aligned bounds (the slices', the histogram's cells), not
    the window's own days: panning a month a tenth at a time reuses them until the window
    crosses into a new slice."""
    first = densest_day(large_server) - timedelta(days=15)
    show(widget, first, 30)
    asked = []
    for k in range(1, 7):
        got = show(widget, first + timedelta(days=3 * k), 30)
        asked.append([r for r in got if "from" in r["query"] and "to" in r["query"]])
    assert any(not a for a in asked), f"every pan asked again: {asked}"
    # (reads over the window's own days asked for two at least each pan: 12)
    assert sum(map(len, asked)) <= 8, f"pans asked for {sum(map(len, asked))} reads: {asked}"


def test_items_are_drawn_in_one_batched_pass_never_one_at_a_time(widget, large_server):
    """vis would draw each new or changed item on its own, a forced layout of the page each
    (40 ms a view at 1M events); the widget leaves them to vis's batched redraw. Every
    item in the window is still on the page after each move, and none outside it."""
    centre = densest_day(large_server)
    protos = widget.page.evaluate(COUNT_REDRAWS_JS)
    assert protos, "no items drawn to count"
    for first, days in [(centre - timedelta(days=15), 30)] + [
        (centre - timedelta(days=15 - 3 * k), 30) for k in range(1, 5)
    ]:  # a jump to a month, then pans of a tenth: items kept, moved and relabelled
        show(widget, first, days)
        shown = widget.page.evaluate(SHOWN_JS)
        assert shown["missing"] == [], f"items in view but not on the page: {shown}"
        assert shown["shown"] > 0
    drawn = widget.page.evaluate("() => window.__drawn")
    assert drawn["batched"] > 0, drawn
    assert drawn["single"] == 0, f"items drawn one at a time: {drawn}"


def test_the_busy_bar_moves_by_transform_not_by_repainting(widget):
    """The bar shown while a view loads is animated by the compositor (a transform), not
    by a property that repaints the page every frame of every load."""
    animated = widget.page.evaluate(
        """() => [...document.styleSheets].flatMap((s) => {
             try { return [...s.cssRules]; } catch (e) { return []; }
           }).filter((r) => r.type === CSSRule.KEYFRAMES_RULE && r.name === 'tlw-slide')
             .flatMap((r) => [...r.cssRules].map((k) => [...k.style]))"""
    )
    assert animated and all(props == ["transform"] for props in animated), animated
