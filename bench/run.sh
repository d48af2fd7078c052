#!/usr/bin/env bash
# The benchmark harness (issue 7): builds or reuses bench/data/bench-1m.db, runs the service,
# the floor app and Datasette on 127.0.0.1 under the same load, writes bench/RESULTS.md.
# Options are those of `python -m bench.run --help` (e.g. --events 10000 --duration 2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" -m bench.run "$@"
