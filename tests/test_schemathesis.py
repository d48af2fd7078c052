"""Schemathesis against the running app over HTTP: every operation, reads and authenticated
writes, positive and negative data, every single-call check. A failure is a bug in the
service or in its description -- fix that, never the check.

Two deliberate settings, both narrower than switching anything off:

* ``412`` counts as a legitimate answer to schema-valid (and to schema-invalid) data, like the
  ``404``/``409`` schemathesis already accepts: it depends on stored state (the generated
  ``If-Match`` names a version that does not exist), and RFC 9110 lets preconditions be
  evaluated before the body is read.
* A schema-valid request may be refused with ``400``/``422`` only for a rule JSON Schema
  cannot state (an EDTF date that is not a calendar date, ``from`` after ``to``, a timeline
  that does not exist, a cursor the service did not issue, ...). :func:`semantic_rejection`
  accepts exactly those messages and sends everything else to schemathesis's own
  ``positive_data_acceptance``.
"""

from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis
from factories import make_token
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from service import create_app, ingest
from service import store as store_module

pytestmark = pytest.mark.slow  # property-heavy: thousands of generated requests

WRITE = "tl_schemathesis-write-token-0123456789abcdefABCDEF"

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", 60))
# SCHEMATHESIS_SEED=random explores new examples (CI runs the fixed, reproducible set)
DERANDOMIZE = os.environ.get("SCHEMATHESIS_SEED") != "random"

# The rules a JSON Schema cannot state; a positive example may break them (messages as the
# service words them).
SEMANTIC_RULES = (
    "Not a valid EDTF",  # calendar validity, interval order: the pattern is an approximation
    "is after 'to'",  # from <= to
    "Longitudes must lie",  # bbox ranges and min_lat <= max_lat
    "not a cursor issued by this service",
    "issued for a different",  # a cursor of another query or sort
    "sort=relevance needs a q",
    "is a reserved word",  # histogram, facets, import
    "does not exist",
    "No timeline",
    "unknown timeline",
    "Unknown timeline",  # referenced timelines
    "lat and lon come together",
    "needs at least",  # a location with nothing in it
    "names at least a url or a title",
    "Must be an absolute http",  # URLs beyond the pattern
    "differs from the path",
    "duplicate",
    "repeated",  # the same id twice in one import batch
    "Shorter than minimum length",
    "Length must be between",  # lengths count after trimming
)


def _messages(errors) -> list[str]:
    if isinstance(errors, dict):
        return [m for v in errors.values() for m in _messages(v)]
    if isinstance(errors, list):
        return [m for v in errors for m in _messages(v)]
    return [str(errors)]


