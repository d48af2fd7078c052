"""How the widget reads (issue 17), measured in Debian's Chromium on the seeded service:
the first view, labels that are never cut, events outside the window, search across all
time, story mode, the phone's detail sheet and axe-core's accessibility checks.

Nothing here hard-codes the seed: counts and dates come from the API.
"""

from __future__ import annotations

import re
import urllib.parse
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from widget_page import AXE, DESKTOP, PHONE, Widget, api, run_axe, seed_events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("live_server")]  # slow: a real browser

SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def open_widget(browser, live_server):
    contexts = []

    def make(size: str = "desktop", **extra) -> Widget:
        context = browser.new_context(**SIZES[size], **extra)
        contexts.append(context)
        return Widget(context.new_page(), live_server)

    yield make
    for c in contexts:
        c.close()


def overlaps(e: dict, first: str, last: str) -> bool:
    """The event's span touches the window (an open start or end reaches forever)."""
    return (e["start"] is None or e["start"] <= last) and (e["end"] is None or e["end"] >= first)


def outside(events: list[dict], first: str, last: str) -> tuple[int, int]:
    """Events wholly before the window's first day and wholly after its last, from the API's bounds."""
    earlier = sum(1 for e in events if e["end"] is not None and e["end"] < first)
    later = sum(1 for e in events if e["start"] is not None and e["start"] > last)
    return earlier, later


def shown_count(text: str) -> int:
    m = re.search(r"([\d,]+) (?:earlier|later) events?", text)
    return int(m.group(1).replace(",", "")) if m else 0


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_first_view_shows_most_events_with_whole_labels(open_widget, live_server, size):
    events = seed_events(live_server)
    w = open_widget(size).open()

    labels = w.labels()
    assert labels, "nothing drawn"
    for label in labels:
        # no label inside the canvas is cut: its text fits its box, or it is shortened
        # with an ellipsis and its whole text is its title (shown on hover)
        assert label["inside"], label
        assert not label["cut"] or label["title"] == label["text"].replace("?", "").strip(), label
    whole = {x["id"] for x in labels if x["inside"] and not x["cut"] and x["reachable"]}
    assert len(whole) >= 0.8 * len(events), f"{len(whole)} of {len(events)} events drawn whole"
    if size == "desktop":  # a desktop screen shows them without scrolling the canvas
        in_sight = {x["id"] for x in labels if x["inside"] and not x["cut"] and x["in_sight"]}
        assert len(in_sight) >= 0.8 * len(events), f"{len(in_sight)} of {len(events)} in sight"
    w.assert_clean()


RANGE_LABELS_JS = """() => [...document.querySelectorAll('.tlw-canvas .vis-item.vis-range')].map(item => {
  const label = item.querySelector('.tlw-label[data-id]');
  if (!label) return null;
  const ir = item.getBoundingClientRect(), lr = label.getBoundingClientRect();
  const fillEnd = ir.right - parseFloat(getComputedStyle(item).borderRightWidth);
  // The label's own background stop, resolved by the browser: a probe as wide as --tlw-past.
  const probe = document.createElement('span');
  probe.style.display = 'block'; probe.style.width = 'var(--tlw-past)'; probe.style.height = '0';
  label.appendChild(probe);
  const stop = probe.getBoundingClientRect().width;
  probe.remove();
  return {id: label.dataset.id, overflows: lr.right > fillEnd + 1, fill: fillEnd - lr.left, stop: stop,
          image: getComputedStyle(label).backgroundImage};
}).filter(Boolean)"""


def test_a_label_longer_than_its_range_is_never_crossed_by_the_range_end(open_widget, live_server):
    """Past a short range's fill, its label lies on the canvas background (the range's end
    border is hidden behind the text), on the first view and on each timeline's page, and
    after zooming in and panning there (the fill's width changes with the window); and
    every label lies inside the canvas (a day that began before the window's edge too)."""
    slugs = [t["slug"] for t in api(live_server, "timelines")["items"]]
    w = open_widget("desktop")
    checked = 0
    for query, moves in [
        ("", ["Zoom in", "Later", "Zoom out"]),
        *((f"timeline={s}", ["Zoom in"]) for s in slugs),
    ]:
        w.open(query)
        for move in [None, *moves]:
            if move:
                w.page.get_by_role("button", name=move, exact=True).click()
                w.settle()
            where = f"{query or '/'} after {move}"
            checked += _check_range_labels(w, where)
            cut = [label for label in w.labels() if not label["inside"]]
            assert cut == [], (where, cut)
    if not checked:
        pytest.skip("no range label longer than its range on these pages")
    w.assert_clean()


