"""The timeline widget at `/`, driven in Debian's Chromium against the real, seeded service.

Every test watches the page for console errors, uncaught exceptions and requests to any
host other than the service (the page must load everything from the service itself).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("live_server")]  # slow: a real browser

# The seed's events lie in 1990–2021; this window holds its 2021 spring and summer.
SUMMER_2021 = "from=2021-03-01&to=2021-08-31"


def api(base: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/v1/{path}", timeout=10) as r:
        return json.load(r)


def seed_events(base: str) -> list[dict]:
    return api(base, "events?limit=500")["items"]


class Widget:
    """A page on the widget plus what it logged and asked for."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.event_requests: list[dict] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", self._request)
        page.route(lambda url: not url.startswith(base), self._abort)

    def _request(self, request):
        url = urllib.parse.urlsplit(request.url)
        if url.path.endswith("/api/v1/events"):
            self.event_requests.append(urllib.parse.parse_qs(url.query))

    def _abort(self, route):
        self.foreign.append(route.request.url)
        route.abort()

    def open(self, query: str = "") -> Widget:
        self.page.goto(f"{self.base}/{'?' + query if query else ''}")
        self.settle()
        return self

    def settle(self):
        """Waits until the list is drawn and no window load is running."""
        self.page.wait_for_selector(".tlw-row", timeout=10_000)
        # Locators, not wait_for_function: a string predicate needs eval, which the page's CSP forbids.
        expect(self.page.locator(".tlw.tlw-busy")).to_have_count(0, timeout=10_000)
        self.page.wait_for_timeout(350)  # past the 250 ms pan/zoom debounce

    def listed_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(".tlw-row", "rows => rows.map(r => r.dataset.id)")

    def windows(self) -> set[tuple[str, str]]:
        return {(q["from"][0], q["to"][0]) for q in self.event_requests if "from" in q and "to" in q}

    def assert_clean(self):
        assert self.errors == []
        assert self.foreign == []


@pytest.fixture
def widget(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield Widget(page, live_server)
    finally:
        context.close()


def test_seed_events_are_listed_in_chronological_order(widget, live_server):
    expected = [e["id"] for e in seed_events(live_server)]
    assert len(expected) >= 15

    widget.open()  # no deep link: the window fits the data

    assert widget.listed_ids() == expected
    widget.assert_clean()


def test_page_loads_only_windowed_pages_of_events(widget):
    widget.open()

    assert widget.event_requests, "the page asked for no events"
    for query in widget.event_requests:
        assert "from" in query and "to" in query, query
        assert query["limit"] == ["500"]
    widget.assert_clean()


def test_month_event_is_drawn_as_a_range_a_month_wide(widget, live_server):
    events = seed_events(live_server)
    # (events known only "by" a date have no start: they are not drawn as a range)
    month = next(
        e for e in events if e["precision"] == "month" and e["start"] and e["start"][:7] == e["end"][:7]
    )
    day = next(
        e for e in events if e["precision"] == "day" and e["start"] == e["end"] and e["start"] > month["end"]
    )

    widget.open(SUMMER_2021)
    item = widget.page.locator(f".vis-item:has(.tlw-label[data-id='{month['id']}'])")
    point = widget.page.locator(f".vis-item:has(.tlw-label[data-id='{day['id']}'])")

    classes = item.get_attribute("class").split()
    assert "vis-range" in classes and "tlw-p-month" in classes
    assert "vis-point" in point.get_attribute("class").split()
    # Pixels per day from the month's first day to the day event's dot, against the
    # month's own width: a month is drawn a month wide, not as a dot on its 1st.
    box = item.bounding_box()
    dot = point.locator(".vis-dot").bounding_box()
    start, end, at = (date.fromisoformat(d) for d in (month["start"], month["end"], day["start"]))
    px_per_day = (dot["x"] + dot["width"] / 2 - box["x"]) / (at - start).days
    days_drawn = box["width"] / px_per_day
    assert days_drawn == pytest.approx((end - start).days + 1, rel=0.15)
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


def test_keyboard_pans_the_timeline(widget):
    widget.open(SUMMER_2021)
    before = urllib.parse.parse_qs(urllib.parse.urlsplit(widget.page.url).query)["from"]

    widget.page.locator(".tlw-canvas-wrap").focus()
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
    expect(widget.page.locator(".tlw-row")).to_have_count(len(matching), timeout=10_000)
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
    requested = [q for q in widget.event_requests if q.get("q") == ["Bagram"]]
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
        w.page.locator(".tlw-row").first.tap()
        w.page.locator(".tlw-detail").wait_for(state="visible")
        w.assert_clean()
    finally:
        context.close()
