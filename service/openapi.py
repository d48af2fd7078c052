"""The OpenAPI description, generated: flask-smorest builds it from the marshmallow schemas and
the ``@blp`` decorators; this module adds what follows from rules every operation shares.

:class:`HttpRulesPlugin` (an apispec plugin, so it runs on every operation as flask-smorest
registers it) adds, from what each operation itself declares:

* every operation: ``500`` (problem) and the ``X-Request-ID`` response header;
* ``GET``: the ``If-None-Match`` header, ``304`` and an optional ``ETag`` on ``200``;
* ``PUT``/``PATCH``/``DELETE``: the ``If-Match`` header and ``412``;
* an operation with ``security`` (the writes): ``401`` (with ``WWW-Authenticate``),
  ``403`` (scope, or a browser origin that may not write) and ``429`` (with ``Retry-After``);
* an operation with a request body: ``400`` (malformed JSON), ``413`` and ``415``;
* an operation with a ``format`` query parameter: every media type of
  :data:`service.formats.MEDIA_TYPES` on ``200``.

Every error response is ``application/problem+json`` with the ``Problem`` schema, its
``type`` limited to the problem kinds of :data:`service.errors.KINDS` that carry its status.
The problem kinds are also listed in ``info.description``, which /docs renders.
"""

from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields

from . import formats
from .errors import KINDS, PROBLEM_TYPE
from .schemas import SLUG_PATTERN, ProblemSchema
from .slugs import RESERVED_IDS

_HEADERS = {
    "X-Request-ID": {
        "description": "The request id (echoed when the client sent a valid one); it is in every log line.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The entity tag of this representation; send it back in If-None-Match or If-Match.",
        "schema": {"type": "string"},
    },
    "Location": {"description": "The URL of the resource.", "schema": {"type": "string"}},
    "Link": {"description": '`<...>; rel="next"` when there is a next page.', "schema": {"type": "string"}},
    "WWW-Authenticate": {
        "description": '`Bearer realm="timeline"` with an error code when a token was sent.',
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds until the token may write again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Allow": {"description": "The methods the path takes.", "schema": {"type": "string"}},
}


class TimelineJSSchema(Schema):
    """A TimelineJS3 document (`format=timelinejs`)."""

    title = fields.Dict(metadata={"description": "The title slide."})
    events = fields.List(fields.Dict(), required=True, metadata={"description": "TimelineJS slides."})


class VisItemSchema(Schema):
    """One vis-timeline item (`format=vis` is an array of them)."""

    id = fields.String(required=True)
    content = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String()
    type = fields.String(required=True, metadata={"enum": ["point", "range"]})
    title = fields.String()
    className = fields.String()
    group = fields.String()


def problem_kinds(status: int) -> list[str]:
    return [kind for kind, (st, _t, _m) in KINDS.items() if st == status]


def problem_markdown() -> str:
    """The problem types as a Markdown section (part of info.description, shown at /docs)."""
    lines = [
        "# Problem types",
        "",
        "Every error is an RFC 9457 `application/problem+json` document: `type` (one of the URIs "
        "below), `title` (stable per type), `status`, `detail` (specific to the request), "
        "`errors` (field or item index → messages) and `request_id`. Each type URI resolves "
        "to a page about it.",
        "",
        "| type | status | title | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for kind, (status, title, meaning) in KINDS.items():
        lines.append(f"| [`/problems/{kind}`](/problems/{kind}) | {status} | {title} | {meaning} |")
    return "\n".join(lines)


DESCRIPTION = """\
The public API of the timeline event service: events with EDTF dates in chronological order,
full-text search, histograms and facets, timelines, a change feed and bulk import. All paths
are under `/api/v1`; this description is generated from the schemas the service validates with.

# Authentication

Reads are public. Writes need `Authorization: Bearer <token>`; tokens are made with
`timeline tokens create NAME --scope read|write|admin` and stored only as hashes. No or an
unknown token is `401`; a token whose scope is too low is `403`.

# HTTP behaviour

* `GET` responses carry an `ETag` and answer `If-None-Match` with `304`; `PUT`, `PATCH` and
  `DELETE` honour `If-Match` (a stale tag is `412` and changes nothing).
* Reads may come from any origin (CORS). Browser writes are accepted only from the origins
  configured in `TIMELINE_WRITE_ORIGINS`; another `Origin` on a write is `403`.
* Writes per token are limited (`TIMELINE_WRITE_RATE_PER_MINUTE`); over the limit is `429` with
  `Retry-After`.
* Bodies over 1 MiB (imports: `TIMELINE_MAX_IMPORT_BYTES`) are `413`; a write without a JSON
  content type is `415`; malformed JSON is `400`; a body that breaks the rules is `422`.
* Large responses are gzip-compressed when the client accepts it.
* Every response carries `X-Request-ID`.

"""


def _problem_response(spec, status: int) -> str:
    """The name of the component response for a problem of ``status`` (registered once)."""
    name = f"Problem{status}"
    if name not in spec.components.responses:
        kinds = problem_kinds(status) or ["bad-request" if status < 500 else "internal"]
        description = " ".join(
            f"`/problems/{k}`: {KINDS[k][2]}" if k in KINDS else f"`/problems/{k}`" for k in kinds
        )
        headers = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
        if status == 401:
            headers["WWW-Authenticate"] = dict(_HEADERS["WWW-Authenticate"], required=True)
        if status == 429:
            headers["Retry-After"] = dict(_HEADERS["Retry-After"], required=True)
        if status == 405:
            headers["Allow"] = dict(_HEADERS["Allow"], required=True)
        schema = {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": [f"/problems/{k}" for k in kinds]},
                        "status": {"type": "integer", "enum": [status]},
                    },
                },
            ]
        }
        spec.components.response(
            name,
            {"description": description, "headers": headers, "content": {PROBLEM_TYPE: {"schema": schema}}},
        )
    return name


