"""The hottest reads answered without Flask's per-request machinery.

``GET /api/v1/events`` (a plain date window, page size, sort or cursor) and
``GET /api/v1/events/{id}`` are most of a timeline's traffic: every widget pan and zoom
asks for one, and Flask's request context, routing, view wrappers, hooks and response
object cost more than the SQL of such a request. This WSGI layer sits inside
:class:`service.web.headers.Edge` (request id, common headers, access log) and in front
of Flask.

What it serves is not written here: a view opts in with :func:`fast_lane`, naming the
function that answers for it, and the lane finds those views through the app's own URL
map (static rules by path, a rule ending in one ``<string:...>`` argument by its prefix,
minus the static rules that win over it there). The answer function is the view's own
code on a plain WSGI environ; it returns None for anything it cannot answer exactly as
the view would, and the request then goes on to Flask untouched. So does every request
the lane cannot see the rules of: other methods, a script name, conditional or ranged
requests, gzip, a request line over the limit.

The lane skips Flask's before/after-request and teardown hooks, so each hook the app
registers must be accounted for in :data:`HOOKS` (what the lane does in its place); an
app with any other hook gets no lane (and, under ``TESTING``, an error), so a new hook
cannot silently go unapplied. Under ``TESTING`` an exception inside the lane is raised
instead of falling back to Flask. ``TIMELINE_FAST_LANE=0`` turns it off;
``tests/test_fastlane.py`` holds both paths to the same status, headers and body.
"""

from __future__ import annotations

import logging
import re

from werkzeug.routing.converters import UnicodeConverter

from ..errors import ApiError
from .headers import request_line_too_long

log = logging.getLogger("service")

#: Every hook the app may register (module.qualname, with ``blueprint:`` in front for a
#: blueprint's), and why a request the lane answers does not need it.
HOOKS = {
    "before_request service.web.headers.start_request": "Edge sets the request id; the lane declines a request line over the limit",
    "after_request service.web.headers.etag_and_conditional": "answers carry their ETag; conditional requests are declined",
    "before_request service.web.cors.preflight_and_write_origin": "preflights and writes only; the lane serves GET",
    "after_request service.web.cors.write_headers": "writes only; Edge adds the CORS headers of reads",
    "after_request service.web.compression.gzip_response": "a request that accepts gzip is declined",
}

# Request headers that make a response conditional or ranged: Flask answers.
_FLASK_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
)
_LAST_ARGUMENT = re.compile(r"<(?:string:)?(\w+)>")
_STRING_REGEX = UnicodeConverter(None).regex  # werkzeug's string converter without length options


def fast_lane(answer):
    """Mark a view the fast lane may serve, by ``answer(app, environ, *path_args)``.

    ``answer`` returns ``(headers, body)`` of the ``200`` the view would give, or None to
    leave the request to Flask; an :class:`ApiError` also leaves it to Flask, which words
    the problem. The mark goes directly under the route decorator."""

    def mark(view):
        view.fast_lane = answer
        return view

    return mark


def registered_hooks(app) -> set[str]:
    """Every request hook of ``app`` and of its blueprints, named as in :data:`HOOKS`."""
    kinds = {
        "before_request": app.before_request_funcs,
        "after_request": app.after_request_funcs,
        "teardown_request": app.teardown_request_funcs,
        "url_value_preprocessor": app.url_value_preprocessors,
    }
    names = {f"teardown_appcontext {f.__module__}.{f.__qualname__}" for f in app.teardown_appcontext_funcs}
    for kind, by_blueprint in kinds.items():
        for blueprint, funcs in by_blueprint.items():
            scope = f"{blueprint}:" if blueprint else ""
            names.update(f"{kind} {scope}{f.__module__}.{f.__qualname__}" for f in funcs)
    return names


def routes(app) -> tuple[dict, dict]:
    """The lane's routing, read from the URL map: ``{path: answer}`` for static rules, and
    ``{prefix: (answer, names that a static rule takes)}`` for a rule ending in one string
    argument. A marked view whose rule the lane cannot match exactly is a ValueError."""
    rules = list(app.url_map.iter_rules())
    static: dict[str, object] = {}
    dynamic: dict[str, tuple[object, frozenset[str]]] = {}
    if app.url_map.host_matching or app.config.get("SERVER_NAME"):
        return static, dynamic  # routing by host: Flask's alone
    for rule in rules:
        answer = getattr(app.view_functions.get(rule.endpoint), "fast_lane", None)
        if answer is None or "GET" not in rule.methods:
            continue
        if rule.host or rule.subdomain or rule.redirect_to or rule.defaults:
            raise ValueError(f"the fast lane cannot serve {rule.rule}")
        if not rule.arguments:
            static[rule.rule] = answer
            continue
        head, _, last = rule.rule.rpartition("/")
        name = _LAST_ARGUMENT.fullmatch(last)
        converter = rule._converters.get(name.group(1)) if name else None
        if "<" in head or converter is None or converter.regex != _STRING_REGEX:
            raise ValueError(f"the fast lane cannot serve {rule.rule}")
        taken = set()
        for other in rules:
            other_head, _, other_last = other.rule.rpartition("/")
            if other_head != head or other.rule == rule.rule:
                continue  # another level, or this path for other methods
            if other.arguments:
                raise ValueError(f"the fast lane cannot tell {rule.rule} from {other.rule}")
            taken.add(other_last)
        dynamic[head] = (answer, frozenset(taken))
    return static, dynamic


class FastLane:
    def __init__(self, flask_app, wsgi_app):
        self.flask_app = flask_app
        self.next = wsgi_app
        self.served = 0  # answered here (tests check that the lane is really taken)
        self._static: dict | None = None  # built at the first request, once every route is in
        self._dynamic: dict = {}
        self._strict = False

    def _build(self) -> None:
        app = self.flask_app
        self._strict = bool(app.config.get("TESTING"))
        unknown = registered_hooks(app) - set(HOOKS)
        if unknown:
            if self._strict:
                raise RuntimeError(f"the fast lane does not apply these hooks: {sorted(unknown)}")
            log.warning("fast lane off: it does not apply the hooks %s", sorted(unknown))
            self._static, self._dynamic = {}, {}
            return
        self._static, self._dynamic = routes(app)

    def _find(self, path: str):
        """(answer, path arguments) of the marked route ``path`` matches, or None."""
        answer = self._static.get(path)
        if answer is not None:
            return answer, ()
        head, _, last = path.rpartition("/")
        found = self._dynamic.get(head)
        if found is None or not last or last in found[1]:
            return None
        return found[0], (last,)

    def __call__(self, environ, start_response):
        if self._static is None:
            self._build()
        answer = None
        if environ.get("REQUEST_METHOD") == "GET" and not environ.get("SCRIPT_NAME"):
            route = self._find(environ.get("PATH_INFO", ""))
            if route is not None and self._eligible(environ):
                try:
                    answer = route[0](self.flask_app, environ, *route[1])
                except ApiError:
                    answer = None  # Flask words the problem
                except Exception:
                    if self._strict:
                        raise
                    log.exception("fast lane declined after an error")  # Flask answers, and logs it
                    answer = None
        if answer is None:
            return self.next(environ, start_response)
        self.served += 1
        headers, body = answer
        start_response("200 OK", headers)
        return [body]

    @staticmethod
    def _eligible(environ) -> bool:
        if any(name in environ for name in _FLASK_HEADERS):
            return False
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower():
            return False  # service.web.compression compresses
        return not request_line_too_long(environ)  # Flask answers 414
