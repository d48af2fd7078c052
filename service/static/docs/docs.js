// Renders /docs with the vendored Redoc (no inline script: the CSP allows only 'self').
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  window.Redoc.init(el.getAttribute("data-spec-url"), {
    disableSearch: true,          // its Web Worker would need a blob: script source
    hideDownloadButton: false,
    expandResponses: "200,201",
    jsonSampleExpandLevel: 2,
    pathInMiddlePanel: true,
    theme: { typography: { fontFamily: "system-ui, -apple-system, 'Segoe UI', sans-serif",
                           headings: { fontFamily: "system-ui, -apple-system, 'Segoe UI', sans-serif" },
                           code: { fontFamily: "ui-monospace, 'DejaVu Sans Mono', monospace" } } }
  }, el);
})();