class HttpRulesPlugin(BasePlugin):
    """Adds the responses, headers and parameters that follow from shared HTTP rules."""

    def init_spec(self, spec):
        self.spec = spec
        for name, header in _HEADERS.items():
            spec.components.header(name, header)
        spec.components.schema("TimelineJS", schema=TimelineJSSchema)
        spec.components.schema("VisItem", schema=VisItemSchema)

    def _ref_problem(self, responses: dict, status: int) -> None:
        """Every error response is the shared problem response of its status (an operation's
        own description of it, when it gave one, is kept in front)."""
        key = str(status)
        current = responses.get(key)
        own = current.get("description") if isinstance(current, dict) else None
        name = _problem_response(self.spec, status)
        if own and own != http.HTTPStatus(status).phrase:
            shared = self.spec.components.responses[name]
            responses[key] = {**shared, "description": f"{own} {shared['description']}"}
            return
        responses[key] = {"$ref": f"#/components/responses/{_problem_response(self.spec, status)}"}

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        """Path parameters that name events and timelines are slugs."""
        for param in parameters or []:
            if (
                isinstance(param, dict)
                and param.get("in") == "path"
                and param.get("name") in ("event_id", "slug")
            ):
                param.setdefault("schema", {"type": "string"})["pattern"] = SLUG_PATTERN
                if param["name"] == "event_id":  # /events/histogram, /facets and /import are not events
                    param["schema"]["not"] = {"enum": sorted(RESERVED_IDS)}
                param.setdefault("description", "A slug: lower-case letters, digits and hyphens.")
        return None

    def schema_helper(self, name, definition, **kwargs):
        """A nullable nested schema: apispec writes ``anyOf: [{type: object, nullable}, $ref]``,
        whose first branch admits any object at all; state ``allOf: [$ref], nullable`` instead."""
        for prop in (definition or {}).get("properties", {}).values():
            branches = prop.get("anyOf") if isinstance(prop, dict) else None
            if (
                isinstance(branches, list)
                and len(branches) == 2
                and branches[0] == {"type": "object", "nullable": True}
                and "$ref" in branches[1]
            ):
                del prop["anyOf"]
                prop["allOf"] = [branches[1]]
                prop["nullable"] = True
        return None

    def _merge_patch_body(self, path: str, op: dict) -> None:
        """PATCH takes a JSON Merge Patch of what PUT takes: every property optional, and
        null (removing the field) allowed for the optional ones."""
        put = (self.spec._paths.get(path) or {}).get("put") or {}
        ref = (((put.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get(
            "schema"
        )
        if not (isinstance(ref, dict) and "$ref" in ref):
            return
        name = ref["$ref"].rsplit("/", 1)[-1]
        target = self.spec.components.schemas.get(name)
        if not target:
            return
        patch_name = f"{name}MergePatch"
        if patch_name not in self.spec.components.schemas:
            required = set(target.get("required", ()))
            props = {}
            for key, prop in target.get("properties", {}).items():
                if key in required or prop.get("readOnly"):
                    props[key] = prop
                elif "$ref" in prop:
                    props[key] = {"allOf": [prop], "nullable": True}
                else:
                    props[key] = {**prop, "nullable": True}
            self.spec.components.schema(
                patch_name,
                {
                    "type": "object",
                    "additionalProperties": target.get("additionalProperties", False),
                    "properties": props,
                    "description": f"A JSON Merge Patch (RFC 7396) of {name}: the fields to change; null removes an "
                    "optional field. Required fields cannot be removed.",
                },
            )
        schema = {"$ref": f"#/components/schemas/{patch_name}"}
        for content in op.get("requestBody", {}).get("content", {}).values():
            content["schema"] = schema

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, op in (operations or {}).items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            if method == "patch":
                self._merge_patch_body(path, op)
            responses = op.setdefault("responses", {})
            params = op.setdefault("parameters", [])
            # Errors that are problems: turn every documented one into the shared shape.
            for key in list(responses):
                if key != str(key):
                    responses[str(key)] = responses.pop(key)
                    key = str(key)
                if key.isdigit() and int(key) >= 400:
                    self._ref_problem(responses, int(key))
            self._ref_problem(responses, 500)
            if method == "get":
                params.append(
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "An ETag this client holds: `304` when it is still current.",
                    }
                )
                responses.setdefault(
                    "304",
                    {
                        "description": "Not modified: the ETag sent is current.",
                        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    },
                )
                if path and "{" in path:
                    self._ref_problem(responses, 404)
            if method in ("put", "patch", "delete"):
                params.append(
                    {
                        "name": "If-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Change only if the resource is still at this ETag; else `412`.",
                    }
                )
                self._ref_problem(responses, 412)
            if op.get("security"):
                for status in (401, 403, 429):
                    self._ref_problem(responses, status)
            if op.get("requestBody"):
                for status in (400, 413, 415, 422):
                    self._ref_problem(responses, status)
            if any(isinstance(p, dict) and p.get("in") == "query" for p in params):
                self._ref_problem(responses, 400)  # a bad query parameter
                self._ref_problem(responses, 414)  # a request target over 16 KiB
            if any(
                p.get("name") == "format" and p.get("in") == "query" for p in params if isinstance(p, dict)
            ):
                self._all_formats(responses)
            for key, response in responses.items():
                if not isinstance(response, dict) or "$ref" in response:
                    continue
                headers = response.setdefault("headers", {})
                headers.setdefault("X-Request-ID", {"$ref": "#/components/headers/X-Request-ID"})
                if method == "get" and key == "200":
                    headers.setdefault("ETag", {"$ref": "#/components/headers/ETag"})
                if key == "201":
                    headers.setdefault("Location", dict(_HEADERS["Location"], required=True))
                    headers.setdefault("ETag", {"$ref": "#/components/headers/ETag"})

    @staticmethod
    def _all_formats(responses: dict) -> None:
        ok = responses.get("200")
        if not ok or "content" not in ok:
            return
        page = ok["content"]["application/json"]["schema"]
        ok["headers"] = {"Link": {"$ref": "#/components/headers/Link"}}
        content = {}
        for fmt, media in formats.MEDIA_TYPES.items():
            media = media.split(";")[0]
            if media in content:
                continue
            if media == "application/json":
                schema = {
                    "anyOf": [
                        page,
                        {"$ref": "#/components/schemas/TimelineJS"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/VisItem"}},
                    ],
                    "description": "The page (`format=json`), a TimelineJS document "
                    "(`format=timelinejs`) or vis-timeline items (`format=vis`).",
                }
            elif media == "application/geo+json":
                schema = {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {"type": "array", "items": {"type": "object"}},
                    },
                    "description": "A GeoJSON FeatureCollection of the located events (`format=geojson`).",
                }
            else:
                schema = {"type": "string", "description": f"`format={fmt}`: every matching event."}
            content[media] = {"schema": schema}
        ok["content"] = content


class TimelineApi(Api):
    """flask-smorest's Api with problem+json errors and the HTTP rules plugin."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all `default`: every status an operation can answer is listed by the plugin.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app=None, **kwargs):
        spec_kwargs = kwargs.pop("spec_kwargs", {}) or {}
        spec_kwargs.setdefault("extra_plugins", [HttpRulesPlugin()])
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def _register_responses(self):
        """Default responses per status (used by @blp.arguments): problems, not JSON errors."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


def init_spec(api: Api) -> None:
    """Security scheme and the description that /docs renders (called by create_app)."""
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A token made with `timeline tokens create`; write scope for writes.",
        },
    )
    api.spec.options.setdefault("info", {})
    api.spec.options["info"]["description"] = DESCRIPTION + problem_markdown()
