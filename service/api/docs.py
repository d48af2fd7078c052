"""Human API docs: /docs (Redoc over /openapi.json, vendored) and the problem types.

``/problems`` lists every problem kind of :data:`service.errors.KINDS`; ``/problems/<kind>``
is the page a problem's ``type`` URI points to (title, status, meaning), so the URI in
every error body resolves. All of it is generated from ``KINDS``: nothing hand-kept.
"""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, url_for

from ..errors import KINDS, ApiError

bp = Blueprint("docs", __name__)

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{favicon}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<header class="docs-head"><strong>Timeline event API</strong>
<a href="{docs}">Reference</a> <a href="{problems}">Problem types</a>
<a href="{spec}">openapi.json</a> <a href="{widget}">Timeline</a></header>
"""


def _head(title: str) -> str:
    return _HEAD.format(
        title=escape(title),
        favicon=url_for("static", filename="favicon.svg"),
        css=url_for("static", filename="docs/docs.css"),
        docs=url_for("docs.docs"),
        problems=url_for("docs.problems"),
        spec=url_for("api-docs.openapi_json"),
        widget=url_for("meta.widget"),
    )


def _html(body: str) -> Response:
    return Response(body, mimetype="text/html")


def _problem_link(kind: str) -> str:
    return f'<a href="{url_for("docs.problem", kind=kind)}"><code>/problems/{kind}</code></a>'


def _code(text: str) -> str:
    """The Markdown-ish meanings in KINDS (`code`) as HTML."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


@bp.route("/docs")
def docs():
    """The API reference, rendered in the browser by the vendored Redoc from /openapi.json."""
    rows = "".join(f"<li>{_problem_link(k)} ({s}) {escape(t)}</li>" for k, (s, t, _m) in KINDS.items())
    body = (
        _head("Timeline event API — reference")
        + '<noscript><div class="problems"><p>The reference needs JavaScript; the description itself is '
        f'<a href="{url_for("api-docs.openapi_json")}">/openapi.json</a>.</p>'
        f"<h2>Problem types</h2><ul>{rows}</ul></div></noscript>\n"
        + f'<div id="redoc" data-spec-url="{url_for("api-docs.openapi_json")}"></div>\n'
        + f'<script src="{url_for("static", filename="vendor/redoc/redoc.standalone.js")}"></script>\n'
        + f'<script src="{url_for("static", filename="docs/docs.js")}"></script>\n</body>\n</html>\n'
    )
    return _html(body)


@bp.route("/problems")
def problems():
    """Every problem type: the URI, status, title and meaning."""
    rows = "".join(
        f'<tr id="{k}"><td>{_problem_link(k)}</td><td>{s}</td><td>{escape(t)}</td><td>{_code(m)}</td></tr>\n'
        for k, (s, t, m) in KINDS.items()
    )
    body = (
        _head("Timeline event API — problem types") + '<main class="problems"><h1>Problem types</h1>\n'
        "<p>Every error is an RFC 9457 <code>application/problem+json</code> document with "
        "<code>type</code> (one of the URIs below), <code>title</code> (stable per type), "
        "<code>status</code>, <code>detail</code> (specific to the request), <code>errors</code> "
        "(field or item index to messages) and <code>request_id</code>.</p>\n"
        "<table><thead><tr><th>type</th><th>status</th><th>title</th><th>meaning</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody></table></main>\n</body>\n</html>\n"
    )
    return _html(body)


@bp.route("/problems/<kind>")
def problem(kind: str):
    """The page a problem's ``type`` URI names."""
    if kind not in KINDS:
        raise ApiError("not-found", f"No problem type '{kind}'.")
    status, title, meaning = KINDS[kind]
    body = (
        _head(f"Problem: {title}") + f'<main class="problems"><h1>{escape(title)}</h1>\n'
        f"<p><code>type</code>: <code>/problems/{kind}</code> · <code>status</code>: {status}</p>\n"
        f"<p>{_code(meaning)}</p>\n"
        f'<p><a href="{url_for("docs.problems")}">All problem types</a> · '
        f'<a href="{url_for("docs.docs")}">API reference</a></p></main>\n</body>\n</html>\n'
    )
    return _html(body)
