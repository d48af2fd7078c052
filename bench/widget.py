"""What the widget fetches and how soon it draws, in Debian's Chromium at 1280x800.

    python -m bench.widget                       # over the seed (a fresh seeded database)
    python -m bench.widget --db /path/to/bench-1m.db

For each zoom from a week to the whole span, the page's window is moved to several places
where the events are (the widget's ``setWindow``, as a link, a search result, story mode
or the end of a button's move does: the window is final, its load starts at once); then
a month is dragged with the mouse a tenth at a time (most of its events stay in view,
moved and relabelled; the load starts on release), and zoomed out by Ctrl+wheel a notch
(a fifth) at a time (vis does not report a wheel's end, so the widget waits its 30 ms
debounce for a next notch). Two figures are taken per view:

- bytes: every API response the view caused (Resource Timing ``transferSize``: headers
  and compressed body as they came over the wire; 0 for an answer the browser cache
  served), and how many requests;
- ms: from vis-timeline's last ``rangechange`` (the end of the pan or zoom) to vis's
  ``changed`` after the widget's new items are in the DOM (its ``tlw:drawn`` event), the
  30 ms debounce included;
- list ms: the same, to the list of the events in view below the timeline (its
  ``tlw:listed`` event), which the widget renders after the timeline's frame is painted.

The first view is measured too: from navigation to the first drawn view, and how many
histograms of the whole archive it asked for.

The database given is never opened for writing: it is copied to a scratch directory
(the service migrates, and its WAL journal writes beside the file) and the copy served
by ``gunicorn -c service/gunicorn_conf.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

from bench.run import HOST, REPO, VENV_BIN, Server, free_port, get_json, spawn, stop_servers, wait_ready

CHROMIUM = "/usr/bin/chromium"
DAY = timedelta(days=1)
ZOOMS = [("week", 7), ("month", 30), ("year", 365), ("decade", 3652), ("century", 36524)]
BUDGET_MS = 200


def serve(db: Path, workdir: Path, workers: int) -> Server:
    env = dict(os.environ, TIMELINE_DATABASE=str(db), PYTHONPATH=str(REPO))
    port = free_port()
    argv = [str(VENV_BIN / "gunicorn"), "-c", str(REPO / "service" / "gunicorn_conf.py")]
    argv += ["--workers", str(workers), "--bind", f"{HOST}:{port}", "service:create_app()"]
    srv = spawn("service", port, argv, env, workdir, "/readyz")
    wait_ready(srv, timeout=600)  # an older copy migrates first
    return srv


def seeded_db(workdir: Path) -> Path:
    db = workdir / "seed.db"
    env = dict(os.environ, TIMELINE_DATABASE=str(db))
    subprocess.run([str(VENV_BIN / "timeline"), "seed"], env=env, check=True, capture_output=True)
    return db


def span_of(port: int) -> tuple[date, date, list[tuple[date, int]]]:
    """The archive's first and last day and its year histogram (where the events are)."""
    h = get_json(port, "/api/v1/events/histogram?interval=year")["buckets"]
    years = [(date.fromisoformat(b["start"]), b["count"]) for b in h if len(b["start"]) == 10]
    first = years[0][0]
    last = date.fromisoformat(h[-1]["end"]) if len(h[-1]["end"]) == 10 else date(9999, 12, 31)
    return first, last, years


def places(years: list[tuple[date, int]], n: int) -> list[date]:
    """n days at evenly spaced quantiles of the events (where a reader would look)."""
    total = sum(c for _, c in years)
    out, acc, i = [], 0, 0
    for k in range(n):
        target = total * (k + 0.5) / n
        while i < len(years) - 1 and acc + years[i][1] < target:
            acc += years[i][1]
            i += 1
        within = (target - acc) / max(1, years[i][1])
        out.append(years[i][0] + timedelta(days=int(364 * within)))
    return out


VIEW_JS = """
([a, b]) => new Promise((resolve) => {
  const root = document.querySelector('[data-timeline-widget]');
  performance.clearResourceTimings();
  const got = {};
  const timer = setTimeout(() => resolve({timeout: true}), 20000);
  const done = () => { if (got.ms !== undefined && got.list_ms !== undefined) { clearTimeout(timer); resolve(got); } };
  root.addEventListener('tlw:drawn', (ev) => { got.ms = ev.detail.ms; done(); }, {once: true});
  root.addEventListener('tlw:listed', (ev) => { got.list_ms = ev.detail.ms; done(); }, {once: true});
  // (a widget older than tlwWidget.setWindow loaded every move after the debounce)
  if (root.tlwWidget.setWindow) root.tlwWidget.setWindow(a, b);
  else root.tlwWidget.timeline.setWindow(new Date(a), new Date(b), {animation: false});
})
"""

