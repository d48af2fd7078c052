"""Driving the widget page in a test: what it logged and asked for, and what it shows.

Shared by the widget's browser tests (imported by name: pytest puts this directory on
sys.path for the test modules beside it).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def api(base: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/v1/{path}", timeout=10) as r:
        return json.load(r)


def seed_events(base: str, query: str = "") -> list[dict]:
    """Every event matching ``query``, in the API's chronological order."""
    items, url = [], f"events?limit=500{'&' + query if query else ''}"
    while True:
        page = api(base, url)
        items += page["items"]
        if not page["next"]:
            return items
        url = f"events?limit=500{'&' + query if query else ''}&cursor={urllib.parse.quote(page['next'])}"


class Widget:
    """A page on the widget plus what it logged and asked for."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.event_requests: list[dict] = []
        self.histogram_requests: list[dict] = []
        self.requests: list[dict] = []  # every API request in order: {"path": "events", "query": {...}}
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", self._request)
        page.route(lambda url: not url.startswith(base), self._abort)

    def _request(self, request):
        url = urllib.parse.urlsplit(request.url)
        if "/api/v1/" in url.path:
            self.requests.append(
                {"path": url.path.split("/api/v1/", 1)[1], "query": urllib.parse.parse_qs(url.query)}
            )
        if url.path.endswith("/api/v1/events"):
            self.event_requests.append(urllib.parse.parse_qs(url.query))
        elif url.path.endswith("/api/v1/events/histogram"):
            self.histogram_requests.append(urllib.parse.parse_qs(url.query))

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
        expect(self.page.locator(".tlw-canvas-scroll[aria-busy=true]")).to_have_count(0, timeout=10_000)
        self.page.wait_for_timeout(600)  # past the pan/zoom debounce and a 250 ms move
        expect(self.page.locator(".tlw-canvas-scroll[aria-busy=true]")).to_have_count(0, timeout=10_000)

    def listed_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".tlw-list:not(.tlw-hits) .tlw-row", "rows => rows.map(r => r.dataset.id)"
        )

    def windows(self) -> set[tuple[str, str]]:
        return {(q["from"][0], q["to"][0]) for q in self.event_requests if "from" in q and "to" in q}

    def window(self) -> tuple[str, str]:
        """The window the page shows, as its URL states it (first and last day)."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.page.url).query)
        return q["from"][0], q["to"][0]

    def url_param(self, name: str) -> str | None:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.page.url).query).get(name, [None])[0]

    def labels(self) -> list[dict]:
        """Every event label drawn on the canvas, measured: is its text cut inside its box
        (scroll size beyond client size), does it lie inside the canvas horizontally, is it
        in sight without scrolling the canvas, and can the canvas scroll to it."""
        return self.page.evaluate(
            """() => {
              const panel = document.querySelector('.tlw .vis-panel.vis-center').getBoundingClientRect();
              const sc = document.querySelector('.tlw-canvas-scroll'), sr = sc.getBoundingClientRect();
              const cue = document.querySelector('.tlw-cue');
              const cr = cue && !cue.hidden ? cue.getBoundingClientRect() : null;
              return [...document.querySelectorAll('.tlw-canvas .vis-item .tlw-label[data-id]')].map(l => {
                const r = l.getBoundingClientRect();
                const covered = cr && r.right > cr.left && r.left < cr.right && r.bottom > cr.top && r.top < cr.bottom;
                return {
                  id: l.dataset.id, text: l.textContent, title: l.getAttribute('title'),
                  cut: l.scrollWidth > l.clientWidth + 1 || l.scrollHeight > l.clientHeight + 1,
                  inside: r.left >= panel.left - 1 && r.right <= panel.right + 1 && r.width > 0,
                  in_sight: r.top >= sr.top - 1 && r.bottom <= sr.bottom + 1 && !covered,
                  reachable: r.top >= sr.top - sc.scrollTop - 1 && r.bottom <= sr.top - sc.scrollTop + sc.scrollHeight + 1,
                };
              });
            }"""
        )

    def assert_clean(self):
        assert self.errors == []
        assert self.foreign == []


def run_axe(page) -> list[dict]:
    """axe-core's serious and critical violations on the page (needs a bypass_csp context)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "help": v["help"],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