def _check_range_labels(w, where: str) -> int:
    checked = 0
    for label in w.page.evaluate(RANGE_LABELS_JS):
        if not label["overflows"]:
            continue
        checked += 1
        assert "linear-gradient" in label["image"], (where, label)
        # the background starts where the fill ends
        assert abs(label["stop"] - label["fill"]) <= 1.5, (where, label)
    return checked


def test_a_canvas_taller_than_the_screen_scrolls_with_a_cue(open_widget):
    w = open_widget("phone").open()
    scroller = w.page.locator(".tlw-canvas-scroll")
    height, scroll_height = scroller.evaluate("s => [s.clientHeight, s.scrollHeight]")
    assert height <= 844
    if scroll_height <= height:
        pytest.skip("the first view fits without scrolling")
    cue = w.page.get_by_role("button", name=re.compile("More below"))
    expect(cue).to_be_visible()
    cue.click()
    w.page.wait_for_timeout(600)
    assert scroller.evaluate("s => s.scrollTop") > 0
    w.assert_clean()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_outside_indicators_count_right_and_move_there(open_widget, live_server, size):
    events = seed_events(live_server)
    w = open_widget(size).open()
    first, last = w.window()
    earlier, later = outside(events, first, last)
    assert earlier + later > 0, "the first view holds every event: nothing to indicate"

    before = w.page.locator(".tlw-edge-earlier")
    after = w.page.locator(".tlw-edge-later")
    for button, n in ((before, earlier), (after, later)):
        if n:
            expect(button).to_be_visible()
            assert shown_count(button.inner_text()) == n
        else:
            expect(button).to_be_hidden()

    side = before if earlier else after
    side.click()
    w.settle()
    first2, last2 = w.window()
    assert (first2, last2) != (first, last)
    # the nearest event on that side is now in view, and the counts follow the window
    nearest = (
        max(
            (e for e in events if e["end"] is not None and e["end"] < first),
            key=lambda e: (e["start"], e["end"]),
        )
        if earlier
        else min(
            (e for e in events if e["start"] is not None and e["start"] > last),
            key=lambda e: (e["start"], e["end"]),
        )
    )
    assert nearest["id"] in w.listed_ids()
    earlier2, later2 = outside(events, first2, last2)
    expect(before).to_have_text(re.compile(rf"\b{earlier2} earlier") if earlier2 else re.compile(".*"))
    if earlier2:
        assert shown_count(before.inner_text()) == earlier2
    if later2:
        assert shown_count(after.inner_text()) == later2
    w.assert_clean()


def _outside_term(live_server, events, first, last):
    """A title word whose every match (per the API's q) lies outside the window."""
    for e in events:
        if not (e["end"] is not None and e["end"] < first or e["start"] is not None and e["start"] > last):
            continue
        for word in re.findall(r"[A-Za-z]{6,}", e["title"]):
            hits = seed_events(live_server, f"q={word}")
            if hits and all(
                (h["end"] is not None and h["end"] < first) or (h["start"] is not None and h["start"] > last)
                for h in hits
            ):
                return word, e, hits
    pytest.skip("every title word outside the first view also matches inside it")


def test_search_lists_matches_outside_the_window_and_moves_there(open_widget, live_server):
    events = seed_events(live_server)
    w = open_widget().open()
    first, last = w.window()
    word, event, hits = _outside_term(live_server, events, first, last)

    w.page.get_by_role("searchbox").fill(word)
    w.page.keyboard.press("Enter")
    results = w.page.locator(".tlw-results")
    expect(results.locator(".tlw-results-h")).to_contain_text(f"{len(hits)} match", timeout=10_000)
    listed = results.locator(".tlw-hit")
    expect(listed).to_have_count(len(hits))
    row = results.locator(f".tlw-hit[data-id='{event['id']}']")
    expect(row).to_contain_text(event["title"])
    expect(row).to_contain_text(event["display_date"])
    w.settle()

    # no match was in view, so the window moved to the matches
    first2, last2 = w.window()
    assert overlaps(event, first2, last2), (first2, last2)
    assert event["id"] in w.listed_ids()
    counts = results.locator(".tlw-results-counts").inner_text()
    in_view = sum(1 for h in hits if overlaps(h, first2, last2))
    assert counts.startswith(f"{in_view} in view"), counts
    w.assert_clean()


