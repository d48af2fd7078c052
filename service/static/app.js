/*
 * Timeline widget: draws the service's events on a zoomable, pannable vis-timeline and
 * loads only what the visible window needs from the public API.
 *
 * It runs in two ways, with the same code:
 *   - on the service's own page (index.html), which keeps its state in the URL query;
 *   - embedded elsewhere by one <script src=".../static/app.js"> tag, which loads the
 *     vendored vis-timeline and the stylesheets next to itself and fills every element
 *     marked data-timeline-widget (or creates one where the script tag stands).
 * Every URL is resolved against this script's own URL, so a path prefix or another
 * origin works. No inline scripts, no eval, no inline styles: it runs under a strict CSP.
 *
 * What a view fetches is bounded whatever the archive's size. Up to SMALL_ARCHIVE events,
 * the window's events; beyond, at most 6 requests at once: one histogram of the window's
 * neighbourhood (cached; beyond 8 years the archive's year histogram), the most important
 * day events of each slice of it (SLICE_LIMIT each) and a few longer ones, over the
 * histogram's density bands where more than DENSITY_BUDGET events start in view. The
 * first view is the smallest window holding most events (FIRST_VIEW_SHARE), found from
 * one histogram of the whole archive refined inside that window. vis draws the new items
 * in one batched pass (updateItems).
 */
