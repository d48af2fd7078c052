/*
 * Timeline widget: draws the service's events on a zoomable, pannable vis-timeline and
 * loads only the visible window from the public API (/api/v1/events with from/to).
 *
 * It runs in two ways, with the same code:
 *   - on the service's own page (index.html), which keeps its state in the URL query;
 *   - embedded elsewhere by one <script src=".../static/app.js"> tag, which loads the
 *     vendored vis-timeline and the stylesheets next to itself and fills every element
 *     marked data-timeline-widget (or creates one where the script tag stands).
 * Every URL is resolved against this script's own URL, so a path prefix or another
 * origin works. No inline scripts, no eval, no inline styles: it runs under a strict CSP.
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
  var MAX_PAGES = 2;            // pages followed per cell: at most 1,000 events per cell
  var DENSITY_BUDGET = 400;     // events starting in one window we are willing to load
  var DRAW_LIMIT = 250;         // items vis-timeline stacks smoothly (about 1 ms each)
  var OVERVIEW_LIMIT = 3000;    // beyond this even at importance 5, draw counts instead
  var LIST_LIMIT = 300;         // rows in the accessible list
  var DEBOUNCE_MS = 250;
  var CACHE_CELLS = 80;

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
    var y = date.getUTCFullYear();
    return (y < 0 ? "-" : "") + pad(y, 4) + "-" + pad(date.getUTCMonth() + 1, 2) + "-" + pad(date.getUTCDate(), 2);
  }

  function yearLabel(y) { return y > 0 ? String(y) : (1 - y) + " BC"; }

  function formatRange(a, b) {
    var span = b - a;
    var opts = span > 3 * YEAR ? null : span > 60 * DAY ? { month: "short", year: "numeric" } : { day: "numeric", month: "short", year: "numeric" };
    function one(d) {
      if (!opts || d.getUTCFullYear() < 1) return yearLabel(d.getUTCFullYear());
      return d.toLocaleDateString("en-GB", Object.assign({ timeZone: "UTC" }, opts));
    }
    return one(a) + " – " + one(new Date(b - 1));
  }

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
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function isAbort(err) { return err && err.name === "AbortError"; }

  function getJSON(url, signal) {
    return fetch(url, { signal: signal, headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status + " for " + url); e.status = r.status; throw e; }
        return r.json();
      });
  }

  /* ---------- the widget ---------- */

  function Widget(root) {
    var vis = window.vis;
    var api = new URL("api/v1/", root.getAttribute("data-api") ? new URL(root.getAttribute("data-api"), document.baseURI) : ROOT);
    var syncUrl = root.getAttribute("data-url-state") === "query";
    var state = readInitialState(root, syncUrl);
    var ui = buildUi(root);
    var items = new vis.DataSet();
    var cache = new Map();          // cell key -> {items, truncated}
    var inflight = new Map();       // cell key -> {promise, controller}
    var histograms = new Map();     // filter key + level -> Promise(buckets|null)
    var floors = new Map();         // filter key + cell size -> lowest level not truncated
    var bounds = new WeakMap();     // event -> [start ms, end ms], parsed once per event
    var generation = 0;
    var current = [];               // events of the loaded cells, chronological
    var mode = "events";
    var lastFocus = null;
    var detailController = null;

    var timeline = new vis.Timeline(ui.canvas, items, {
      height: "100%",
      stack: true,
      showCurrentTime: false,
      selectable: true,
      zoomKey: "ctrlKey",                       // wheel scrolls the host page; Ctrl+wheel zooms
      zoomMin: 7 * DAY,
      zoomMax: 6000 * YEAR,
      min: makeDate(-9999, 1, 1),
      max: makeDate(9999, 12, 31),
      orientation: { axis: "top", item: "top" },
      margin: { item: { horizontal: 6, vertical: 6 }, axis: 8 },
      locale: "en",
      moment: function (d) { return (vis.moment || window.moment)(d).utc(); },
      format: { minorLabels: minorLabel, majorLabels: majorLabel },
      template: itemTemplate,
      tooltip: { followMouse: false, overflowMethod: "cap" },
      xss: { disabled: false }
    });

    var scheduleLoad = debounce(load, DEBOUNCE_MS);
    var ready = false;              // vis reports its default window before start() sets ours
    timeline.on("rangechanged", function () { if (ready) scheduleLoad(); });
    timeline.on("select", function (props) {
      if (props.items && props.items.length) openDetail(String(props.items[0]), null);
    });
    wireControls();

    start();
    return { timeline: timeline, reload: load };

    /* --- start-up: filters, facets, initial window --- */

    function start() {
      ready = true;
      ui.q.value = state.q;
      loadFacets();
      if (state.from && state.to) {
        timeline.setWindow(state.from, state.to, { animation: false });
        load();
      } else {
        fitToData(false);
      }
      if (state.id) openDetail(state.id, null, !(state.from && state.to));
    }

    function filterParams(u) {
      if (state.q) u.searchParams.set("q", state.q);
      state.tags.forEach(function (t) { u.searchParams.append("tag", t); });
      state.actors.forEach(function (a) { u.searchParams.append("actor", a); });
      return u;
    }

    function filterKey() { return JSON.stringify([state.q, state.tags, state.actors]); }

    function fitToData(animate) {
      extent().then(function (ext) {
        if (!ext) { setStatus("No events match.", "empty"); return; }
        var pad = Math.max((ext[1] - ext[0]) * 0.04, 15 * DAY);
        timeline.setWindow(new Date(ext[0] - pad), new Date(+ext[1] + pad), { animation: animate });
        load();
      }).catch(function (err) { if (!isAbort(err)) showError(err); });
    }

    // The data's extent: from the year histogram, else the first and the last event.
    function extent() {
      return histogram(1).then(function (h) {
        if (h && h.length) return [parseDay(h[0].start), parseAfter(h[h.length - 1].end)];
        var first = filterParams(new URL("events?limit=1", api));
        var last = filterParams(new URL("events?limit=1&sort=-date", api));
        return Promise.all([getJSON(first), getJSON(last)]).then(function (r) {
          var a = r[0].items[0], b = r[1].items[0];
          if (!a || !b) return null;
          var lo = parseDay(a.start || a.end), hi = b.end ? parseAfter(b.end) : parseAfter(b.start);
          return lo && hi ? [lo, hi] : null;
        });
      });
    }

    // Year histogram of the current filters at one importance level; null if unavailable.
    function histogram(level) {
      var k = filterKey() + "|" + level;
      if (!histograms.has(k)) {
        var u = filterParams(new URL("events/histogram?interval=year", api));
        if (level > 1) u.searchParams.set("min_importance", level);
        histograms.set(k, getJSON(u).then(function (b) { return b.buckets || []; }, function () { return null; }));
      }
      return histograms.get(k);
    }

    function countIn(buckets, from, to) {
      var n = 0;
      buckets.forEach(function (b) {
        var s = parseDay(b.start), e = parseAfter(b.end);
        if (!s || !e || e <= from || s >= to) return;
        var overlap = (Math.min(e, to) - Math.max(s, from)) / (e - s);   // assume even spread in a bucket
        n += b.count * overlap;
      });
      return n;
    }

    /*
     * Importance rule (what shows when zoomed out):
     *   min_importance is the lowest level (1..5) at which the window holds at most
     *   DENSITY_BUDGET events according to the year histogram, so sparse data always
     *   shows everything and dense data sheds its least important events first.
     *   Without a histogram (endpoint missing) the width rule applies: a window wider
     *   than 50 years asks for importance >= 4, wider than 5 years >= 3, else all (1).
     * Resolves to {level, overview}: overview is true when even level 5 is too dense to
     * draw, and the window then shows counts per period instead of events.
     */
    function chooseLevel(from, to) {
      var years = (to - from) / YEAR;
      var fallback = years > 50 ? 4 : years > 5 ? 3 : 1;
      function tryLevel(level) {
        return histogram(level).then(function (h) {
          if (!h) return { level: fallback, overview: false };
          var n = countIn(h, from, to);
          if (n <= DENSITY_BUDGET) return { level: level, overview: false };
          if (level === 5) return { level: 5, overview: n > OVERVIEW_LIMIT };
          return tryLevel(level + 1);
        });
      }
      return tryLevel(1);
    }

    /* --- windowed loading: cells, cache, abort --- */

    // The timeline is cut into aligned cells one to two windows wide, so a pan within the
    // neighbourhood reuses cached cells and a request names a stable from/to.
    function cellsFor(from, to) {
      var spanDays = Math.max(1, Math.ceil((to - from) / DAY));
      var unit = 8;
      while (unit < spanDays) unit *= 2;
      var first = Math.floor(from / DAY / unit), last = Math.floor((to - 1) / DAY / unit);
      var out = [];
      for (var k = first; k <= last; k++) out.push({ unit: unit, k: k, from: new Date(k * unit * DAY), to: new Date((k + 1) * unit * DAY) });
      return out;
    }

    function load() {
      var w = timeline.getWindow();
      var gen = ++generation;
      writeUrl();
      setBusy(true);
      chooseLevel(w.start, w.end).then(function (choice) {
        if (gen !== generation) return;
        if (choice.overview) { setBusy(false); showOverview(w.start, w.end); return; }
        var cells = cellsFor(w.start, w.end);
        var floorKey = filterKey() + "|" + cells[0].unit;
        if ((floors.get(floorKey) || 1) > choice.level) choice.level = floors.get(floorKey);
        var keys = cells.map(function (c) { return filterKey() + "|" + choice.level + "|" + c.unit + "|" + c.k; });
        inflight.forEach(function (f, key) {      // abort what the new window no longer needs
          if (keys.indexOf(key) < 0) { f.controller.abort(); inflight.delete(key); }
        });
        Promise.all(cells.map(function (c, i) { return fetchCell(keys[i], c, choice.level); }))
          .then(function (results) {
            if (gen !== generation) return;
            // A cell too full to load whole at this level (long events the histogram's
            // starts do not show): ask again one level up, and remember it for this zoom.
            if (choice.level < 5 && results.some(function (r) { return r.truncated; })) {
              floors.set(floorKey, choice.level + 1);
              load();
              return;
            }
            setBusy(false);
            apply(results, cells[0].from, cells[cells.length - 1].to, choice.level);
          })
          .catch(function (err) {
            if (isAbort(err) || gen !== generation) return;
            setBusy(false);
            showError(err);
          });
      });
    }

    function fetchCell(key, cell, level) {
      if (cache.has(key)) {
        var hit = cache.get(key);
        cache.delete(key); cache.set(key, hit);   // keep recently used cells last
        return Promise.resolve(hit);
      }
      if (inflight.has(key)) return inflight.get(key).promise;
      var controller = new AbortController();
      var u = filterParams(new URL("events", api));
      u.searchParams.set("from", formatDay(cell.from));
      u.searchParams.set("to", formatDay(new Date(cell.to - DAY)));
      u.searchParams.set("limit", PAGE_LIMIT);
      if (level > 1) u.searchParams.set("min_importance", level);
      var got = [];
      function page(url, n) {
        return getJSON(url, controller.signal).then(function (body) {
          got = got.concat(body.items || []);
          if (body.next && n < MAX_PAGES) {
            var nu = new URL(u); nu.searchParams.set("cursor", body.next);
            return page(nu, n + 1);
          }
          return { items: got, truncated: !!body.next };
        });
      }
      var promise = page(u, 1).then(function (res) {
        inflight.delete(key);
        cache.set(key, res);
        while (cache.size > CACHE_CELLS) cache.delete(cache.keys().next().value);
        return res;
      }, function (err) { inflight.delete(key); throw err; });
      inflight.set(key, { promise: promise, controller: controller });
      return promise;
    }

    function apply(results, lo, hi, level) {
      var seen = new Map();
      var truncated = false;
      results.forEach(function (r) {
        truncated = truncated || r.truncated;
        r.items.forEach(function (e) { seen.set(e.id, e); });
      });
      current = Array.from(seen.values()).sort(chronological);
      // Long events overlap every window, so a window can hold far more than the histogram
      // (which counts starts) predicted. Draw at most DRAW_LIMIT: the most important first,
      // and of equal importance the shorter, which fit the zoom. The list keeps them all.
      var drawn = current;
      if (current.length > DRAW_LIMIT) {
        drawn = current.slice().sort(function (a, b) {
          return (b.importance || 3) - (a.importance || 3) || span(a) - span(b) || chronological(a, b);
        }).slice(0, DRAW_LIMIT);
      }
      var next = drawn.map(function (e) { return toItem(e, lo, hi); });
      var keep = new Set(next.map(function (i) { return i.id; }));
      if (mode !== "events") { items.clear(); mode = "events"; }
      items.remove(items.getIds().filter(function (id) { return !keep.has(id); }));
      items.update(next);
      if (state.id && keep.has(state.id)) timeline.setSelection([state.id]);
      renderList(level, truncated, null, drawn.length < current.length ? drawn.length : 0);
    }

    function startMs(e) { return boundsOf(e)[0]; }
    function endMs(e) { return boundsOf(e)[1]; }
    function boundsOf(e) {
      var b = bounds.get(e);
      if (!b) bounds.set(e, b = [e.start ? +parseDay(e.start) : -Infinity, e.end ? +parseDay(e.end) : Infinity]);
      return b;
    }
    function span(e) { return endMs(e) - startMs(e); }

    // The contract's order: start, then end, then id; an open start first, an open end last.
    function chronological(a, b) {
      var as = startMs(a), bs = startMs(b);
      if (as !== bs) return as < bs ? -1 : 1;
      var ae = endMs(a), be = endMs(b);
      if (ae !== be) return ae < be ? -1 : 1;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    }

    function toItem(e, lo, hi) {
      var start = e.start ? parseDay(e.start) : lo;
      var end = e.end ? new Date(+parseDay(e.end) + DAY) : hi;   // vis ends are exclusive
      if (end <= start) end = new Date(+start + DAY);
      var point = !!(e.start && e.end && e.start === e.end);
      var cls = ["tlw-item", "tlw-p-" + (e.precision || "day"), "tlw-imp-" + (e.importance || 3)];
      if (e.approximate) cls.push("tlw-approx");
      if (e.uncertain) cls.push("tlw-uncertain");
      if (!e.start) cls.push("tlw-open-start");
      if (!e.end) cls.push("tlw-open-end");
      return {
        id: e.id, start: start, end: point ? undefined : end, type: point ? "point" : "range",
        className: cls.join(" "), ev: e,
        title: (e.display_date ? e.display_date + ": " : "") + e.title   // vis escapes it (xss filter)
      };
    }

    function itemTemplate(item) {
      var e = item && item.ev;
      if (!e) return el("span", { class: "tlw-bin-label", text: item && item.label ? item.label : "" });
      return el("span", { class: "tlw-label", "data-id": e.id }, [
        el("span", { class: "tlw-label-date", text: e.display_date || "" }),
        " ",
        el("span", { class: "tlw-label-title", text: e.title }),
        e.uncertain ? el("span", { class: "tlw-q", title: "uncertain", "aria-label": "uncertain", text: "?" }) : null
      ]);
    }

    // Too many events even at importance 5: bars of counts per period from the histogram.
    function showOverview(from, to) {
      histogram(5).then(function (h) {
        var span = to - from, bins = 48, width = span / bins, counts = [];
        for (var i = 0; i < bins; i++) counts.push(countIn(h || [], new Date(+from + i * width), new Date(+from + (i + 1) * width)));
        var max = Math.max.apply(null, counts.concat([1]));
        items.clear();
        mode = "overview";
        items.add(counts.map(function (n, i) {
          return {
            id: "bin-" + i, type: "background", start: new Date(+from + i * width), end: new Date(+from + (i + 1) * width),
            className: "tlw-bin tlw-bin-" + Math.ceil(n / max * 5), label: ""
          };
        }));
        current = [];
        var total = Math.round(counts.reduce(function (a, b) { return a + b; }, 0));
        renderList(5, false, "Too many events to draw at this zoom (about " + total.toLocaleString("en") + " of importance 5). Zoom in to see them; darker bands hold more events.");
      });
    }

    /* --- the accessible list of visible events --- */

    function renderList(level, truncated, message, drawnOnly) {
      var w = timeline.getWindow();
      var visible = current.filter(function (e) { return startMs(e) < w.end && endMs(e) + DAY > w.start; });
      var frag = document.createDocumentFragment();
      visible.slice(0, LIST_LIMIT).forEach(function (e) {
        var flags = [];
        if (e.approximate) flags.push(el("span", { class: "tlw-flag tlw-flag-approx", text: "approximate" }));
        if (e.uncertain) flags.push(el("span", { class: "tlw-flag tlw-flag-uncertain", text: "uncertain" }));
        var btn = el("button", { type: "button", class: "tlw-row", "data-id": e.id, "aria-current": e.id === state.id ? "true" : null }, [
          el("span", { class: "tlw-row-date", text: e.display_date || "" }),
          el("span", { class: "tlw-row-title", text: e.title }),
          el("span", { class: "tlw-row-meta" }, [el("span", { class: "tlw-chip tlw-chip-" + e.precision, text: e.precision })].concat(flags))
        ]);
        frag.appendChild(el("li", { class: "tlw-imp-" + (e.importance || 3), "data-id": e.id }, [btn]));
      });
      ui.list.replaceChildren(frag);
      var range = formatRange(w.start, w.end);
      var parts = [];
      if (message) parts.push(message);
      else {
        parts.push(visible.length === 1 ? "1 event" : visible.length.toLocaleString("en") + " events");
        if (level > 1) parts.push("importance " + level + " and up (zoom in for more)");
        if (drawnOnly && visible.length > drawnOnly) parts.push("the timeline draws the " + drawnOnly + " most important");
        if (truncated) parts.push("some left out: zoom in to see all");
        if (visible.length > LIST_LIMIT) parts.push("list shows the first " + LIST_LIMIT);
      }
      ui.range.textContent = range;
      setStatus(parts.join(" · "), visible.length || message ? "ok" : "empty");
      ui.root.setAttribute("data-min-importance", level);
    }

    /* --- detail panel --- */

    function openDetail(id, opener, centre) {
      state.id = id;
      writeUrl();
      lastFocus = opener || document.activeElement;
      markCurrent();
      if (detailController) detailController.abort();
      detailController = new AbortController();
      var local = current.filter(function (e) { return e.id === id; })[0];
      if (local) renderDetail(local);
      else { ui.detailBody.replaceChildren(el("p", { class: "tlw-muted", text: "Loading…" })); showPanel(); }
      getJSON(new URL("events/" + encodeURIComponent(id), api), detailController.signal).then(function (e) {
        if (state.id !== id) return;
        renderDetail(e);
        if (centre && e.start) {
          var s = parseDay(e.start), en = e.end ? new Date(+parseDay(e.end) + DAY) : new Date(+s + DAY);
          var pad = Math.max((en - s) * 2, 60 * DAY);
          timeline.setWindow(new Date(+s - pad), new Date(+en + pad), { animation: false });
          scheduleLoad();
        }
      }).catch(function (err) {
        if (isAbort(err)) return;
        ui.detailBody.replaceChildren(el("p", { class: "tlw-error", text: err.status === 404 ? "This event no longer exists." : "Could not load this event." }));
      });
    }

    function renderDetail(e) {
      var body = [];
      body.push(el("p", { class: "tlw-detail-date" }, [
        e.display_date || "",
        e.approximate ? el("span", { class: "tlw-flag tlw-flag-approx", text: "approximate" }) : null,
        e.uncertain ? el("span", { class: "tlw-flag tlw-flag-uncertain", text: "uncertain" }) : null
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
      facts.append(el("dt", { text: "Precision" }), el("dd", { text: e.precision + (e.importance ? " · importance " + e.importance : "") }));
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
      showPanel();
    }

    function showPanel() {
      var wasOpen = !ui.detail.hidden;
      ui.detail.hidden = false;
      ui.root.classList.add("tlw-has-detail");
      if (!wasOpen) timeline.redraw();
      var h = document.getElementById(ui.ids.detailTitle);
      (h || ui.close).focus({ preventScroll: wasOpen });
    }

    function closeDetail() {
      if (ui.detail.hidden) return;
      ui.detail.hidden = true;
      ui.root.classList.remove("tlw-has-detail");
      state.id = null;
      if (detailController) detailController.abort();
      timeline.setSelection([]);
      timeline.redraw();
      markCurrent();
      writeUrl();
      var back = lastFocus && document.contains(lastFocus) ? lastFocus : ui.canvasWrap;
      back.focus();
    }

    function markCurrent() {
      Array.prototype.forEach.call(ui.list.querySelectorAll(".tlw-row"), function (b) {
        if (b.getAttribute("data-id") === state.id) b.setAttribute("aria-current", "true");
        else b.removeAttribute("aria-current");
      });
    }

    /* --- controls, keyboard, filters --- */

    function wireControls() {
      ui.earlier.addEventListener("click", function () { pan(-0.5); });
      ui.later.addEventListener("click", function () { pan(0.5); });
      ui.zoomIn.addEventListener("click", function () { timeline.zoomIn(0.5); });
      ui.zoomOut.addEventListener("click", function () { timeline.zoomOut(0.5); });
      ui.fit.addEventListener("click", function () { fitToData(true); });
      ui.close.addEventListener("click", closeDetail);
      ui.list.addEventListener("click", function (ev) {
        var b = ev.target.closest(".tlw-row");
        if (!b) return;
        var id = b.getAttribute("data-id");
        timeline.setSelection([id]);
        openDetail(id, b);
      });
      ui.canvasWrap.addEventListener("keydown", function (ev) {
        if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
        var k = ev.key;
        if (k === "ArrowLeft") pan(-0.2);
        else if (k === "ArrowRight") pan(0.2);
        else if (k === "+" || k === "=") timeline.zoomIn(0.4);
        else if (k === "-" || k === "_") timeline.zoomOut(0.4);
        else if (k === "Home" || k === "0") fitToData(true);
        else return;
        ev.preventDefault();
      });
      root.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && !ui.detail.hidden) { ev.preventDefault(); closeDetail(); }
      });
      ui.form.addEventListener("submit", function (ev) { ev.preventDefault(); applyFilters(); });
      ui.q.addEventListener("input", debounce(function () { if (ui.q.value.trim() !== state.q) applyFilters(); }, 500));
      ui.q.addEventListener("search", function () { if (!ui.q.value) applyFilters(); });
      ui.tag.addEventListener("change", applyFilters);
      ui.actor.addEventListener("change", applyFilters);
    }

    function pan(fraction) {
      var w = timeline.getWindow(), d = (w.end - w.start) * fraction;
      timeline.setWindow(new Date(+w.start + d), new Date(+w.end + d), { animation: { duration: 200, easingFunction: "easeInOutQuad" } });
    }

    function applyFilters() {
      state.q = ui.q.value.trim();
      state.tags = ui.tag.value ? [ui.tag.value] : [];
      state.actors = ui.actor.value ? [ui.actor.value] : [];
      load();
    }

    function loadFacets() {
      var u = new URL("events/facets?facet=tags&facet=actors&size=50", api);
      getJSON(u).then(function (f) {
        fillSelect(ui.tag, f.tags || [], state.tags[0], "All tags");
        fillSelect(ui.actor, f.actors || [], state.actors[0], "All actors");
      }).catch(function () {
        fillSelect(ui.tag, [], state.tags[0], "All tags");
        fillSelect(ui.actor, [], state.actors[0], "All actors");
      });
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

    function setBusy(on) { ui.root.classList.toggle("tlw-busy", on); ui.canvasWrap.setAttribute("aria-busy", on ? "true" : "false"); }

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
      ["from", "to", "q", "tag", "actor", "id"].forEach(function (k) { u.searchParams.delete(k); });
      u.searchParams.set("from", formatDay(w.start));
      u.searchParams.set("to", formatDay(new Date(w.end - 1)));
      if (state.q) u.searchParams.set("q", state.q);
      state.tags.forEach(function (t) { u.searchParams.append("tag", t); });
      state.actors.forEach(function (a) { u.searchParams.append("actor", a); });
      if (state.id) u.searchParams.set("id", state.id);
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
    return { from: from, to: to, q: one("q").trim(), tags: many("tag"), actors: many("actor"), id: one("id") || null };
  }

  var uid = 0;

  function buildUi(root) {
    var n = ++uid, ids = { detailTitle: "tlw-detail-title-" + n, list: "tlw-list-" + n, help: "tlw-help-" + n, q: "tlw-q-" + n, tag: "tlw-tag-" + n, actor: "tlw-actor-" + n };
    function button(cls, label, text) { return el("button", { type: "button", class: "tlw-btn " + cls, "aria-label": label, title: label, text: text }); }
    var ui = { root: root, ids: ids };
    ui.q = el("input", { type: "search", id: ids.q, name: "q", class: "tlw-input", placeholder: "Search events", autocomplete: "off", enterkeyhint: "search" });
    ui.tag = el("select", { id: ids.tag, name: "tag", class: "tlw-select" }, [el("option", { value: "", text: "All tags" })]);
    ui.actor = el("select", { id: ids.actor, name: "actor", class: "tlw-select" }, [el("option", { value: "", text: "All actors" })]);
    ui.form = el("form", { class: "tlw-filters", role: "search" }, [
      el("label", { class: "tlw-field tlw-field-q" }, [el("span", { class: "tlw-sr", text: "Search" }), ui.q]),
      el("label", { class: "tlw-field" }, [el("span", { class: "tlw-sr", text: "Tag" }), ui.tag]),
      el("label", { class: "tlw-field" }, [el("span", { class: "tlw-sr", text: "Actor" }), ui.actor]),
      el("button", { type: "submit", class: "tlw-btn tlw-btn-primary", text: "Search" })
    ]);
    ui.earlier = button("tlw-earlier", "Earlier", "◀");
    ui.later = button("tlw-later", "Later", "▶");
    ui.zoomOut = button("tlw-zoom-out", "Zoom out", "−");
    ui.zoomIn = button("tlw-zoom-in", "Zoom in", "+");
    ui.fit = button("tlw-fit", "Show all events", "Fit");
    ui.range = el("span", { class: "tlw-range", "aria-hidden": "true" });
    ui.status = el("p", { class: "tlw-status", role: "status", "aria-live": "polite", text: "Loading…" });
    ui.canvas = el("div", { class: "tlw-canvas" });
    ui.canvasWrap = el("div", {
      class: "tlw-canvas-wrap", tabindex: "0", role: "region", "aria-roledescription": "timeline",
      "aria-label": "Timeline", "aria-describedby": ids.help
    }, [ui.canvas, el("div", { class: "tlw-spinner", "aria-hidden": "true" })]);
    ui.list = el("ol", { class: "tlw-list", id: ids.list });
    ui.close = el("button", { type: "button", class: "tlw-btn tlw-close", "aria-label": "Close details", title: "Close (Esc)", text: "×" });
    ui.detailBody = el("div", { class: "tlw-detail-body" });
    ui.detail = el("aside", { class: "tlw-detail", "aria-labelledby": ids.detailTitle, hidden: true }, [ui.close, ui.detailBody]);
    var title = root.getAttribute("data-title");
    root.classList.add("tlw");
    root.replaceChildren(
      el("header", { class: "tlw-header" }, [
        title ? el("h1", { class: "tlw-title", text: title }) : null,
        ui.form
      ]),
      el("div", { class: "tlw-toolbar" }, [
        el("div", { class: "tlw-nav", role: "group", "aria-label": "Move and zoom" }, [ui.earlier, ui.later, ui.zoomOut, ui.zoomIn, ui.fit]),
        ui.range,
        el("p", { class: "tlw-legend", "aria-hidden": "true" }, [
          el("span", { class: "tlw-key tlw-key-day", text: "day" }),
          el("span", { class: "tlw-key tlw-key-month", text: "month" }),
          el("span", { class: "tlw-key tlw-key-year", text: "year" }),
          el("span", { class: "tlw-key tlw-key-decade", text: "decade" }),
          el("span", { class: "tlw-key tlw-key-approx", text: "c. approximate" }),
          el("span", { class: "tlw-key tlw-key-uncertain", text: "? uncertain" })
        ])
      ]),
      el("p", { class: "tlw-sr", id: ids.help, text: "Arrow keys pan, plus and minus zoom, Home fits all events. The list below names the events in view." }),
      el("div", { class: "tlw-body" }, [
        el("div", { class: "tlw-main" }, [
          ui.canvasWrap,
          ui.status,
          el("h2", { class: "tlw-list-h", id: ids.list + "-h", text: "Events in view" }),
          ui.list
        ]),
        ui.detail
      ])
    );
    ui.list.setAttribute("aria-labelledby", ids.list + "-h");
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