def test_choosing_a_search_result_moves_the_window_to_it(open_widget, live_server):
    events = seed_events(live_server)
    w = open_widget().open()
    first, last = w.window()

    # a word matching events in view and outside it: the window stays, a result moves it
    for event in (e for e in events if not overlaps(e, first, last)):
        words = re.findall(r"[A-Za-z]{5,}", event["title"])
        found = next(
            (x for x in words if any(overlaps(h, first, last) for h in seed_events(live_server, f"q={x}"))),
            None,
        )
        if found:
            break
    else:
        pytest.skip("no title word matches both inside and outside the first view")
    hits = seed_events(live_server, f"q={found}")

    w.page.get_by_role("searchbox").fill(found)
    w.page.keyboard.press("Enter")
    expect(w.page.locator(".tlw-hit")).to_have_count(len(hits), timeout=10_000)
    w.settle()
    assert w.window() == (first, last)  # a match is in view: the window stays
    counts = w.page.locator(".tlw-results-counts").inner_text()
    n_in = sum(1 for h in hits if overlaps(h, first, last))
    n_before = sum(1 for h in hits if h["end"] is not None and h["end"] < first)
    n_after = sum(1 for h in hits if h["start"] is not None and h["start"] > last)
    assert counts == f"{n_in} in view · {n_before} earlier · {n_after} later", counts

    w.page.locator(f".tlw-hit[data-id='{event['id']}']").click()
    w.settle()
    first2, last2 = w.window()
    assert overlaps(event, first2, last2), (first2, last2)
    expect(w.page.locator(".tlw-detail h2")).to_have_text(event["title"])
    w.assert_clean()


def test_story_mode_visits_every_event_in_order_by_keyboard(open_widget, live_server):
    events = seed_events(live_server)
    w = open_widget().open()
    story = w.page.get_by_role("button", name="Story")
    story.focus()
    w.page.keyboard.press("Enter")
    title = w.page.locator(".tlw-detail h2")
    expect(title).to_have_text(events[0]["title"], timeout=10_000)

    seen = []
    for i, event in enumerate(events):
        expect(title).to_have_text(event["title"])
        expect(w.page.locator(".tlw-story-pos")).to_have_text(f"{i + 1} of {len(events)}")
        date_line = w.page.locator(".tlw-detail-date")
        expect(date_line).to_contain_text(event["display_date"])
        expect(date_line).to_contain_text(f"dated to the {event['precision']}")
        if event["summary"]:
            expect(w.page.locator(".tlw-detail-summary")).to_have_text(event["summary"])
        quotes = [s["quote"] for s in event["sources"] if s.get("quote")]
        if quotes:
            expect(w.page.locator(".tlw-quote").first).to_have_text(quotes[0])
        assert w.url_param("story") == event["id"]  # each slide has its own deep link
        seen.append(event["id"])
        w.page.keyboard.press("ArrowRight")
    assert seen == [e["id"] for e in events]

    w.page.wait_for_timeout(700)  # the window follows the last slide
    first, last = w.window()
    assert overlaps(events[-1], first, last)
    w.page.keyboard.press("ArrowLeft")
    expect(title).to_have_text(events[-2]["title"])
    w.assert_clean()


def test_a_story_slide_deep_link_opens_that_slide(open_widget, live_server):
    events = seed_events(live_server)
    i = len(events) // 2
    w = open_widget().open(f"story={urllib.parse.quote(events[i]['id'])}")
    expect(w.page.locator(".tlw-detail h2")).to_have_text(events[i]["title"])
    expect(w.page.locator(".tlw-story-pos")).to_have_text(f"{i + 1} of {len(events)}")
    first, last = w.window()
    assert overlaps(events[i], first, last)
    w.page.get_by_role("button", name="Next →").click()
    expect(w.page.locator(".tlw-detail h2")).to_have_text(events[i + 1]["title"])
    w.assert_clean()


def test_timeline_page_opens_on_its_events(open_widget, live_server):

    slug = api(live_server, "timelines")["items"][0]["slug"]
    events = seed_events(live_server, f"timeline={slug}")
    w = open_widget().open(f"timeline={slug}")
    first, last = w.window()
    in_view = [e for e in events if overlaps(e, first, last)]
    assert len(in_view) >= 0.8 * len(events)
    assert set(w.listed_ids()) == {e["id"] for e in in_view}
    assert all("timeline" in q for q in w.event_requests)
    w.assert_clean()