FETCHED_JS = """
() => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/'))
  .map(e => ({url: e.name, bytes: e.transferSize, body: e.encodedBodySize, ms: e.duration}))
"""

# A drag's view: every load (mid-drag ones too) marks the canvas aria-busy and clears it
# with its list; the view is the last drawn and listed after the last load began.
LISTEN_JS = """
() => {
  const root = document.querySelector('[data-timeline-widget]');
  const scroller = root.querySelector('.tlw-canvas-scroll');
  performance.clearResourceTimings();
  window.__view = {drawn: [], listed: [], busyAt: 0};
  if (!window.__viewHooked) {
    window.__viewHooked = true;
    root.addEventListener('tlw:drawn', (ev) => window.__view.drawn.push([performance.now(), ev.detail.ms]));
    root.addEventListener('tlw:listed', (ev) => window.__view.listed.push([performance.now(), ev.detail.ms]));
    new MutationObserver(() => {
      if (scroller.getAttribute('aria-busy') === 'true') window.__view.busyAt = performance.now();
    }).observe(scroller, {attributes: true, attributeFilter: ['aria-busy']});
  }
}
"""

VIEWED_JS = """
() => new Promise((resolve) => {
  const t0 = performance.now();
  const scroller = document.querySelector('.tlw-canvas-scroll');
  const poll = () => {
    const v = window.__view, d = v.drawn[v.drawn.length - 1], l = v.listed[v.listed.length - 1];
    if (scroller.getAttribute('aria-busy') !== 'true' && d && l && d[0] >= v.busyAt && l[0] >= v.busyAt)
      resolve({ms: d[1], list_ms: l[1]});
    else if (performance.now() - t0 > 20000) resolve({timeout: true});
    else setTimeout(poll, 10);
  };
  poll();
})
"""


def wheel(page, notch: int) -> dict:
    """One Ctrl+wheel notch over the timeline's centre (out when positive) and the view's
    figures."""
    box = page.locator(".vis-panel.vis-center").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 30)
    page.evaluate(LISTEN_JS)
    page.keyboard.down("Control")
    page.mouse.wheel(0, 100 * notch)
    page.keyboard.up("Control")
    return page.evaluate(VIEWED_JS)


def drag(page, fraction: float) -> dict:
    """Drags the timeline by ``fraction`` of its width with the mouse (later when positive)
    and returns the view's figures."""
    box = page.locator(".vis-panel.vis-center").bounding_box()
    x0, y = box["x"] + box["width"] / 2, box["y"] + 30
    page.evaluate(LISTEN_JS)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x0 - box["width"] * fraction, y, steps=8)
    page.mouse.up()
    return page.evaluate(VIEWED_JS)


FIRST_JS = """
() => new Promise((resolve) => {
  const root = document.querySelector('[data-timeline-widget]');
  const done = () => resolve(performance.now());
  setTimeout(() => resolve(null), 30000);
  if (root && root.getAttribute('data-drawn')) done();
  else document.addEventListener('tlw:drawn', done, {once: true, capture: true});
})
"""


def fetched(page) -> list[dict]:
    page.wait_for_timeout(400)  # the counts of events outside the window follow the drawing
    return page.evaluate(FETCHED_JS)


def window_of(page) -> tuple[str, str]:
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    return q["from"][0], q["to"][0]


def ms(d: date) -> int:
    return int((d - date(1970, 1, 1)).total_seconds() * 1000)


