"""The timeline widget at `/`, driven in Debian's Chromium against the real, seeded service.

Every test watches the page for console errors, uncaught exceptions and requests to any
host other than the service (the page must load everything from the service itself).
"""

from __future__ import annotations

import time
import urllib.parse
from datetime import date

import pytest
from playwright.sync_api import expect
from widget_page import Widget, api, seed_events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("live_server")]  # slow: a real browser

# The seed's events lie in 1990–2021; this window holds its 2021 spring and summer.
SUMMER_2021 = "from=2021-03-01&to=2021-08-31"


@pytest.fixture
def widget(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield Widget(page, live_server)
    finally:
        context.close()


def test_events_in_view_are_listed_in_chronological_order(widget, live_server):
    widget.open()  # no deep link: the first view is where most events are
    first, last = widget.window()
    expected = [e["id"] for e in seed_events(live_server, f"from={first}&to={last}")]
    assert len(expected) >= 10

    assert widget.listed_ids() == expected
    widget.assert_clean()


def test_page_loads_only_bounded_requests(widget):
    widget.open()

    assert widget.event_requests, "the page asked for no events"
    for query in widget.event_requests:
        # a window of events, a count of those outside it (limit 1), or a page of a search
        assert "from" in query or "to" in query or "q" in query or "cursor" in query, query
        assert int(query["limit"][0]) <= 500
    # one histogram of the whole archive at most; every other one is inside a window
    assert sum(1 for q in widget.histogram_requests if "from" not in q and "to" not in q) <= 1
    widget.assert_clean()


def test_first_view_asks_only_for_its_window_and_for_facets_after_it(widget):
    """While the first window is being found (here the archive's histogram answers late,
    as it can under load), nothing loads for vis's default window; the filters' facets, a
    slow request over a large archive, are asked for once the first view is drawn."""
    page = widget.page
    asked: list[str] = []
    page.on("request", lambda r: "/api/v1/" in r.url and asked.append(urllib.parse.urlsplit(r.url).path))

    def late(route):
        time.sleep(0.5)
        route.continue_()

    page.route(lambda url: "/events/histogram?interval=year" in url and "from=" not in url, late)
    widget.open()

    first, last = widget.window()
    assert widget.windows()
    for a, b in widget.windows():
        assert a <= last and b >= first, (a, b, first, last)
    events = [i for i, path in enumerate(asked) if path.endswith("/events")]
    facets = [i for i, path in enumerate(asked) if path.endswith("/events/facets")]
    assert events and facets and facets[0] > events[0], asked
    widget.assert_clean()


def test_month_event_is_drawn_as_a_range_a_month_wide(widget, live_server):
    events = seed_events(live_server)
    # (events known only "by" a date have no start: they are not drawn as a range)
    month = next(
        e for e in events if e["precision"] == "month" and e["start"] and e["start"][:7] == e["end"][:7]
    )

    widget.open(SUMMER_2021)
    item = widget.page.locator(f".vis-item:has(.tlw-label[data-id='{month['id']}'])")
    classes = item.get_attribute("class").split()
    assert "vis-range" in classes and "tlw-p-month" in classes
    # The month's width against the canvas's pixels per day over the window in the URL:
    # a month is drawn a month wide, not as a dot on its 1st.
    first, last = (date.fromisoformat(d) for d in widget.window())
    panel = widget.page.locator(".vis-panel.vis-center").bounding_box()
    px_per_day = panel["width"] / ((last - first).days + 1)
    days_drawn = item.bounding_box()["width"] / px_per_day
    start, end = date.fromisoformat(month["start"]), date.fromisoformat(month["end"])
    assert days_drawn == pytest.approx((end - start).days + 1, rel=0.15)
    widget.assert_clean()


def test_a_day_event_is_a_box_on_its_date(widget, live_server):
    widget.open()
    first, last = widget.window()
    day = next(
        e
        for e in seed_events(live_server, f"from={first}&to={last}")
        if e["precision"] == "day" and e["start"] == e["end"]
    )
    box = widget.page.locator(f".vis-item.vis-box:has(.tlw-label[data-id='{day['id']}'])")
    expect(box).to_have_count(1)
    # its line stands on the day: between the day's first and last pixel in the window
    line = widget.page.locator(".vis-item.vis-line").nth(0)
    assert line.count() == 1
    widget.assert_clean()


def test_panning_requests_a_new_window(widget):
    widget.open(SUMMER_2021)
    before = widget.windows()
    url_before = widget.page.url

    later = widget.page.get_by_role("button", name="Later")
    for _ in range(8):  # cached neighbouring cells may serve the first pans
        later.click()
        widget.page.wait_for_timeout(450)
        if widget.windows() - before:
            break
    new = widget.windows() - before
    assert new, f"no new from/to after panning; saw {sorted(before)}"
    assert widget.page.url != url_before  # the deep link follows the window
    widget.assert_clean()


# A drag in one task: press, move 200 px left in steps, release. vis (through hammer.js)
# takes pointer events; "rangechange" fires on each step and "rangechanged" on release.
DRAG_JS = """
() => {
  const root = document.querySelector('[data-timeline-widget]');
  const target = root.querySelector('.vis-center .vis-content') || root.querySelector('.vis-center');
  const r = target.getBoundingClientRect();
  const y = r.top + 20, x0 = r.left + r.width / 2;
  const fire = (type, x) => target.dispatchEvent(new PointerEvent(type, {
    bubbles: true, cancelable: true, pointerId: 1, pointerType: 'mouse', isPrimary: true,
    clientX: x, clientY: y, button: 0, buttons: type === 'pointerup' ? 0 : 1}));
  const from = root.tlwWidget.timeline.getWindow().start.valueOf();
  fire('pointerdown', x0);
  for (let k = 1; k <= 10; k++) fire('pointermove', x0 - 20 * k);
  fire('pointerup', x0 - 200);
  const busy = root.querySelector('.tlw-canvas-scroll').getAttribute('aria-busy');
  return {moved: root.tlwWidget.timeline.getWindow().start.valueOf() - from, busy};
}
"""


def test_a_drag_loads_its_window_on_release_without_waiting(widget):
    """The end of a drag is known (vis reports "rangechanged" on release), so the window's
    load starts in the same task; only a wheel zoom, whose end is not reported at once,
    waits for the next step (the debounce)."""
    widget.open(SUMMER_2021)
    got = widget.page.evaluate(DRAG_JS)
    assert got["moved"] > 0, f"the drag did not move the window: {got}"
    assert got["busy"] == "true", f"no load started on release: {got}"
    widget.settle()
    widget.assert_clean()


# Each load: how long from its start (aria-busy set) to its list, and whether the bar showed.
BUSY_LOG_JS = """
() => {
  window.__loads = [];
  const root = document.querySelector('[data-timeline-widget]');
  const scroller = root.querySelector('.tlw-canvas-scroll');
  let cur = null;
  new MutationObserver(() => {
    const busy = scroller.getAttribute('aria-busy') === 'true';
    if (busy && !cur) cur = {start: performance.now(), bar: false};
    if (cur && root.classList.contains('tlw-busy')) cur.bar = true;
    if (!busy && cur) { cur.ms = performance.now() - cur.start; window.__loads.push(cur); cur = null; }
  }).observe(root, {attributes: true, subtree: true, attributeFilter: ['class', 'aria-busy']});
}
"""
BUSY_DELAY_MS = 150  # app.js


def test_the_busy_bar_shows_for_a_slow_load_only(widget):
    """A load that settles within BUSY_DELAY_MS never flashes the bar; one that takes
    longer shows it until the view is drawn."""
    page = widget.page
    widget.open(SUMMER_2021)
    page.evaluate(BUSY_LOG_JS)
    later = page.get_by_role("button", name="Later", exact=True)
    for _ in range(4):  # new windows: answers from the (fast, local) service
        later.click()
        widget.settle()
    loads = page.evaluate("() => window.__loads")
    fast = [x for x in loads if x["ms"] < BUSY_DELAY_MS - 20]
    assert fast, f"no load settled within {BUSY_DELAY_MS} ms here: {loads}"
    assert not any(x["bar"] for x in fast), f"a fast load flashed the busy bar: {loads}"

    def slow(route):
        time.sleep(0.6)
        route.continue_()

    page.route("**/api/v1/events**", slow)
    page.evaluate(BUSY_LOG_JS)
    page.locator(".tlw-canvas-scroll").focus()
    page.keyboard.press("-")  # zoom out: new, wider windows
    widget.settle()
    loads = page.evaluate("() => window.__loads")
    assert loads and all(x["bar"] for x in loads if x["ms"] > 500), loads
    assert any(x["ms"] > 500 for x in loads), loads
    expect(page.locator(".tlw.tlw-busy")).to_have_count(0)
    widget.assert_clean()


def test_zoom_buttons_respect_reduced_motion(browser, live_server):
    """With reduced motion, a zoom is one step (one "rangechange"); otherwise it animates."""
    steps = {}
    for motion in ("reduce", "no-preference"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion=motion)
        try:
            w = Widget(context.new_page(), live_server).open(SUMMER_2021)
            w.page.evaluate(
                "() => { window.__steps = 0; document.querySelector('[data-timeline-widget]')"
                ".tlwWidget.timeline.on('rangechange', () => window.__steps++); }"
            )
            w.page.get_by_role("button", name="Zoom in").click()
            w.settle()
            steps[motion] = w.page.evaluate("() => window.__steps")
            w.assert_clean()
        finally:
            context.close()
    assert steps["reduce"] == 1, steps
    assert steps["no-preference"] > 1, steps


def test_keyboard_pans_the_timeline(widget):
    widget.open(SUMMER_2021)
    before = urllib.parse.parse_qs(urllib.parse.urlsplit(widget.page.url).query)["from"]

    widget.page.locator(".tlw-canvas-scroll").focus()
    widget.page.keyboard.press("ArrowLeft")
    widget.page.wait_for_timeout(700)

    after = urllib.parse.parse_qs(urllib.parse.urlsplit(widget.page.url).query)["from"]
    assert after < before
    widget.assert_clean()


def test_search_narrows_the_events(widget, live_server):
    bagram = next(e for e in seed_events(live_server) if "Bagram" in e["title"])
    matching = [e["id"] for e in api(live_server, "events?limit=500&q=Bagram")["items"]]
    assert bagram["id"] in matching

    widget.open()
    everything = widget.listed_ids()
    widget.page.get_by_role("searchbox").fill("Bagram")
    widget.page.keyboard.press("Enter")
    expect(widget.page.locator(".tlw-list:not(.tlw-hits) .tlw-row")).to_have_count(
        len(matching), timeout=10_000
    )
    widget.settle()

    assert widget.listed_ids() == matching
    assert len(matching) < len(everything)
    assert any(q.get("q") == ["Bagram"] for q in widget.event_requests)
    assert "q=Bagram" in widget.page.url
    widget.assert_clean()


def test_clicking_an_event_opens_the_detail_panel_with_its_quote(widget, live_server):
    event = next(
        e
        for e in seed_events(live_server)
        if (e["start"] or "") >= "2021-03" and any(s.get("quote") for s in e["sources"])
    )
    source = next(s for s in event["sources"] if s.get("quote"))

    widget.open(SUMMER_2021)
    widget.page.locator(f".tlw-label[data-id='{event['id']}']").click()

    panel = widget.page.locator(".tlw-detail")
    panel.wait_for(state="visible")
    assert panel.locator("h2").inner_text() == event["title"]
    assert panel.locator("blockquote").first.inner_text().strip("“”") == source["quote"]
    if source.get("url"):
        link = panel.locator(f"a[href='{source['url']}']")
        assert link.get_attribute("rel").split() >= ["noopener"]
        assert link.get_attribute("target") == "_blank"
    assert f"id={event['id']}" in widget.page.url

    widget.page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert "id=" not in widget.page.url
    widget.assert_clean()


def test_deep_link_restores_window_filters_and_selection(widget, live_server):
    event = next(e for e in seed_events(live_server) if "Bagram" in e["title"])

    widget.open(f"from=2021-06-01&to=2021-07-31&q=Bagram&id={event['id']}")

    assert widget.page.get_by_role("searchbox").input_value() == "Bagram"
    assert widget.listed_ids() == [event["id"]]
    widget.page.locator(".tlw-detail").wait_for(state="visible")
    assert widget.page.locator(".tlw-detail h2").inner_text() == event["title"]
    requested = [q for q in widget.event_requests if q.get("q") == ["Bagram"] and "from" in q and "to" in q]
    assert requested  # the cells asked for cover the linked window
    assert (
        min(q["from"][0] for q in requested)
        <= "2021-06-01"
        <= "2021-07-31"
        <= max(q["to"][0] for q in requested)
    )
    widget.assert_clean()


def test_phone_layout_lists_events_and_opens_the_panel(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        w = Widget(context.new_page(), live_server).open(SUMMER_2021)
        assert w.page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        w.page.locator(".tlw-list:not(.tlw-hits) .tlw-row").first.tap()
        w.page.locator(".tlw-detail").wait_for(state="visible")
        w.assert_clean()
    finally:
        context.close()