def _covered(page, event_id: str) -> dict:
    return page.evaluate(
        """id => {
          const label = document.querySelector(`.tlw-canvas .tlw-label[data-id="${id}"]`);
          const item = label && label.closest('.vis-item');
          const sheet = document.querySelector('.tlw-detail').getBoundingClientRect();
          if (!item) return {drawn: false};
          const r = item.getBoundingClientRect();
          return {drawn: true, top: r.top, bottom: r.bottom, sheet_top: sheet.top,
                  visible: r.top >= 0 && r.bottom <= innerHeight && r.bottom <= sheet.top};
        }""",
        event_id,
    )


def test_phone_deep_link_shows_the_event_above_its_detail(open_widget, live_server):
    events = seed_events(live_server)
    event = events[len(events) // 2]
    w = open_widget("phone")
    w.page.goto(f"{live_server}/?id={urllib.parse.quote(event['id'])}")
    w.settle()
    expect(w.page.locator(".tlw-detail h2")).to_have_text(event["title"])
    w.page.wait_for_timeout(500)
    where = _covered(w.page, event["id"])
    assert where["drawn"] and where["visible"], where
    w.assert_clean()


def test_phone_detail_opened_from_the_list_never_hides_its_event(open_widget, live_server):
    w = open_widget("phone").open()
    ids = w.listed_ids()
    target = ids[-1]
    w.page.locator(f".tlw-list:not(.tlw-hits) .tlw-row[data-id='{target}']").tap()
    w.page.locator(".tlw-detail").wait_for(state="visible")
    w.page.wait_for_timeout(700)
    where = _covered(w.page, target)
    assert where["drawn"] and where["visible"], where
    w.assert_clean()


@pytest.mark.parametrize("state", ["home", "timeline", "story", "detail", "phone-detail"])
def test_axe_finds_no_serious_violation(open_widget, live_server, state):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci")

    events = seed_events(live_server)
    w = open_widget("phone" if state.startswith("phone") else "desktop", bypass_csp=True)
    query = {
        "home": "",
        "timeline": f"timeline={api(live_server, 'timelines')['items'][0]['slug']}",
        "story": f"story={urllib.parse.quote(events[2]['id'])}",
        "detail": f"id={urllib.parse.quote(events[-1]['id'])}",
        "phone-detail": f"id={urllib.parse.quote(events[-1]['id'])}",
    }[state]
    w.open(query)
    if state != "home" and state != "timeline":
        w.page.locator(".tlw-detail").wait_for(state="visible")
    assert run_axe(w.page) == []
    w.assert_clean()


def test_keyboard_reaches_every_control_with_visible_focus(open_widget):
    w = open_widget().open()
    seen, outlines = [], []
    for _ in range(40):
        w.page.keyboard.press("Tab")
        info = w.page.evaluate(
            """() => { const a = document.activeElement; const s = getComputedStyle(a);
                 return [a.className || a.tagName, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                         || s.boxShadow !== 'none'] }"""
        )
        if info[0] != "tlw-page":  # past the last control, the browser's own UI
            seen.append(info[0])
            outlines.append(info)
    for name in (
        "tlw-input",
        "tlw-select",
        "tlw-pan-earlier",
        "tlw-fit",
        "tlw-story-btn",
        "tlw-edge",
        "tlw-canvas-scroll",
        "tlw-row",
    ):
        assert any(name in s for s in seen), (name, seen)
    assert all(visible for _, visible in outlines), [o for o in outlines if not o[1]]
    w.assert_clean()


def test_dense_stretches_cluster_and_open_on_zoom(open_widget, live_server):
    events = seed_events(live_server)
    firsts = sorted(date.fromisoformat(e["start"]) for e in events if e["start"] and len(e["start"]) == 10)
    lasts = sorted(date.fromisoformat(e["end"]) for e in events if e["end"] and len(e["end"]) == 10)
    w = open_widget().open(f"from={firsts[0]}&to={lasts[-1] + timedelta(days=1)}")
    clusters = w.page.locator(".vis-item.vis-box.tlw-cluster")
    expect(clusters.first).to_be_visible()
    last_n, span = None, None
    for _ in range(5):  # each click zooms in on a cluster, until its events stand apart
        if clusters.count() == 0:
            break
        last_n = int(re.match(r"([\d,]+) events", clusters.first.inner_text()).group(1))
        assert last_n > 6
        clusters.first.click()
        w.settle()
        first, last = (date.fromisoformat(d) for d in w.window())
        assert span is None or (last - first) < span
        span = last - first
    expect(clusters).to_have_count(0)
    assert len({x["id"] for x in w.labels()}) >= last_n
    w.assert_clean()