def run(base: str, port: int, views: int, log) -> dict:
    from playwright.sync_api import sync_playwright

    first, last, years = span_of(port)
    whole = (last - first).days
    results: dict = {"zooms": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        t0 = time.perf_counter()
        page.goto(base + "/")
        page.evaluate(FIRST_JS)
        first_ms = (time.perf_counter() - t0) * 1000
        got = fetched(page)
        histograms = [urllib.parse.urlsplit(f["url"]) for f in got if "/events/histogram" in f["url"]]
        results["first_view"] = {
            "ms": round(first_ms),
            "requests": len(got),
            "bytes": sum(f["bytes"] for f in got),
            "whole_archive_histograms": sum(
                1 for u in histograms if "from" not in urllib.parse.parse_qs(u.query)
            ),
            "window": page.url.split("?", 1)[-1],
        }
        log(f"first view: {results['first_view']}")
        for name, days in [*ZOOMS, ("month dragged", 30), ("month wheel", 30), ("whole span", whole)]:
            if days > whole and name != "whole span":
                continue
            rows = []
            if name == "whole span":
                centres = [first + timedelta(days=whole // 2)] * 3
            elif name in ("month dragged", "month wheel"):  # a month where the events are
                centres = [places(years, 1)[0]] * views
            else:
                centres = places(years, views)
            for k, centre in enumerate(centres):
                if name == "whole span":  # the whole span, then pans of a tenth either way
                    centre += timedelta(days=(0, -whole // 10, whole // 10)[k])
                a = max(date(1, 1, 1), centre - timedelta(days=days // 2))
                b = a + timedelta(days=days)
                if name == "month dragged" and k:
                    view = drag(page, 0.1)
                    a, b = (date.fromisoformat(d) for d in window_of(page))
                elif name == "month wheel" and k:
                    view = wheel(page, 1)
                    a, b = (date.fromisoformat(d) for d in window_of(page))
                else:
                    view = page.evaluate(VIEW_JS, [ms(a), ms(b)])
                got = fetched(page)
                rows.append(
                    {
                        "window": f"{a}..{b}",
                        "ms": view.get("ms"),
                        "list_ms": view.get("list_ms"),
                        "timeout": view.get("timeout", False),
                        "requests": len(got),
                        "bytes": sum(f["bytes"] for f in got),
                        "max_response": max((f["body"] for f in got), default=0),
                    }
                )
            results["zooms"][name] = summarise(rows)
            log(f"{name:>10}: {results['zooms'][name]['summary']}")
        browser.close()
    return results


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def summarise(rows: list[dict]) -> dict:
    times = [r["ms"] for r in rows if r["ms"] is not None]
    listed = [r["list_ms"] for r in rows if r.get("list_ms") is not None]
    sizes = [r["bytes"] for r in rows]
    summary = {
        "views": len(rows),
        "timeouts": sum(r["timeout"] for r in rows),
        "ms_median": round(statistics.median(times), 1) if times else None,
        "ms_p95": round(pct(times, 0.95), 1) if times else None,
        "ms_max": round(max(times), 1) if times else None,
        "list_ms_median": round(statistics.median(listed), 1) if listed else None,
        "list_ms_p95": round(pct(listed, 0.95), 1) if listed else None,
        "bytes_median": int(statistics.median(sizes)),
        "bytes_max": max(sizes),
        "requests_max": max(r["requests"] for r in rows),
        "largest_response": max(r["max_response"] for r in rows),
    }
    return {"summary": summary, "views": rows}


def table(results: dict, label: str) -> str:
    fv = results["first_view"]
    out = [
        f"First view ({label}): {fv['ms']:,} ms from navigation to the drawn view, {fv['requests']} requests, "
        f"{fv['bytes']:,} bytes, {fv['whole_archive_histograms']} histogram(s) of the whole archive; "
        f"window `{fv['window']}`.",
        "",
        "| zoom | views | update ms median | p95 | max | list ms median | p95 | bytes per view median | max | "
        f"requests max | largest response | each update < {BUDGET_MS} ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, z in results["zooms"].items():
        s = z["summary"]
        ok = "✓" if s["ms_max"] is not None and s["ms_max"] < BUDGET_MS and not s["timeouts"] else "✗"
        out.append(
            f"| {name} | {s['views']} | {s['ms_median']} | {s['ms_p95']} | {s['ms_max']} | "
            f"{s['list_ms_median']} | {s['list_ms_p95']} | {s['bytes_median']:,} | "
            f"{s['bytes_max']:,} | {s['requests_max']} | {s['largest_response']:,} | {ok} |"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="an archive to serve (copied first; default: the seed)")
    ap.add_argument("--views", type=int, default=8, help="views per zoom level")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write every view's figures here")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")

    def log(msg: str) -> None:
        print(f"[bench.widget] {msg}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-widget-") as tmp:
        work = Path(tmp)
        if args.db:
            src = args.db.resolve()
            db = work / src.name
            t = time.perf_counter()
            shutil.copyfile(src, db)  # read only: the original is never opened by the service
            log(f"copied {src} ({src.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t:.0f} s")
            label = src.name
        else:
            db = seeded_db(work)
            label = "seed"
        srv = serve(db, work, args.workers)
        try:
            count = get_json(srv.port, "/api/v1/events?limit=1&count=true")["total"]
            log(f"serving {count:,} events at {srv.base()}")
            results = run(srv.base(), srv.port, args.views, log)
        finally:
            stop_servers({"service": srv})
    results["events"] = count
    results["archive"] = label
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print(f"### {label}: {count:,} events\n")
    before, after = results["load_average"]["before"][0], results["load_average"]["after"][0]
    print(f"Load average (1 min) before {before:.1f}, after {after:.1f} (2 cores, shared).\n")
    print(table(results, label))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    worst = [z["summary"] for z in results["zooms"].values()]
    return (
        0
        if all(s["ms_max"] is not None and s["ms_max"] < BUDGET_MS and not s["timeouts"] for s in worst)
        else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