(function () {
  "use strict";

  var SCRIPT = document.currentScript;
  var SCRIPT_URL = new URL(SCRIPT ? SCRIPT.src : "static/app.js", document.baseURI);
  var STATIC_BASE = new URL(".", SCRIPT_URL);
  // The service serves this file at <root>/static/app.js; the API lives at <root>/api/v1/.
  var ROOT = /\/static\/$/.test(STATIC_BASE.pathname) ? new URL("..", STATIC_BASE) : STATIC_BASE;

  var DAY = 86400000;
  var YEAR = 365.2425 * DAY;
  var PAGE_LIMIT = 500;
  var MAX_PAGES = 2;            // pages followed per cell of a sparse window
  var SMALL_ARCHIVE = 5000;     // up to this many events, a window's events load whole
  var DENSITY_BUDGET = 400;     // more events than this start in view: density bands
  var SLICES = 2;               // a large archive's window is read in 2-3 slices (a view in
                                // at most 6 requests: Chromium's connections to one host)
  var SLICE_LIMIT = 25;         // day events per slice (the most important)
  var LONG_LIMIT = 20;          // long events (spans, months and up) per window of a large archive
  var DRAW_LIMIT = 50;          // items drawn at once, the most important first (vis adds ~1 ms each)
  var BANDS = 16;               // density bands behind a dense window
  var BAND_ALPHA = [0.06, 0.14, 0.24, 0.36, 0.5];   // their five shades, lightest first
  var LIST_LIMIT = 300;         // rows in the accessible list
  var SEARCH_LIMIT = 100;       // search results per page
  var STORY_PAGES = 4;          // story mode reads at most 4 pages of 500 events
  var EXACT_COUNTS = 20000;     // up to this many events, outside counts are exact (API counts)
  var FIRST_VIEW_SHARE = 0.8;   // the first view holds at least this share of the events
  var MIN_VIEW_DAYS = 14;
  var CLUSTER_PX = 24;          // events closer than this on screen may cluster
  var CLUSTER_MIN = 6;          // a cluster holds more than this many events
  var CLUSTER_OPEN_DAYS = 45;   // at this zoom or closer, groups of up to CLUSTER_OPEN_MAX open
  var CLUSTER_OPEN_MAX = 12;
  var LABEL_MAX = 640;          // widest label (px); narrower on small screens
  var LABEL_MIN = 120;          // a label with less room than this is shortened (ellipsis)
  var DEBOUNCE_MS = 30;          // a wheel zoom's steps: loading waits this long for the next
  var BUSY_DELAY_MS = 150;      // the busy bar shows only for a load slower than this
  var CACHE_MAX = 240;
  // Share of events at importance >= 1..5 assumed when a dense window must pick a level
  // before it has seen its events (a typical archive: most events are of importance 3).
  var IMPORTANCE_SHARE = [1, 0.9, 0.7, 0.25, 0.07];

  /* ---------- dates: ISO days (with BCE years) <-> UTC Date ---------- */

  function makeDate(y, m, d) {
    var t = new Date(0);
    t.setUTCFullYear(y, m - 1, d);      // setUTCFullYear keeps years 0–99 literal
    t.setUTCHours(0, 0, 0, 0);
    return t;
  }

  // "2021", "2021-07", "2021-07-02", "-0043-03-15" -> [year, month|null, day|null]
  function splitDay(s) {
    var m = /^(-?\d{1,6})(?:-(\d\d))?(?:-(\d\d))?$/.exec(String(s || "").trim());
    if (!m) return null;
    return [parseInt(m[1], 10), m[2] ? parseInt(m[2], 10) : null, m[3] ? parseInt(m[3], 10) : null];
  }

  function parseDay(s) {
    var p = splitDay(s);
    return p ? makeDate(p[0], p[1] || 1, p[2] || 1) : null;
  }

  // The first day after the period a date names: "2021-07" -> 2021-08-01.
  function parseAfter(s) {
    var p = splitDay(s);
    if (!p) return null;
    if (p[2]) return makeDate(p[0], p[1], p[2] + 1);
    if (p[1]) return makeDate(p[0], p[1] + 1, 1);
    return makeDate(p[0] + 1, 1, 1);
  }

  function pad(n, w) { var s = String(Math.abs(n)); while (s.length < w) s = "0" + s; return s; }

  function formatDay(date) {
    var d = date instanceof Date ? date : new Date(date);
    var y = d.getUTCFullYear();
    return (y < 0 ? "-" : "") + pad(y, 4) + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2);
  }

  function floorDay(ms) { return Math.floor(ms / DAY) * DAY; }
  function ceilDay(ms) { return Math.ceil(ms / DAY) * DAY; }

  function yearLabel(y) { return y > 0 ? String(y) : (1 - y) + " BC"; }

  function formatRange(a, b) {
    var span = b - a;
    var opts = span > 3 * YEAR ? null : span > 60 * DAY ? { month: "short", year: "numeric" } : { day: "numeric", month: "short", year: "numeric" };
    function one(d) {
      if (!opts || d.getUTCFullYear() < 1) return yearLabel(d.getUTCFullYear());
      return d.toLocaleDateString("en-GB", Object.assign({ timeZone: "UTC" }, opts));
    }
    var first = one(new Date(a)), last = one(new Date(b - 1));
    return first === last ? first : first + " – " + last;
  }

  function plural(n, one, many) { return n.toLocaleString("en") + " " + (n === 1 ? one : many); }

  /* ---------- small DOM helpers (text only: event data never becomes HTML) ---------- */

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      if (k === "text") n.textContent = attrs[k];
      else if (k === "class") n.className = attrs[k];
      else n.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return n;
  }

  function debounce(fn, ms) {
    var t = null;
    var call = function () { clearTimeout(t); t = setTimeout(fn, ms); };
    call.cancel = function () { clearTimeout(t); t = null; };
    return call;
  }

  function isAbort(err) { return err && err.name === "AbortError"; }

  function getJSON(url, signal) {
    return fetch(url, { signal: signal, headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status + " for " + url); e.status = r.status; throw e; }
        return r.json();
      });
  }

  function sumN(h) { return h.reduce(function (a, b) { return a + b.n; }, 0); }

  // Buckets {s, e, n} (start ms, end ms exclusive, count): events starting in [from, to),
  // assuming an even spread inside a bucket.
  function countIn(h, from, to) {
    var n = 0;
    for (var i = 0; i < h.length; i++) {
      var b = h[i];
      if (b.e <= from || b.s >= to) continue;
      n += b.n * (Math.min(b.e, to) - Math.max(b.s, from)) / (b.e - b.s);
    }
    return n;
  }

  // The shortest run of consecutive buckets holding at least `target` events.
  function smallestWindow(h, target) {
    var best = null, sum = 0, i = 0;
    for (var j = 0; j < h.length; j++) {
      sum += h[j].n;
      while (i < j && sum - h[i].n >= target) { sum -= h[i].n; i++; }
      if (sum >= target && (!best || h[j].e - h[i].s < best.e - best.s)) best = { s: h[i].s, e: h[j].e, n: sum };
    }
    return best;
  }

  // A histogram interval giving at most a few hundred buckets over `span` ms. Months only
  // up to about 8 years: the service reads a month histogram from its 16-day counts only
  // where a block lies inside one month (about half of them), so over decades months cost
  // several times what years do (bench/RESULTS.md); the bands of a decade are by year.
  function intervalFor(span) {
    var days = span / DAY;
    if (days <= 400) return "day";
    if (days <= 8 * 366) return "month";
    if (days <= 400 * 366) return "year";
    if (days <= 4000 * 366) return "decade";
    return "century";
  }

  // The precision in words, so that it never rests on a shape or a colour alone.
  function precisionWords(e) {
    var interval = /\//.test(e.date || "") || (e.precision === "day" && e.start && e.end && e.start !== e.end);
    var words = (interval ? "a span, dated to the " : "dated to the ") + (e.precision || "day");
    if (e.approximate) words += ", approximate";
    if (e.uncertain) words += ", uncertain";
    if (!e.start) words += ", start unknown";
    if (!e.end) words += ", end open";
    return words;
  }

  /* ---------- the widget ---------- */

  function Widget(root) {
    var vis = window.vis;
    var api = new URL("api/v1/", root.getAttribute("data-api") ? new URL(root.getAttribute("data-api"), document.baseURI) : ROOT);
    var syncUrl = root.getAttribute("data-url-state") === "query";
    var state = readInitialState(root, syncUrl);
    var ui = buildUi(root);
    var items = new vis.DataSet();
    var cache = new Map();          // request URL -> Promise(body); oldest evicted first
    var bounds = new WeakMap();     // event -> [start ms, end ms], parsed once per event
    var generation = 0;             // the latest window load
    var searchGen = 0, storyGen = 0;
    var current = [];               // events loaded for the window, chronological
    var view = null;                // what the last load found: window, density, level
    var outside = null;             // counts of events before and after the window
    var search = null;              // {q, items, next, total}
    var story = null;               // {events, index}
    var lastFocus = null;
    var detailController = null;
    var revealPending = false;      // scroll the selected item into sight after the next draw
    var drawSeq = 0;
    var loadedKey = null;           // window and filters of the last load
    var drawnAs = new Map();        // item id -> what vis was last given for it
    var listPending = null;         // the list to render after the timeline's next frame
    var listScheduled = false;
    var unbusyAfterList = 0;        // the load whose busy mark the list's rendering clears

    var timeline = new vis.Timeline(ui.canvas, items, {
      minHeight: 200,
      stack: true,
      showCurrentTime: false,
      selectable: true,
      zoomKey: "ctrlKey",                       // wheel scrolls the host page; Ctrl+wheel zooms
      zoomMin: 7 * DAY,
      zoomMax: 6000 * YEAR,
      min: makeDate(-9999, 1, 1),
      max: makeDate(9999, 12, 31),
      orientation: { axis: "top", item: "top" },
      margin: { item: { horizontal: 8, vertical: 3 }, axis: 4 },
      locale: "en",
      moment: function (d) { return (vis.moment || window.moment)(d).utc(); },
      format: { minorLabels: minorLabel, majorLabels: majorLabel },
      template: itemTemplate,
      order: itemOrder,
      xss: { disabled: false }
    });

    var scheduleLoad = debounce(load, DEBOUNCE_MS);
    var ready = false;              // vis reports its default window before start() sets ours
    // When a move ends, loading starts: at once when the end is known (a drag released, an
    // animated move finished: vis reports "rangechanged" then; a move of our own without
    // animation), DEBOUNCE_MS after the last "rangechange" otherwise (a wheel zoom, whose
    // steps vis reports one by one and whose "rangechanged" comes only 200 ms later).
    var rangeEndedAt = 0;
    timeline.on("rangechange", function () {
      if (!ready) return;
      rangeEndedAt = performance.now();
      scheduleLoad();
    });
    timeline.on("rangechanged", function () { if (ready) loadNow(); });
    timeline.on("select", function (props) {
      var id = props.items && props.items.length ? String(props.items[0]) : null;
      if (!id) return;
      var item = items.get(id);
      if (item && item.cluster) { openCluster(item.cluster); return; }
      if (item && item.ev) chooseEvent(id, null);
    });
    timeline.on("changed", afterDraw);
    wireControls();
    sizeCanvas();

    start();
    return {
      timeline: timeline, reload: load, fit: function () { fitToData(false); },
      // Moves the window (Dates or ms) and loads it at once; timeline.setWindow works too,
      // but its load waits the debounce of a wheel zoom, whose end vis does not report.
      setWindow: function (a, b, animate) { moveWindow(new Date(a), new Date(b), !!animate); },
      openStory: openStory, state: state
    };

    /* --- start-up: filters, facets, title, initial window --- */

    function start() {
      // Opening on the events' window: nothing loads for vis's default window meanwhile
      // (on a large archive its requests held up the first view's).
      var fitFirst = !state.story && !(state.from && state.to) && !state.id;
      ready = !fitFirst;
      ui.q.value = state.q;
      // The filters' choices after the first view is drawn: over a large archive they are
      // a slow request, which held a worker while the first view waited for it.
      fillSelect(ui.tag, [], state.tags[0], "All tags");
      fillSelect(ui.actor, [], state.actors[0], "All actors");
      root.addEventListener("tlw:drawn", loadFacets, { once: true });
      setTimeout(loadFacets, 3000);   // (should nothing be drawn: no match, an error)
      loadTimelineTitle();
      if (state.q) runSearch(false);
      if (state.story) openStory(state.story);
      else if (state.from && state.to) moveWindow(state.from, state.to, false);
      else if (fitFirst) fitToData(false);
      if (state.id && !state.story) openDetail(state.id, null, !(state.from && state.to));
    }

    function filterParams(u) {
      if (state.q) u.searchParams.set("q", state.q);
      state.tags.forEach(function (t) { u.searchParams.append("tag", t); });
      state.actors.forEach(function (a) { u.searchParams.append("actor", a); });
      state.timelines.forEach(function (t) { u.searchParams.append("timeline", t); });
      return u;
    }

    function eventsUrl(params) {
      var u = filterParams(new URL("events", api));
      Object.keys(params).forEach(function (k) {
        var v = params[k];
        if (Array.isArray(v)) v.forEach(function (x) { u.searchParams.append(k, x); });
        else if (v !== null && v !== undefined) u.searchParams.set(k, v);
      });
      return u;
    }

    // GET a JSON body once per URL (the API's answers for a given URL change rarely);
    // `transform` (the same for every use of a URL) is applied once, and its result kept.
    function cachedJSON(u, transform) {
      var key = String(u);
      if (cache.has(key)) {
        var hit = cache.get(key);
        cache.delete(key); cache.set(key, hit);   // most recently used last
        return hit;
      }
      var p = getJSON(u);
      if (transform) p = p.then(transform);
      cache.set(key, p);
      p.catch(function () { cache.delete(key); });
      while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
      return p;
    }

    // Start histogram of the current filters: buckets {s, e, n}, or null when unavailable.
    // `within`: only the events lying inside [from, to), not the long ones overlapping it
    // (each a bucket at its start, far outside: a week of a large archive had hundreds).
    function histogram(interval, from, to, within) {
      var u = filterParams(new URL("events/histogram", api));
      u.searchParams.set("interval", interval);
      if (within) u.searchParams.set("match", "within");
      if (from !== undefined && from !== null) u.searchParams.set("from", formatDay(from));
      if (to !== undefined && to !== null) u.searchParams.set("to", formatDay(+to - DAY));
      // Parsed once per URL: the archive's year histogram has thousands of buckets and
      // every view reads it.
      return cachedJSON(u, parseHistogram).catch(function () { return null; });
    }

    function parseHistogram(body) {
      var h = (body.buckets || []).map(function (b) {
        var s = parseDay(b.start), e = parseAfter(b.end);
        return s && e ? { s: +s, e: +e, n: b.count } : null;
      }).filter(Boolean);
      h.unbucketed = body.unbucketed || 0;   // events with no start: in every window before their end
      return h;
    }

    /* --- the first view: where most of the events are --- */

    function fitToData(animate) {
      storyWindow().then(function (w) {
        ready = true;
        if (!w) { setStatus("No events match.", "empty"); renderList(); return; }
        moveWindow(new Date(w[0]), new Date(w[1]), animate);
        if (!animate) load();   // now, not after the debounce (then a no-op: the same window)
      }).catch(function (err) { ready = true; if (!isAbort(err)) showError(err); });
    }

    // The smallest window holding FIRST_VIEW_SHARE of the events: from one year histogram
    // of everything, refined by month and day histograms inside the window it found.
    function storyWindow() {
      return histogram("year").then(function (hy) {
        if (!hy) return extentWindow();
        var total = sumN(hy) + hy.unbucketed;
        if (!sumN(hy)) return hy.unbucketed ? extentWindow() : null;
        // Events with an unknown start reach back forever: count them as in the window.
        var target = Math.max(1, Math.ceil(total * FIRST_VIEW_SHARE) - hy.unbucketed);
        return refine(smallestWindow(hy, target), target, "month", 40 * 366 * DAY)
          .then(function (b) { return refine(b, target, "day", 400 * DAY); })
          .then(function (b) { return b ? padded(b.s, b.e) : null; });
      });
    }

    function refine(best, target, interval, maxSpan) {
      if (!best || best.e - best.s > maxSpan) return Promise.resolve(best);
      return histogram(interval, best.s, best.e).then(function (h) {
        var b = h && h.length ? smallestWindow(h, target) : null;
        return b && b.e - b.s <= best.e - best.s ? b : best;
      });
    }

    // A little room before the first event and more after the last (labels run
    // rightwards): the last start sits at about 65% of the window.
    function padded(s, e) {
      var span = Math.max((e - s) * 1.6, MIN_VIEW_DAYS * DAY), start = s - span * 0.06;
      return [start, start + span];
    }

    // Without a histogram endpoint: the first and the last event.
    function extentWindow() {
      return Promise.all([getJSON(eventsUrl({ limit: 1 })), getJSON(eventsUrl({ limit: 1, sort: "-date" }))]).then(function (r) {
        var a = r[0].items[0], b = r[1].items[0];
        if (!a || !b) return null;
        var lo = parseDay(a.start || a.end), hi = b.end ? parseAfter(b.end) : parseAfter(b.start);
        return lo && hi ? padded(+lo, +hi) : null;
      });
    }

    // The smallest window showing an event with some context, keeping the current zoom
    // when it is neither too tight nor too wide for the event.
    function windowFor(e) {
      var s = startMs(e), en = endMs(e) + DAY;
      if (!isFinite(s)) s = en - 30 * DAY;
      if (!isFinite(en)) en = s + 30 * DAY;
      var need = Math.max((en - s) * 1.4, MIN_VIEW_DAYS * DAY);
      var w = timeline.getWindow(), span = w.end - w.start;
      if (span >= need && span <= need * 3) need = span;
      var mid = (s + en) / 2;
      return [mid - need / 2, mid + need / 2];
    }

    function moveWindow(a, b, animate) {
      var animation = animate && !reducedMotion() ? { duration: 250, easingFunction: "easeInOutQuad" } : false;
      timeline.setWindow(a, b, { animation: animation });
      // (also when the window did not change: filters may have)
      if (animation) scheduleLoad();   // its end ("rangechanged") loads at once
      else loadNow();
    }

    // Zoom by a factor about the window's centre (the buttons and keys), animated like
    // every other move of ours unless the reader prefers reduced motion.
    function zoom(factor) {
      var w = timeline.getWindow(), mid = (+w.start + +w.end) / 2, half = (w.end - w.start) * factor / 2;
      moveWindow(new Date(mid - half), new Date(mid + half), true);
    }

    function moveToEvent(e, animate) {
      var w = windowFor(e);
      moveWindow(new Date(w[0]), new Date(w[1]), animate);
    }

    /* --- loading a window: sparse windows whole, dense ones by slices --- */

    // The timeline is cut into aligned cells one to two windows wide, so a pan within the
    // neighbourhood reuses cached answers and a request names a stable from/to.
    function cellsFor(from, to) {
      var spanDays = Math.max(1, Math.ceil((to - from) / DAY));
      var unit = 8;
      while (unit < spanDays) unit *= 2;
      var first = Math.floor(from / DAY / unit), last = Math.floor((to - 1) / DAY / unit);
      var out = [];
      for (var k = first; k <= last; k++) out.push({ from: k * unit * DAY, to: (k + 1) * unit * DAY });
      return out;
    }

    function loadNow() { scheduleLoad.cancel(); load(); }

    // One round trip: the whole archive's year histogram (cached since the first view)
    // says how big the archive is. A small one (SMALL_ARCHIVE) loads the window's cells
    // whole; a large one loads its layers (day events by slices, longer ones apart) with
    // the window's own histogram alongside, for the density bands and the counts.
    function load() {
      if (!ready) return;   // (the first window is on its way)
      var w = timeline.getWindow(), from = +w.start, to = +w.end;
      var key = filterKey() + "|" + from + "|" + to;
      if (key === loadedKey) return;     // the same window and filters: nothing to do
      loadedKey = key;
      var gen = ++generation;
      // The busy bar only for a slow load (a fast one would flash it, and restyling and
      // animating it took CPU from the requests); the URL after the frame (flushList):
      // history.replaceState costs the browser a same-document navigation.
      var settled = false;
      ui.scroller.setAttribute("aria-busy", "true");
      setTimeout(function () { if (gen === generation && !settled) setBusy(true); }, BUSY_DELAY_MS);
      var cells = cellsFor(from, to);
      var lo = cells[0].from, hi = cells[cells.length - 1].to;
      histogram("year").then(function (hy) {
        if (gen !== generation) return null;
        var total = hy ? sumN(hy) + hy.unbucketed : null;
        // Beyond 8 years the window's density is by year: the archive's year histogram,
        // already here, gives it without a request (the slowest of such a view).
        var layered = function () {
          var interval = intervalFor(hi - lo);
          var windowHist = hy && interval !== "day" && interval !== "month" ? hy : histogram(interval, lo, hi, true);
          return Promise.all([windowHist, loadLayers(from, to, hy || [])]).then(function (r) {
            var n = r[0] ? countIn(r[0], from, to) : null;
            r[1].dense = r[1].truncated || (n !== null && n > DENSITY_BUDGET);
            return { r: r[1], h: r[0], n: n };
          });
        };
        if (total === null || total > SMALL_ARCHIVE) return layered();
        return loadCells(cells).then(function (r) { return r.truncated ? layered() : { r: r, h: null, n: null }; });
      }).then(function (got) {
        if (!got || gen !== generation) return;
        settled = true;
        unbusyAfterList = gen;   // the busy mark goes with the list, after the frame: a class
                                 // on the root restyles the whole widget before vis measures
        view = { from: from, to: to, hist: got.h, count: got.n, dense: got.r.dense, level: got.r.level, truncated: got.r.truncated };
        apply(got.r.events);
        updateOutside(gen);
      }).catch(function (err) {
        if (isAbort(err) || gen !== generation) return;
        settled = true;
        loadedKey = null;
        setBusy(false);
        writeUrl();
        showError(err);
      });
    }

    function filterKey() { return JSON.stringify([state.q, state.tags, state.actors, state.timelines]); }

    function loadCells(cells) {
      return Promise.all(cells.map(function (c) {
        var u = eventsUrl({ from: formatDay(c.from), to: formatDay(c.to - DAY), limit: PAGE_LIMIT });
        var got = [];
        function page(url, n) {
          return cachedJSON(url).then(function (body) {
            got = got.concat(body.items || []);
            if (body.next && n < MAX_PAGES) {
              var nu = new URL(u); nu.searchParams.set("cursor", body.next);
              return page(nu, n + 1);
            }
            return { items: got, truncated: !!body.next };
          });
        }
        return page(u, 1);
      })).then(function (rs) {
        return {
          events: [].concat.apply([], rs.map(function (r) { return r.items; })),
          truncated: rs.some(function (r) { return r.truncated; }), dense: false, level: 1
        };
      });
    }

    function levelFor(n, limit) {
      for (var level = 1; level < 5; level++) if (n * IMPORTANCE_SHARE[level - 1] <= limit) return level;
      return 5;
    }

    // A large archive's window, in small cacheable requests: the day events lying within
    // each of SLICES + 1 aligned slices at most, each asking for its SLICE_LIMIT first at
    // the lowest importance that (by the year histogram) should fit; apart from them, two
    // requests for the longer events, the most important only (a week lies inside
    // thousands of decades and centuries): spans of days across slices with years and
    // longer, and months. With the window's histogram that is at most 6 requests, all
    // going out at once over Chromium's 6 connections to one host (with 8, the last two
    // waited for a free one: 10-50 ms a view at 1M events).
    function loadLayers(from, to, hy) {
      var unit = DAY;
      while (unit * SLICES < to - from) unit *= 2;
      var reqs = [], levels = [], first = Math.floor(from / unit), k;
      for (k = first; k * unit < to; k++) {
        var s = k * unit, e = s + unit, level = levelFor(countIn(hy, s, e), SLICE_LIMIT);
        levels.push(level);
        reqs.push(eventsUrl({ from: formatDay(s), to: formatDay(e - DAY), match: "within", precision: "day", min_importance: level > 1 ? level : null, limit: SLICE_LIMIT }));
      }
      // spans of days across slices with years and longer, then months, over the slices'
      // aligned span (not the window's own days: a pan within it asks for nothing new)
      var wf = formatDay(first * unit), wt = formatDay(k * unit - DAY);
      reqs.push(eventsUrl({ from: wf, to: wt, precision: ["day", "year", "decade", "century", "millennium"], min_importance: 5, limit: LONG_LIMIT / 2 }));
      reqs.push(eventsUrl({ from: wf, to: wt, precision: "month", min_importance: 4, limit: LONG_LIMIT / 2 }));
      return Promise.all(reqs.map(cachedJSON)).then(function (bodies) {
        return {
          events: [].concat.apply([], bodies.map(function (b) { return b.items || []; })),
          truncated: bodies.some(function (b) { return !!b.next; }),
          level: Math.max.apply(null, levels)
        };
      });
    }

    /* --- drawing: labels that fit, clusters, density bands --- */

    function startMs(e) { return boundsOf(e)[0]; }
    function endMs(e) { return boundsOf(e)[1]; }
    function boundsOf(e) {
      var b = bounds.get(e);
      if (!b) bounds.set(e, b = [e.start ? +parseDay(e.start) : -Infinity, e.end ? +parseDay(e.end) : Infinity]);
      return b;
    }
    function span(e) { return endMs(e) - startMs(e); }
    function overlaps(e, from, to) { return startMs(e) < to && endMs(e) + DAY > from; }

    // The contract's order: start, then end, then id; an open start first, an open end last.
    function chronological(a, b) {
      var as = startMs(a), bs = startMs(b);
      if (as !== bs) return as < bs ? -1 : 1;
      var ae = endMs(a), be = endMs(b);
      if (ae !== be) return ae < be ? -1 : 1;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    }

    // Stacking order: what happened at a point (days, clusters) takes the top rows, spans
    // the rows below; each in chronological order.
    function itemOrder(a, b) {
      var pa = a.type === "box" ? 0 : 1, pb = b.type === "box" ? 0 : 1;
      if (pa !== pb) return pa - pb;
      if (a.ev && b.ev) return chronological(a.ev, b.ev);
      return (a.start - b.start) || (a.id < b.id ? -1 : 1);
    }

    function canvasWidth() { return Math.max(200, ui.canvas.clientWidth - 2); }

    function labelMax(width) { return Math.max(LABEL_MIN, Math.min(LABEL_MAX, Math.round(width * (width < 600 ? 0.62 : 0.52)))); }

    function apply(events) {
      var seen = new Map();
      events.forEach(function (e) { if (!seen.has(e.id)) seen.set(e.id, e); });
      current = Array.from(seen.values()).sort(chronological);
      relayout();
    }

    // Items for the current window: geometry (which side a label sits, how wide it may be)
    // depends on the window and the canvas width, so it is worked out again on every move.
    function relayout() {
      if (!view) return;
      var w = timeline.getWindow(), from = +w.start, to = +w.end;
      var visible = current.filter(function (e) { return overlaps(e, from, to); });
      var drawn = visible;
      if (visible.length > DRAW_LIMIT) {
        drawn = visible.slice().sort(function (a, b) {
          return (b.importance || 3) - (a.importance || 3) || span(a) - span(b) || chronological(a, b);
        }).slice(0, DRAW_LIMIT).sort(chronological);
      }
      var width = canvasWidth(), maxLabel = labelMax(width);
      var px = function (ms) { return (ms - from) / (to - from) * width; };
      var next = [], loose = [];
      drawn.forEach(function (e) {
        var s = startMs(e), en = endMs(e) + DAY;
        var xs = px(isFinite(s) ? s : from - (to - from)), xe = px(isFinite(en) ? en : to + (to - from));
        if (e.id === state.id) next.push(e.start && e.end && e.start === e.end ? boxItem(e, xs, width, maxLabel, from) : rangeItem(e, xs, xe, width, maxLabel, from, to));
        else if (e.start && e.end && e.start === e.end) loose.push({ e: e, x: xs });
        else if (xe - xs < CLUSTER_PX && isFinite(s) && isFinite(en)) loose.push({ e: e, x: xs, xe: xe, range: true });
        else next.push(rangeItem(e, xs, xe, width, maxLabel, from, to));
      });
      clusters(loose, to - from).forEach(function (g) {
        if (g.length > 1) next.push(clusterItem(g, px, width, maxLabel, from));
        else next.push(g[0].range && width - g[0].x - 12 >= LABEL_MIN ? rangeItem(g[0].e, g[0].x, g[0].xe, width, maxLabel, from, to) : boxItem(g[0].e, g[0].x, width, maxLabel, from));
      });
      if (view.dense && view.hist) next = next.concat(bands(view.hist, from, to));
      // Only what changed goes to vis: each item it (re)builds costs about a millisecond.
      var keep = new Set(next.map(function (i) { return i.id; }));
      var gone = items.getIds().filter(function (id) {
        if (keep.has(id)) return false;
        drawnAs.delete(id);
        return true;
      });
      var changed = next.filter(function (i) {
        var sig = [i.type, +i.start, +i.end, i.align, i.lw, i.cut, i.inside, i.className, i.cluster ? i.cluster.ids.length : ""].join("|");
        if (drawnAs.get(i.id) === sig) return false;
        drawnAs.set(i.id, sig);
        return true;
      });
      updateItems(gone, changed);
      timeline.setSelection(state.id && keep.has(state.id) ? [state.id] : []);
      // The list (and the search counts) follow once the timeline's frame is painted: laid
      // out before it, its rows delayed every view (docs/widget.md).
      listPending = { visible: visible, drawn: drawn.length };
      setTimeout(function () { if (listPending && !listScheduled) flushList(); }, 250);   // (should vis not draw)
      drawSeq++;
      // Changed items make vis redraw once, in its next task; a redraw here as well would
      // lay the page out twice (each redraw measures every item).
      if (!gone.length && !changed.length) timeline.redraw();
    }

    // vis draws a change to its items at once, and more than once: each of the data set's
    // "add", "update" and "remove" events redraws the whole item set (a layout of the
    // page), a group shows each new item in view on its own (Group.add -> show -> redraw),
    // and an item shown already redraws when its data changes (Item.setData): a forced
    // layout per item, about 40 ms a view of 50 items here. Each change also queues one
    // redraw of the whole timeline for the next frame, which draws every item not shown in
    // three batched passes (build all, measure all, place all). So while the items change,
    // the item set's redraw and the groups' "show it if in view" are left to that redraw
    // (own properties over vis's prototype methods, removed again at once), and the items
    // about to change are taken off the page first (put back by that redraw, before the
    // frame is painted). The vendored vis is pinned (vendor/README.md); a browser test
    // fails if items are drawn one at a time again.
    function updateItems(gone, changed) {
      var set = timeline.itemSet, groups = (set && set.groups) || {}, deferred = [];
      var defer = function (obj, name) {
        if (obj && typeof obj[name] === "function" && !Object.prototype.hasOwnProperty.call(obj, name)) {
          obj[name] = drawnInNextFrame;
          deferred.push([obj, name]);
        }
      };
      defer(set, "redraw");
      Object.keys(groups).forEach(function (k) { defer(groups[k], "_checkIfVisible"); });
      try {
        changed.forEach(function (i) {
          var shown = set && set.items && set.items[i.id];
          if (shown && shown.displayed && typeof shown.hide === "function") shown.hide();
        });
        items.remove(gone);
        items.update(changed);
      } finally {
        deferred.forEach(function (d) { delete d[0][d[1]]; });
      }
    }
    function drawnInNextFrame() {}

    // Groups of events drawn within CLUSTER_PX of each other. A group of more than
    // CLUSTER_MIN becomes one counted cluster, except close up (CLUSTER_OPEN_DAYS), where
    // groups of up to CLUSTER_OPEN_MAX open; zooming in on a cluster opens it.
    function clusters(loose, windowMs) {
      loose.sort(function (a, b) { return a.x - b.x || chronological(a.e, b.e); });
      var groups = [], g = null;
      loose.forEach(function (p) {
        if (g && p.x - g[0].x <= CLUSTER_PX) g.push(p);
        else groups.push(g = [p]);
      });
      var limit = windowMs <= CLUSTER_OPEN_DAYS * DAY ? CLUSTER_OPEN_MAX : CLUSTER_MIN;
      var out = [];
      groups.forEach(function (grp) {
        if (grp.length > limit) out.push(grp);
        else grp.forEach(function (p) { out.push([p]); });
      });
      return out;
    }

    function classesOf(e) {
      var cls = ["tlw-item", "tlw-p-" + (e.precision || "day"), "tlw-imp-" + (e.importance || 3)];
      if (e.approximate) cls.push("tlw-approx");
      if (e.uncertain) cls.push("tlw-uncertain");
      if (!e.start) cls.push("tlw-open-start");
      if (!e.end) cls.push("tlw-open-end");
      return cls.join(" ");
    }

    // A day: a box on its date, its label on whichever side has room. A day that began
    // before the window (`from`) and runs into it has its box at the window's edge, inside
    // the day: on the day's first moment the box and its label would be cut by the edge.
    function boxItem(e, x, width, maxLabel, from) {
      var at = startMs(e);
      if (x < 0 && from !== undefined) { at = from; x = 0; }
      var right = width - x - 22, left = x - 22, align, room;   // less the box's padding and borders
      if (right >= maxLabel) { align = "left"; room = maxLabel; }
      else if (left >= maxLabel) { align = "right"; room = maxLabel; }
      else if (right >= left) { align = "left"; room = right; }
      else { align = "right"; room = left; }
      return {
        id: e.id, type: "box", start: new Date(at), align: align, className: classesOf(e),
        ev: e, lw: Math.max(40, Math.round(room)), cut: room < LABEL_MIN
      };
    }

    // A span: a range as wide as its dates; its label starts at the visible part of the
    // range and may run past a short range's end (stacked as wide as it runs).
    function rangeItem(e, xs, xe, width, maxLabel, from, to) {
      xs = Math.max(xs, 0);
      var room = width - xs - 20, inside = Math.min(xe, width) - xs - 20;
      var start = isFinite(startMs(e)) ? new Date(startMs(e)) : new Date(from - (to - from));
      var end = isFinite(endMs(e)) ? new Date(endMs(e) + DAY) : new Date(to + (to - from));
      return {
        id: e.id, type: "range", start: start, end: end, className: classesOf(e), ev: e,
        lw: Math.max(40, Math.round(Math.min(room, Math.max(maxLabel, inside)))), cut: room < LABEL_MIN,
        inside: Math.round(inside)
      };
    }

    function clusterItem(group, px, width, maxLabel, from) {
      var evs = group.map(function (p) { return p.e; }).sort(chronological);
      // its extent by starts: zooming to it spreads the members (long ones run on anyway)
      var s = startMs(evs[0]), e = Math.max.apply(null, evs.map(function (x) { return startMs(x) + DAY; }));
      var box = boxItem(evs[0], px(s), width, Math.min(maxLabel, 220), from);
      return {
        id: "cluster:" + evs[0].id, type: "box", start: box.start, align: box.align, lw: box.lw,
        className: "tlw-cluster", cluster: { s: s, e: e, ids: evs.map(function (x) { return x.id; }), label: formatRange(s, e) }
      };
    }

    // Density behind a dense window: BANDS even bands from the histogram, darker = more,
    // drawn as one item (a gradient of hard stops): vis builds and measures each item.
    function bands(h, from, to) {
      var width = (to - from) / BANDS, counts = [];
      for (var i = 0; i < BANDS; i++) counts.push(countIn(h, from + i * width, from + (i + 1) * width));
      var max = Math.max.apply(null, counts.concat([1e-9]));
      var levels = counts.map(function (n) { return n < 0.5 ? 0 : Math.max(1, Math.ceil(n / max * 5)); });
      if (!Math.max.apply(null, levels)) return [];
      var stops = levels.map(function (level, i) {
        var colour = level ? "rgba(29, 79, 145, " + BAND_ALPHA[level - 1] + ")" : "transparent";
        return colour + " " + (i / BANDS * 100) + "% " + ((i + 1) / BANDS * 100) + "%";
      });
      return [{
        id: "bands:" + from + ":" + to + ":" + levels.join(""), type: "background", start: new Date(from), end: new Date(to),
        className: "tlw-bands", limitSize: false, band: "linear-gradient(to right, " + stops.join(", ") + ")"
      }];
    }

    function itemTemplate(item) {
      if (!item) return "";
      if (item.band) {
        var fill = el("span", { class: "tlw-bands-fill" });
        fill.style.backgroundImage = item.band;   // (CSSOM: allowed under the strict CSP)
        return fill;
      }
      if (item.cluster) {
        var c = el("span", { class: "tlw-label tlw-cluster-label" }, [
          el("span", { class: "tlw-cluster-n", text: plural(item.cluster.ids.length, "event", "events") }),
          " ", el("span", { class: "tlw-label-date", text: item.cluster.label }),
          el("span", { class: "tlw-cluster-hint", text: " · zoom in" })
        ]);
        c.style.maxWidth = item.lw + "px";
        return c;
      }
      var e = item.ev;
      if (!e) return "";
      var whole = (e.display_date ? e.display_date + " " : "") + e.title;
      var label = el("span", { class: "tlw-label" + (item.cut ? " tlw-label-cut" : ""), "data-id": e.id, title: item.cut ? whole : null }, [
        el("span", { class: "tlw-label-date", text: e.display_date || "" }),
        " ",
        el("span", { class: "tlw-label-title", text: e.title }),
        e.uncertain ? el("span", { class: "tlw-q", text: "?" }) : null
      ]);
      label.style.maxWidth = item.lw + "px";
      // Past a short range's end the label runs on the canvas's own background, so the
      // range's end border never crosses its text (style.css: --tlw-inside).
      if (item.type === "range") label.style.setProperty("--tlw-inside", item.inside + "px");
      return label;
    }

    function openCluster(c) {
      timeline.setSelection([]);
      var w = timeline.getWindow();
      if (w.end - w.start <= 8 * DAY) {   // as close as it zooms: go to the events in the list
        var row = ui.list.querySelector('.tlw-row[data-id="' + cssEscape(c.ids[0]) + '"]');
        if (row) { row.scrollIntoView({ block: "nearest" }); row.focus(); }
        return;
      }
      var p = padded(c.s, c.e);
      moveWindow(new Date(p[0]), new Date(p[1]), true);
    }

    function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&"); }

    // After vis has drawn: the scroll cue, the selected item brought into sight, and a
    // "drawn" event (its detail: milliseconds since the pan or zoom ended) for benchmarks.
    function afterDraw() {
      updateCue();
      if (revealPending && state.id) revealSelected();
      // vis redraws inside an animation frame and reports "changed" at its end: the new
      // items are in the DOM and this frame paints them.
      if (drawSeq && root.getAttribute("data-drawn") !== String(drawSeq)) {
        root.setAttribute("data-drawn", String(drawSeq));
        root.dispatchEvent(new CustomEvent("tlw:drawn", { detail: { seq: drawSeq, ms: performance.now() - rangeEndedAt } }));
      }
      if (listPending && !listScheduled) {
        listScheduled = true;
        window.requestAnimationFrame(function () { setTimeout(flushList, 0); });   // after the paint
      }
    }

    // The list of the events in view, and the search counts, for the last layout; then a
    // "listed" event (its detail: milliseconds since the pan or zoom ended).
    function flushList() {
      listScheduled = false;
      var p = listPending;
      if (!p) return;
      listPending = null;
      renderList(p.visible, p.drawn);
      if (search) renderSearch();
      if (unbusyAfterList === generation) { unbusyAfterList = 0; setBusy(false); writeUrl(); }
      root.dispatchEvent(new CustomEvent("tlw:listed", { detail: { seq: drawSeq, ms: performance.now() - rangeEndedAt } }));
    }

    function updateCue() {
      var s = ui.scroller, more = s.scrollHeight - s.scrollTop - s.clientHeight > 4;
      ui.cue.hidden = !more;
      ui.canvasWrap.classList.toggle("tlw-more", more);
    }

    // The canvas grows with its rows up to about the viewport's height, then scrolls.
    function sizeCanvas() {
      var top = ui.scroller.getBoundingClientRect().top + window.scrollY;
      var vh = window.innerHeight || 800;
      var max = Math.max(240, Math.round(vh - Math.min(top, vh * 0.45) - 32));
      ui.scroller.style.maxHeight = max + "px";
    }

    function narrow() { return window.matchMedia && window.matchMedia("(max-width: 760px)").matches; }
    function reducedMotion() { return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches; }

    // On a phone the detail sheet covers the lower half: scroll so that the selected item
    // sits above it, and its row too when it was opened from the list.
    function revealSelected() {
      var label = ui.canvas.querySelector('.tlw-label[data-id="' + cssEscape(state.id) + '"]');
      if (!label) return;
      revealPending = false;
      var item = label.closest(".vis-item") || label;
      var sc = ui.scroller, r = item.getBoundingClientRect(), sr = sc.getBoundingClientRect();
      if (r.top < sr.top || r.bottom > sr.bottom) sc.scrollTop += r.top - sr.top - 24;
      if (ui.detail.hidden || !narrow()) return;
      r = item.getBoundingClientRect();
      var sheetTop = ui.detail.getBoundingClientRect().top;
      var room = sheetTop - 8;
      if (r.top < 8 || r.bottom > room) window.scrollBy(0, r.top - Math.max(8, (room - r.height) / 2));
    }

    /* --- the accessible list of the events in view, in order --- */

    function renderList(visible, drawnCount) {
      visible = visible || [];
      var frag = document.createDocumentFragment();
      visible.slice(0, LIST_LIMIT).forEach(function (e) {
        frag.appendChild(el("li", { class: "tlw-imp-" + (e.importance || 3), "data-id": e.id }, [eventRow(e, "tlw-row")]));
      });
      ui.list.replaceChildren(frag);
      var w = timeline.getWindow();
      ui.range.textContent = formatRange(+w.start, +w.end);
      var parts = [];
      if (view && view.dense) {
        parts.push((view.count !== null ? "About " + Math.round(view.count).toLocaleString("en") + " events start in view; " : "") + "the most important " + visible.length.toLocaleString("en") + " are shown" + (view.level > 1 ? " (importance " + view.level + " and up where it is dense)" : "") + ". Zoom in for more; darker bands hold more events");
      } else {
        parts.push(plural(visible.length, "event", "events") + " in view");
        if (view && view.truncated) parts.push("some left out: zoom in to see all");
      }
      if (drawnCount && drawnCount < visible.length) parts.push("the timeline draws the " + drawnCount + " most important");
      if (visible.length > LIST_LIMIT) parts.push("the list shows the first " + LIST_LIMIT);
      setStatus(parts.join(" · "), visible.length ? "ok" : "empty");
      ui.listH.textContent = "Events in view (" + visible.length.toLocaleString("en") + ")";
      ui.root.setAttribute("data-min-importance", view ? view.level : 1);
    }

    function eventRow(e, cls, where) {
      var flags = [el("span", { class: "tlw-chip tlw-chip-" + e.precision, text: e.precision })];
      if (e.approximate) flags.push(el("span", { class: "tlw-flag tlw-flag-approx", text: "approximate" }));
      if (e.uncertain) flags.push(el("span", { class: "tlw-flag tlw-flag-uncertain", text: "uncertain" }));
      if ((e.importance || 3) >= 4) flags.push(el("span", { class: "tlw-flag tlw-flag-key", text: "key event" }));
      if (where) flags.unshift(el("span", { class: "tlw-where tlw-where-" + where.replace(" ", "-"), text: where }));
      return el("button", { type: "button", class: cls, "data-id": e.id, "aria-current": e.id === state.id ? "true" : null }, [
        el("span", { class: "tlw-row-date", text: e.display_date || "" }),
        el("span", { class: "tlw-row-title", text: e.title }),
        el("span", { class: "tlw-row-meta" }, flags)
      ]);
    }

    /* --- events outside the window: "3 earlier events", clickable --- */

    function totalEvents() {
      return histogram("year").then(function (h) { return h ? sumN(h) : null; });
    }

    // Exact counts (two small API counts, which also name the nearest event on each side)
    // for archives up to EXACT_COUNTS events; beyond that, estimates from the histogram.
    function updateOutside(gen) {
      var w = timeline.getWindow(), from = floorDay(+w.start), to = ceilDay(+w.end);
      totalEvents().then(function (total) {   // (bucketed: a rough size is enough here)
        if (total !== null && total > EXACT_COUNTS) {
          return histogram("year").then(function (h) {
            return { earlier: Math.round(countIn(h, -Infinity, from)), later: Math.round(countIn(h, to, Infinity)), exact: false, from: from, to: to };
          });
        }
        return Promise.all([
          cachedJSON(eventsUrl({ to: formatDay(from - DAY), match: "within", sort: "-date", limit: 1, count: "true" })),
          cachedJSON(eventsUrl({ from: formatDay(to), match: "within", limit: 1, count: "true" }))
        ]).then(function (r) {
          return { earlier: r[0].total, later: r[1].total, prev: r[0].items[0], next: r[1].items[0], exact: true, from: from, to: to };
        });
      }).then(function (o) {
        if (gen !== generation) return;
        outside = o;
        renderEdge(ui.earlier, o.earlier, o.exact, "earlier");
        renderEdge(ui.later, o.later, o.exact, "later");
      }).catch(function () { ui.earlier.hidden = ui.later.hidden = true; });
    }

    function renderEdge(button, n, exact, side) {
      button.hidden = !n;
      var text = (exact ? "" : "about ") + plural(n || 0, side + " event", side + " events");
      var arrow = el("span", { "aria-hidden": "true", text: side === "earlier" ? "← " : " →" });
      button.replaceChildren.apply(button, side === "earlier" ? [arrow, text] : [text, arrow]);
      button.title = "Go to the nearest " + side + " event";
    }

    function jumpOutside(side) {
      var o = outside;
      if (!o) return;
      var target = side < 0 ? o.prev : o.next;
      var got = target ? Promise.resolve(target) : getJSON(side < 0
        ? eventsUrl({ to: formatDay(o.from - DAY), match: "within", sort: "-date", limit: 1 })
        : eventsUrl({ from: formatDay(o.to), match: "within", limit: 1 })).then(function (b) { return b.items[0]; });
      got.then(function (e) { if (e) moveToEvent(e, true); }).catch(showError);
    }

    /* --- search across all time --- */

    // Every match, wherever it is: the first SEARCH_LIMIT in order (more on request), how
    // many lie in view, before and after, and a move to them when none is in view.
    function runSearch(moveIfNoneInView) {
      var gen = ++searchGen;
      if (!state.q) { search = null; ui.results.hidden = true; return; }
      ui.results.hidden = false;
      ui.resultsH.textContent = "Searching for “" + state.q + "”…";
      getJSON(eventsUrl({ limit: SEARCH_LIMIT, count: "true" })).then(function (body) {
        if (gen !== searchGen) return;
        search = { q: state.q, items: body.items || [], next: body.next, total: typeof body.total === "number" ? body.total : (body.items || []).length };
        renderSearch();
        if (moveIfNoneInView && search.total && !searchCounts().inView) showAllMatches();
      }).catch(function (err) { if (gen === searchGen) { ui.resultsH.textContent = "Search failed."; showError(err); } });
    }

    function where(e, from, to) { return endMs(e) + DAY <= from ? "earlier" : startMs(e) >= to ? "later" : "in view"; }

    function searchCounts() {
      var w = timeline.getWindow(), from = +w.start, to = +w.end;
      var c = { inView: 0, earlier: 0, later: 0, exact: !search.next };
      search.items.forEach(function (e) { c[where(e, from, to).replace("in view", "inView")]++; });
      if (!c.exact && view && view.hist) {   // beyond the first page: the window's histogram
        c.inView = Math.max(c.inView, Math.round(countIn(view.hist, from, to)));
        c.later = Math.max(0, search.total - c.inView - c.earlier);
      }
      return c;
    }

    function renderSearch() {
      if (!search) return;
      var w = timeline.getWindow(), from = +w.start, to = +w.end, c = searchCounts();
      ui.resultsH.textContent = plural(search.total, "match", "matches") + " for “" + search.q + "”";
      var about = c.exact ? "" : "about ";
      ui.resultsCounts.textContent = search.total
        ? about + c.inView.toLocaleString("en") + " in view · " + about + c.earlier.toLocaleString("en") + " earlier · " + about + c.later.toLocaleString("en") + " later"
        : "Nothing matches. Search looks for whole words in titles, summaries, actors, places and quotes.";
      ui.showAll.hidden = !search.total;
      ui.showAll.textContent = "Show all " + plural(search.total, "match", "matches") + " on the timeline";
      ui.more.hidden = !search.next;
      var frag = document.createDocumentFragment();
      search.items.forEach(function (e) { frag.appendChild(el("li", null, [eventRow(e, "tlw-row tlw-hit", where(e, from, to))])); });
      ui.hits.replaceChildren(frag);
    }

    function moreResults() {
      if (!search || !search.next) return;
      var gen = searchGen;
      getJSON(eventsUrl({ limit: SEARCH_LIMIT, cursor: search.next })).then(function (body) {
        if (gen !== searchGen) return;
        search.items = search.items.concat(body.items || []);
        search.next = body.next;
        renderSearch();
      }).catch(showError);
    }

    // All the matches: from the first to the last (the canvas shows only matches).
    function showAllMatches() {
      histogram("year").then(function (h) {
        if (!h || !h.length) { fitToData(true); return; }
        return refine({ s: h[0].s, e: h[h.length - 1].e }, sumN(h), "month", 40 * 366 * DAY)
          .then(function (b) { return refine(b, sumN(h), "day", 400 * DAY); })
          .then(function (b) { var p = padded(b.s, b.e); moveWindow(new Date(p[0]), new Date(p[1]), true); });
      }).catch(showError);
    }

    /* --- story mode: one event at a time, in order --- */

    // The events of the current filters in chronological order: at most STORY_PAGES pages.
    function storyEvents() {
      var got = [];
      function page(u, n) {
        return cachedJSON(u).then(function (body) {
          got = got.concat(body.items || []);
          if (body.next && n < STORY_PAGES) return page(eventsUrl({ limit: PAGE_LIMIT, cursor: body.next }), n + 1);
          return { events: got, more: !!body.next };
        });
      }
      return page(eventsUrl({ limit: PAGE_LIMIT }), 1);
    }

    function openStory(id) {
      var gen = ++storyGen;
      ui.storyBtn.setAttribute("aria-pressed", "true");
      storyEvents().then(function (r) {
        if (gen !== storyGen) return;
        if (!r.events.length) { setStatus("No events to tell.", "empty"); closeStory(); return; }
        var i = -1;
        [id, state.id].some(function (x) {
          if (!x) return false;
          i = r.events.findIndex(function (e) { return e.id === x; });
          return i >= 0;
        });
        story = { events: r.events, more: r.more, index: Math.max(0, i) };
        ui.root.classList.add("tlw-story-on");
        ui.close.setAttribute("aria-label", "Exit story");
        ui.close.title = "Exit story (Esc)";
        showSlide(story.index, true);
      }).catch(function (err) { showError(err); closeStory(); });
    }

    function showSlide(i, focusTitle) {
      if (!story) return;
      i = Math.max(0, Math.min(story.events.length - 1, i));
      story.index = i;
      var e = story.events[i];
      state.id = e.id;
      state.story = e.id;
      writeUrl();
      var n = story.events.length + (story.more ? "+" : "");
      renderDetail(e, el("div", { class: "tlw-story-nav", role: "group", "aria-label": "Story" }, [
        el("button", { type: "button", class: "tlw-btn tlw-story-prev", "data-step": "-1", disabled: i === 0 ? true : null, text: "← Previous" }),
        el("span", { class: "tlw-story-pos", text: (i + 1) + " of " + n }),
        el("button", { type: "button", class: "tlw-btn tlw-story-next", "data-step": "1", disabled: i === story.events.length - 1 ? true : null, text: "Next →" })
      ]));
      ui.announce.textContent = "Event " + (i + 1) + " of " + n + ": " + (e.display_date ? e.display_date + ", " : "") + e.title;
      showPanel(focusTitle);
      markCurrent();
      moveToEvent(e, true);
      revealPending = true;
    }

    function step(d) {
      if (!story) return;
      var active = document.activeElement;
      var inPanel = active && ui.detail.contains(active);
      var wasButton = inPanel && active.hasAttribute("data-step");
      showSlide(story.index + d, false);
      if (!inPanel && active !== document.body) return;
      // The slide was re-rendered: keep focus on the same control, or on the new title.
      var target = null;
      if (wasButton) {
        target = ui.detail.querySelector(d < 0 ? ".tlw-story-prev" : ".tlw-story-next");
        if (target && target.disabled) target = ui.detail.querySelector("[data-step]:not([disabled])");
      }
      target = target || document.getElementById(ui.ids.detailTitle);
      if (target) target.focus({ preventScroll: true });
    }

    function closeStory() {
      storyGen++;
      story = null;
      state.story = null;
      ui.root.classList.remove("tlw-story-on");
      ui.storyBtn.setAttribute("aria-pressed", "false");
      ui.close.setAttribute("aria-label", "Close details");
      ui.close.title = "Close (Esc)";
    }

    /* --- detail panel --- */

    function known(id) {
      var pools = [current, search ? search.items : [], story ? story.events : []];
      for (var p = 0; p < pools.length; p++) {
        for (var i = 0; i < pools[p].length; i++) if (pools[p][i].id === id) return pools[p][i];
      }
      return null;
    }

    // A chosen event: a slide when story mode is on and holds it, else the detail panel.
    function chooseEvent(id, opener, centre) {
      if (story) {
        var i = story.events.findIndex(function (e) { return e.id === id; });
        if (i >= 0) { showSlide(i, true); return; }
        closeStory();
      }
      openDetail(id, opener, centre);
    }

    function openDetail(id, opener, centre) {
      state.id = id;
      writeUrl();
      lastFocus = opener || document.activeElement;
      markCurrent();
      if (detailController) detailController.abort();
      detailController = new AbortController();
      var local = known(id);
      if (local) {
        renderDetail(local);
        if (centre) moveToEvent(local, true);
      } else { ui.detailBody.replaceChildren(el("p", { class: "tlw-muted", text: "Loading…" })); showPanel(true); }
      revealPending = true;
      if (local && !centre) { window.requestAnimationFrame(revealSelected); }
      getJSON(new URL("events/" + encodeURIComponent(id), api), detailController.signal).then(function (e) {
        if (state.id !== id || story) return;
        renderDetail(e);
        if (centre && !local) moveToEvent(e, false);
      }).catch(function (err) {
        if (isAbort(err)) return;
        ui.detailBody.replaceChildren(el("p", { class: "tlw-error", text: err.status === 404 ? "This event no longer exists." : "Could not load this event." }));
      });
    }

    function renderDetail(e, nav) {
      var body = nav ? [nav] : [];
      body.push(el("p", { class: "tlw-detail-date" }, [
        e.display_date || "",
        el("span", { class: "tlw-precision", text: " · " + precisionWords(e) }),
        (e.importance || 3) >= 4 ? el("span", { class: "tlw-flag tlw-flag-key", text: "key event" }) : null
      ]));
      body.push(el("h2", { class: "tlw-detail-title", id: ui.ids.detailTitle, tabindex: "-1", text: e.title }));
      if (e.summary) body.push(el("p", { class: "tlw-detail-summary", text: e.summary }));
      var facts = el("dl", { class: "tlw-facts" });
      if (e.location) {
        var loc = [e.location.name, e.location.country].filter(Boolean).join(", ");
        var coords = typeof e.location.lat === "number" && typeof e.location.lon === "number"
          ? e.location.lat.toFixed(3) + ", " + e.location.lon.toFixed(3) : null;
        facts.append(el("dt", { text: "Location" }), el("dd", { class: "tlw-location" }, [loc, coords ? el("span", { class: "tlw-coords", text: coords }) : null]));
      }
      if (e.actors && e.actors.length) facts.append(el("dt", { text: "Actors" }), el("dd", { text: e.actors.join(", ") }));
      if (e.tags && e.tags.length) facts.append(el("dt", { text: "Tags" }), el("dd", { text: e.tags.join(", ") }));
      facts.append(el("dt", { text: "Importance" }), el("dd", { text: (e.importance || 3) + " of 5" }));
      body.push(facts);
      if (e.sources && e.sources.length) {
        body.push(el("h3", { class: "tlw-sources-h", text: e.sources.length === 1 ? "Source" : "Sources" }));
        body.push(el("ul", { class: "tlw-sources" }, e.sources.map(function (s) {
          var name = s.title || s.url;
          var safe = s.url && /^https?:\/\//i.test(s.url);
          var meta = [s.publisher, s.published].filter(Boolean).join(", ");
          return el("li", { class: "tlw-source" }, [
            s.quote ? el("blockquote", { class: "tlw-quote", cite: safe ? s.url : null, text: s.quote }) : null,
            el("p", { class: "tlw-source-line" }, [
              safe ? el("a", { href: s.url, target: "_blank", rel: "noopener noreferrer", text: name }) : el("span", { text: name }),
              meta ? el("span", { class: "tlw-source-meta", text: " — " + meta }) : null
            ])
          ]);
        })));
      }
      ui.detailBody.replaceChildren.apply(ui.detailBody, body);
      showPanel(!nav);
    }

    function showPanel(focusTitle) {
      var wasOpen = !ui.detail.hidden;
      ui.detail.hidden = false;
      ui.root.classList.add("tlw-has-detail");
      if (!wasOpen) { timeline.redraw(); relayout(); }
      if (focusTitle === false) return;
      var h = document.getElementById(ui.ids.detailTitle);
      (h || ui.close).focus({ preventScroll: wasOpen || narrow() });
    }

    function closeDetail() {
      if (ui.detail.hidden) return;
      var wasStory = !!story;
      closeStory();
      ui.detail.hidden = true;
      ui.root.classList.remove("tlw-has-detail");
      state.id = null;
      if (detailController) detailController.abort();
      timeline.setSelection([]);
      timeline.redraw();
      relayout();
      markCurrent();
      writeUrl();
      var back = wasStory ? ui.storyBtn : lastFocus && document.contains(lastFocus) ? lastFocus : ui.scroller;
      back.focus();
    }

    function markCurrent() {
      Array.prototype.forEach.call(root.querySelectorAll(".tlw-row"), function (b) {
        if (b.getAttribute("data-id") === state.id) b.setAttribute("aria-current", "true");
        else b.removeAttribute("aria-current");
      });
    }

    /* --- controls, keyboard, filters --- */

    function wireControls() {
      ui.earlierPan.addEventListener("click", function () { pan(-0.5); });
      ui.laterPan.addEventListener("click", function () { pan(0.5); });
      ui.zoomIn.addEventListener("click", function () { zoom(1 / 1.5); });
      ui.zoomOut.addEventListener("click", function () { zoom(1.5); });
      ui.fit.addEventListener("click", function () { fitToData(true); });
      ui.storyBtn.addEventListener("click", function () { if (story) closeDetail(); else openStory(null); });
      ui.earlier.addEventListener("click", function () { jumpOutside(-1); });
      ui.later.addEventListener("click", function () { jumpOutside(1); });
      ui.cue.addEventListener("click", function () { ui.scroller.scrollBy({ top: ui.scroller.clientHeight * 0.8, behavior: reducedMotion() ? "auto" : "smooth" }); });
      ui.scroller.addEventListener("scroll", updateCue, { passive: true });
      ui.close.addEventListener("click", closeDetail);
      ui.showAll.addEventListener("click", showAllMatches);
      ui.more.addEventListener("click", moreResults);
      ui.clear.addEventListener("click", function () { ui.q.value = ""; applyFilters(); ui.q.focus(); });
      [ui.list, ui.hits].forEach(function (list) {
        list.addEventListener("click", function (ev) {
          var b = ev.target.closest(".tlw-row");
          if (b) chooseEvent(b.getAttribute("data-id"), b, list === ui.hits);
        });
      });
      ui.detail.addEventListener("click", function (ev) {
        var b = ev.target.closest("button");
        if (!b) return;
        if (b.hasAttribute("data-step")) step(parseInt(b.getAttribute("data-step"), 10));
      });
      ui.scroller.addEventListener("keydown", function (ev) {
        if (ev.altKey || ev.ctrlKey || ev.metaKey || story) return;
        var k = ev.key;
        if (k === "ArrowLeft") pan(-0.2);
        else if (k === "ArrowRight") pan(0.2);
        else if (k === "+" || k === "=") zoom(1 / 1.4);
        else if (k === "-" || k === "_") zoom(1.4);
        else if (k === "Home" || k === "0") fitToData(true);
        else return;
        ev.preventDefault();
      });
      root.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && !ui.detail.hidden) { ev.preventDefault(); closeDetail(); }
      });
      // Story keys work anywhere in the widget, and on the page itself when nothing has focus.
      document.addEventListener("keydown", function (ev) {
        if (!story || ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
        if (!root.contains(ev.target) && ev.target !== document.body) return;
        if (/^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName)) return;
        if (ev.key === "ArrowLeft") { ev.preventDefault(); step(-1); }
        else if (ev.key === "ArrowRight") { ev.preventDefault(); step(1); }
      });
      ui.form.addEventListener("submit", function (ev) { ev.preventDefault(); applyFilters(); });
      ui.q.addEventListener("input", debounce(function () { if (ui.q.value.trim() !== state.q) applyFilters(); }, 500));
      ui.q.addEventListener("search", function () { if (!ui.q.value) applyFilters(); });
      ui.tag.addEventListener("change", applyFilters);
      ui.actor.addEventListener("change", applyFilters);
      var resized = debounce(function () { sizeCanvas(); relayout(); }, 150);
      window.addEventListener("resize", resized);
    }

    function pan(fraction) {
      var w = timeline.getWindow(), d = (w.end - w.start) * fraction;
      moveWindow(new Date(+w.start + d), new Date(+w.end + d), true);
    }

    function applyFilters() {
      var q = ui.q.value.trim();
      var changedQ = q !== state.q;
      state.q = q;
      state.tags = ui.tag.value ? [ui.tag.value] : [];
      state.actors = ui.actor.value ? [ui.actor.value] : [];
      if (story) closeDetail();
      runSearch(changedQ && !!q);
      load();
    }

    var facetsAsked = false;
    function loadFacets() {
      if (facetsAsked) return;
      facetsAsked = true;
      var u = new URL("events/facets?facet=tags&facet=actors&size=50", api);
      state.timelines.forEach(function (t) { u.searchParams.append("timeline", t); });
      getJSON(u).then(function (f) {
        fillSelect(ui.tag, f.tags || [], state.tags[0], "All tags");
        fillSelect(ui.actor, f.actors || [], state.actors[0], "All actors");
      }).catch(function () {
        fillSelect(ui.tag, [], state.tags[0], "All tags");
        fillSelect(ui.actor, [], state.actors[0], "All actors");
      });
    }

    function loadTimelineTitle() {
      if (state.timelines.length !== 1) return;
      getJSON(new URL("timelines/" + encodeURIComponent(state.timelines[0]), api)).then(function (t) {
        if (!t || !t.title) return;
        ui.title.textContent = t.title;
        ui.title.hidden = false;
        if (syncUrl) document.title = t.title;
      }).catch(function () {});
    }

    function fillSelect(select, values, chosen, label) {
      var opts = [el("option", { value: "", text: label })];
      var have = false;
      values.forEach(function (v) {
        have = have || v.value === chosen;
        opts.push(el("option", { value: v.value, text: v.value + " (" + v.count + ")" }));
      });
      if (chosen && !have) opts.push(el("option", { value: chosen, text: chosen }));
      select.replaceChildren.apply(select, opts);
      select.value = chosen || "";
    }

    /* --- status and URL --- */

    function setBusy(on) {
      ui.root.classList.toggle("tlw-busy", on);   // (a toggle to the state it has changes nothing)
      if (!on) ui.scroller.setAttribute("aria-busy", "false");
    }

    function setStatus(text, kind) {
      ui.status.textContent = text;
      ui.status.className = "tlw-status tlw-status-" + (kind || "ok");
    }

    function showError(err) {
      setStatus("Could not load events (" + (err && err.message ? err.message : "network error") + "). Pan or press Fit to retry.", "error");
    }

    function writeUrl() {
      if (!syncUrl) return;
      var w = timeline.getWindow();
      var u = new URL(window.location.href);
      ["from", "to", "q", "tag", "actor", "timeline", "id", "story"].forEach(function (k) { u.searchParams.delete(k); });
      u.searchParams.set("from", formatDay(w.start));
      u.searchParams.set("to", formatDay(new Date(w.end - 1)));
      if (state.q) u.searchParams.set("q", state.q);
      state.tags.forEach(function (t) { u.searchParams.append("tag", t); });
      state.actors.forEach(function (a) { u.searchParams.append("actor", a); });
      state.timelines.forEach(function (t) { u.searchParams.append("timeline", t); });
      if (story && state.story) u.searchParams.set("story", state.story);
      else if (state.id) u.searchParams.set("id", state.id);
      if (u.href !== window.location.href) window.history.replaceState(null, "", u);
    }
  }

  // Deep link (page URL, when the widget owns it) wins over the embed's data-* defaults.
  function readInitialState(root, syncUrl) {
    var p = syncUrl ? new URL(window.location.href).searchParams : new URLSearchParams();
    function one(k) { return p.get(k) || root.getAttribute("data-" + k) || ""; }
    function many(k) { var v = p.getAll(k); var d = root.getAttribute("data-" + k); return v.length ? v : d ? [d] : []; }
    var from = parseDay(one("from")), to = parseAfter(one("to"));
    if (!(from && to && from < to)) { from = null; to = null; }
    return {
      from: from, to: to, q: one("q").trim(), tags: many("tag"), actors: many("actor"), timelines: many("timeline"),
      id: one("id") || null, story: one("story") || null
    };
  }

  var uid = 0;

  function buildUi(root) {
    var n = ++uid, ids = { detailTitle: "tlw-detail-title-" + n, list: "tlw-list-" + n, help: "tlw-help-" + n, q: "tlw-q-" + n, tag: "tlw-tag-" + n, actor: "tlw-actor-" + n, results: "tlw-results-" + n };
    function button(cls, label, text) { return el("button", { type: "button", class: "tlw-btn " + cls, "aria-label": label, title: label, text: text }); }
    var ui = { root: root, ids: ids };
    ui.q = el("input", { type: "search", id: ids.q, name: "q", class: "tlw-input", placeholder: "Search all events", autocomplete: "off", enterkeyhint: "search" });
    ui.tag = el("select", { id: ids.tag, name: "tag", class: "tlw-select" }, [el("option", { value: "", text: "All tags" })]);
    ui.actor = el("select", { id: ids.actor, name: "actor", class: "tlw-select" }, [el("option", { value: "", text: "All actors" })]);
    ui.form = el("form", { class: "tlw-filters", role: "search" }, [
      el("label", { class: "tlw-field tlw-field-q" }, [el("span", { class: "tlw-sr", text: "Search all events" }), ui.q]),
      el("button", { type: "submit", class: "tlw-btn tlw-btn-primary", text: "Search" }),
      el("label", { class: "tlw-field tlw-field-facet" }, [el("span", { class: "tlw-sr", text: "Tag" }), ui.tag]),
      el("label", { class: "tlw-field tlw-field-facet" }, [el("span", { class: "tlw-sr", text: "Actor" }), ui.actor])
    ]);
    ui.earlierPan = button("tlw-pan-earlier", "Earlier", "◀");
    ui.laterPan = button("tlw-pan-later", "Later", "▶");
    ui.zoomOut = button("tlw-zoom-out", "Zoom out", "−");
    ui.zoomIn = button("tlw-zoom-in", "Zoom in", "+");
    ui.fit = button("tlw-fit", "Fit: show where the events are", "Fit");
    ui.storyBtn = el("button", { type: "button", class: "tlw-btn tlw-story-btn", "aria-pressed": "false", text: "Story" });
    ui.earlier = el("button", { type: "button", class: "tlw-btn tlw-edge tlw-edge-earlier", hidden: true });
    ui.later = el("button", { type: "button", class: "tlw-btn tlw-edge tlw-edge-later", hidden: true });
    ui.range = el("span", { class: "tlw-range" });
    ui.status = el("p", { class: "tlw-status", role: "status", "aria-live": "polite", text: "Loading…" });
    ui.announce = el("p", { class: "tlw-sr", "aria-live": "polite" });
    ui.canvas = el("div", { class: "tlw-canvas", "aria-hidden": "true" });
    ui.scroller = el("div", {
      class: "tlw-canvas-scroll", tabindex: "0", role: "region", "aria-roledescription": "timeline",
      "aria-label": "Timeline", "aria-describedby": ids.help
    }, [ui.canvas]);
    ui.cue = el("button", { type: "button", class: "tlw-cue", hidden: true, text: "More below ↓" });
    ui.canvasWrap = el("div", { class: "tlw-canvas-wrap" }, [ui.scroller, el("div", { class: "tlw-spinner", "aria-hidden": "true" }), ui.cue]);
    ui.listH = el("h2", { class: "tlw-list-h", id: ids.list + "-h", text: "Events in view" });
    ui.list = el("ol", { class: "tlw-list", id: ids.list, "aria-labelledby": ids.list + "-h" });
    ui.resultsH = el("h2", { class: "tlw-results-h", id: ids.results + "-h" });
    ui.resultsCounts = el("p", { class: "tlw-results-counts" });
    ui.showAll = el("button", { type: "button", class: "tlw-btn tlw-show-all", hidden: true });
    ui.clear = el("button", { type: "button", class: "tlw-btn tlw-clear", text: "Clear search" });
    ui.hits = el("ol", { class: "tlw-list tlw-hits", "aria-labelledby": ids.results + "-h" });
    ui.more = el("button", { type: "button", class: "tlw-btn tlw-more-results", hidden: true, text: "More matches" });
    ui.results = el("section", { class: "tlw-results", id: ids.results, "aria-labelledby": ids.results + "-h", hidden: true }, [
      el("div", { class: "tlw-results-top" }, [ui.resultsH, ui.resultsCounts, el("div", { class: "tlw-results-actions" }, [ui.showAll, ui.clear])]),
      ui.hits, ui.more
    ]);
    ui.close = el("button", { type: "button", class: "tlw-btn tlw-close", "aria-label": "Close details", title: "Close (Esc)", text: "×" });
    ui.detailBody = el("div", { class: "tlw-detail-body" });
    ui.detail = el("aside", { class: "tlw-detail", "aria-labelledby": ids.detailTitle, hidden: true }, [ui.close, ui.detailBody]);
    var legend = el("ul", { class: "tlw-legend", "aria-label": "Legend" }, [
      el("li", { class: "tlw-key tlw-key-day", text: "day" }),
      el("li", { class: "tlw-key tlw-key-month", text: "month or span" }),
      el("li", { class: "tlw-key tlw-key-year", text: "year" }),
      el("li", { class: "tlw-key tlw-key-decade", text: "decade" }),
      el("li", { class: "tlw-key tlw-key-approx", text: "c. approximate (dashed)" }),
      el("li", { class: "tlw-key tlw-key-uncertain", text: "uncertain" }),
      el("li", { class: "tlw-key tlw-key-important", text: "key event (importance 4–5): ringed dot, bold" }),
      el("li", { class: "tlw-key tlw-key-cluster", text: "N events: a cluster, click to zoom in" })
    ]);
    var title = root.getAttribute("data-title");
    ui.title = el("h1", { class: "tlw-title", text: title || "", hidden: !title });
    root.classList.add("tlw");
    root.replaceChildren(
      el("header", { class: "tlw-header" }, [ui.title, ui.form]),
      ui.results,
      el("div", { class: "tlw-toolbar" }, [
        el("div", { class: "tlw-nav", role: "group", "aria-label": "Move and zoom" }, [ui.earlierPan, ui.laterPan, ui.zoomOut, ui.zoomIn, ui.fit, ui.storyBtn]),
        el("div", { class: "tlw-edges" }, [ui.earlier, ui.range, ui.later])
      ]),
      el("p", { class: "tlw-sr", id: ids.help, text: "Arrow keys pan, plus and minus zoom, Home fits the events; up and down scroll the rows. In story mode the arrow keys step through the events. The list below names the events in view." }),
      el("div", { class: "tlw-body" }, [
        el("div", { class: "tlw-main" }, [
          ui.canvasWrap,
          ui.status,
          ui.announce,
          legend,
          ui.listH,
          ui.list
        ]),
        ui.detail
      ])
    );
    return ui;
  }
  /* ---------- axis labels: BCE years read "44 BC", dates are UTC ---------- */

  var MINOR = { millisecond: "SSS", second: "s", minute: "HH:mm", hour: "HH:mm", weekday: "ddd D", day: "D", week: "w", month: "MMM" };
  function minorLabel(date, scale) {
    return scale === "year" ? yearLabel(date.year()) : date.format(MINOR[scale] || "D");
  }
  function majorLabel(date, scale) {
    switch (scale) {
      case "year": return "";
      case "month": return yearLabel(date.year());
      case "weekday": case "day": case "week": return date.format("MMMM") + " " + yearLabel(date.year());
      case "millisecond": return date.format("HH:mm:ss");
      default: return date.format("D MMMM") + " " + yearLabel(date.year());
    }
  }

  /* ---------- boot: load vis and styles when embedded, then fill the containers ---------- */

  function ensureAssets(done) {
    function hasCss(href) {
      return Array.prototype.some.call(document.querySelectorAll("link[rel=stylesheet]"), function (l) { return l.href === href; });
    }
    ["vendor/vis-timeline/vis-timeline-graph2d.min.css", "style.css"].forEach(function (p) {
      var href = new URL(p, STATIC_BASE).href;
      if (!hasCss(href)) document.head.appendChild(el("link", { rel: "stylesheet", href: href }));
    });
    // The peer build of vis-timeline wants moment and vis-data as globals; its standalone
    // build would inject <style> elements, which a strict style-src forbids.
    // A global the host page already has (its own moment, say) is used, not replaced.
    var scripts = [
      ["vendor/moment/moment.min.js", function () { return window.moment; }],
      ["vendor/vis-data/vis-data.min.js", function () { return window.vis && window.vis.DataSet; }],
      ["vendor/vis-timeline/vis-timeline-graph2d.min.js", function () { return window.vis && window.vis.Timeline; }]
    ];
    (function next(i) {
      if (i >= scripts.length) { done(); return; }
      if (scripts[i][1]()) { next(i + 1); return; }
      var s = el("script", { src: new URL(scripts[i][0], STATIC_BASE).href });
      s.addEventListener("load", function () { next(i + 1); });
      document.head.appendChild(s);
    })(0);
  }

  function boot() {
    var roots = document.querySelectorAll("[data-timeline-widget]");
    if (!roots.length && SCRIPT && SCRIPT.parentNode && SCRIPT.parentNode !== document.head) {
      var made = el("div", { "data-timeline-widget": true });
      SCRIPT.parentNode.insertBefore(made, SCRIPT);
      roots = [made];
    }
    ensureAssets(function () {
      Array.prototype.forEach.call(roots, function (r) {
        if (r.getAttribute("data-tlw-ready")) return;
        r.setAttribute("data-tlw-ready", "1");
        r.tlwWidget = Widget(r);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