def semantic_rejection(ctx, response, case):
    """positive_data_acceptance, except refusals that name only rules JSON Schema cannot state."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and response.status_code in (400, 422):
        try:
            body = response.json()
        except ValueError:
            body = {}
        messages = _messages(body.get("errors") or {}) or [body.get("detail") or ""]
        if all(any(rule.lower() in m.lower() for rule in SEMANTIC_RULES) for m in messages):
            return None
    return positive_data_acceptance(ctx, response, case)


semantic_rejection.__name__ = "positive_data_acceptance"

_STATE: dict = {}


def _server():
    """One seeded app on a fresh temp database with a write token, called in-process (WSGI).

    In-process rather than over a socket so that every generated URL reaches the app:
    Python's HTTP server refuses request lines over 64 KiB before the app sees them, and
    the app itself answers a target over 16 KiB with a documented 414 problem.
    """
    if "app" not in _STATE:
        directory = tempfile.mkdtemp(prefix="schemathesis-")
        # no rate limit here: thousands of generated writes a minute are the point
        app = create_app(
            {"TESTING": True, "DATABASE": f"{directory}/timeline.db", "WRITE_RATE_PER_MINUTE": 0}
        )
        with app.app_context():
            ingest.load_seed_dir(app)
        make_token(app, "schemathesis", token=WRITE)
        config = SchemathesisConfig.from_dict(
            {
                "auth": {"openapi": {"bearerAuth": {"bearer": WRITE}}},
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 412, 429]
                    },
                    "negative_data_rejection": {
                        "expected-statuses": [
                            400,
                            401,
                            403,
                            404,
                            405,
                            406,
                            409,
                            412,
                            413,
                            414,
                            415,
                            422,
                            428,
                            429,
                        ]
                    },
                },
            }
        )
        _STATE.update(app=app, schema=schemathesis.openapi.from_wsgi("/openapi.json", app, config=config))
    return _STATE["app"], _STATE["schema"]


def _checks():
    from schemathesis.checks import CHECKS

    # Every check schemathesis has for single calls. Left out, with reason:
    # ensure_resource_availability / use_after_free / object_level_authorization need
    # stateful links between operations (the description declares none); ignored_auth sends
    # requests without the token and needs them to fail -- reads are public by design, and
    # the writes' 401 is tested in tests/test_write_api.py and tests/test_hostile.py.
    stateful = {
        "ensure_resource_availability",
        "use_after_free",
        "object_level_authorization",
        "ignored_auth",
    }
    checks = [
        c for c in CHECKS.get_all() if c.__name__ not in stateful and c.__name__ != "positive_data_acceptance"
    ]
    return checks + [semantic_rejection]


OPERATIONS = [result.ok() for result in _server()[1].get_all_operations()]

# The authenticated writes must be accepted too (the token is used), not only refused well:
# each operation that writes events adds at least this many changes to the feed with its
# schema-valid examples (measured with 60 derandomized examples, alone and after the other
# operations: 21-22, 8 and 3), together more than 20.
FEED_GROWTH = {
    "POST /api/v1/events": 15,
    "PUT /api/v1/events/{event_id}": 4,
    "POST /api/v1/events/import": 2,
}


def _feed_length(app) -> int:
    return len(store_module.connect(app.config["DATABASE"]).changes(0, 100000))


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_every_operation_keeps_its_description(operation, mode):
    checks = _checks()
    # The WSGI client does not undo Content-Encoding, so ask for none (gzip is tested in
    # tests/test_http_hygiene.py).
    # The token comes from the config's bearerAuth, so negative cases can leave it out.
    headers = {"Accept-Encoding": "identity"}

    strategy = operation.as_strategy(generation_mode=mode)
    if operation.label == "GET /api/v1/events/{event_id}":
        # GET /events/histogram and /events/facets are other, concrete paths of the
        # description, which OpenAPI matches before the template: not a GET of an event.
        strategy = strategy.filter(
            lambda c: (c.path_parameters or {}).get("event_id") not in ("histogram", "facets")
        )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=checks)

    app = _server()[0]
    before = _feed_length(app)
    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            pytest.skip("nothing in this operation's description can be made invalid")
        raise
    if mode is GenerationMode.POSITIVE and operation.label in FEED_GROWTH:
        assert _feed_length(app) - before >= FEED_GROWTH[operation.label]


def test_every_operation_is_exercised():
    labels = {op.label for op in OPERATIONS}
    assert {
        "GET /api/v1/events",
        "POST /api/v1/events",
        "PUT /api/v1/events/{event_id}",
        "PATCH /api/v1/events/{event_id}",
        "DELETE /api/v1/events/{event_id}",
        "POST /api/v1/events/import",
        "GET /api/v1/events/histogram",
        "GET /api/v1/events/facets",
        "GET /api/v1/timelines",
        "POST /api/v1/timelines",
        "PUT /api/v1/timelines/{slug}",
        "PATCH /api/v1/timelines/{slug}",
        "DELETE /api/v1/timelines/{slug}",
        "GET /api/v1/timelines/{slug}/events",
        "GET /api/v1/changes",
        "GET /readyz",
    } <= labels
