"""/docs renders in Chromium from the package alone, under the service's CSP, with no errors."""

from __future__ import annotations

import pytest

from service.errors import KINDS

pytestmark = pytest.mark.slow  # a real browser


def test_docs_render_offline_under_csp(browser, live_server):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None)
    response = page.goto(live_server + "/docs", wait_until="networkidle")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("h1:has-text('Timeline event API')", timeout=20000)
    page.wait_for_selector("text=Problem types")
    text = page.inner_text("body")
    for kind, (_status, title, _m) in KINDS.items():
        assert f"/problems/{kind}" in text and title in text
    assert "GET /api/v1/events" not in errors
    page.get_by_text("events", exact=True).first.click()
    page.wait_for_selector("text=A page of events in chronological order")
    page.screenshot(path="/tmp/docs-test.png")
    page.close()
    assert errors == [], errors
    assert outside == [], outside


def test_problem_type_uris_resolve_in_the_browser(browser, live_server):
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/problems/validation")
    assert page.inner_text("h1") == KINDS["validation"][1]
    page.click("text=All problem types")
    assert page.url.endswith("/problems")
    assert page.locator("tbody tr").count() == len(KINDS)
    page.close()
    assert errors == []
