"""Takes the widget screenshots in this directory, in Debian's Chromium via Playwright.

    python docs/screenshots/shoot.py http://127.0.0.1:8000   # a server on the seed

first-view.png: a timeline's page (1280x800); search.png: a search whose matches lie
outside the first view; story.png: story mode on the Bagram slide; mobile-detail.png: a
deep link to an event on a phone (390x844).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )

        def page(width=1280, height=800):
            phone = width < 500
            ctx = browser.new_context(
                viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone
            )
            return ctx.new_page()

        pg = page()
        pg.goto(base + "/?timeline=afghanistan-2021")
        pg.wait_for_timeout(2500)
        pg.screenshot(path=HERE / "first-view.png")

        pg = page()
        pg.goto(base + "/")
        pg.wait_for_timeout(2000)
        pg.get_by_role("searchbox").fill("Northern Alliance")
        pg.keyboard.press("Enter")
        pg.wait_for_timeout(2500)
        pg.screenshot(path=HERE / "search.png")

        pg = page()
        pg.goto(base + "/?story=2021-07-02-international-troops-leave-bagram")
        pg.wait_for_timeout(2500)
        pg.screenshot(path=HERE / "story.png")

        pg = page(390, 844)
        pg.goto(base + "/?id=2021-07-02-international-troops-leave-bagram")
        pg.wait_for_timeout(3000)
        pg.screenshot(path=HERE / "mobile-detail.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
