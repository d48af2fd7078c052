"""gunicorn started directly on an archive of an older schema: the master migrates it once,
before any worker boots (service/gunicorn_conf.py on_starting), and the service serves it."""

from __future__ import annotations

import json
import os
import signal

from legacy_schema import as_schema_7
from test_faults import _free_port, _request, _start

from bench.generate import Generator
from service import ingest
from service import store as store_module


def test_the_master_migrates_an_old_archive_before_the_workers_boot(tmp_path):
    db = tmp_path / "old.db"
    st = store_module.Store(str(db))
    st.migrate()
    gen = Generator(3)
    ingest.import_items(st, [gen.event(i, []) for i in range(50)])
    feed = st.changes(0, 1000)
    as_schema_7(st.conn)
    st.close()
    log = tmp_path / "gunicorn.log"
    port = _free_port()
    proc = _start(db, port, log, log_level="INFO")
    try:
        text = log.read_text()
        assert text.count("migrating") == 1, text
        assert text.index("from schema 7 to 8") < text.index("Booting worker"), text
        status, body = _request(port, "GET", "/api/v1/changes?since=0&limit=1000")
        assert status == 200
        served = json.loads(body)["changes"]
        assert [(c["seq"], c["id"], c["event"]["version"]) for c in served] == [
            (seq, event_id, json.loads(doc)["version"]) for seq, _op, event_id, _at, doc in feed
        ]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert store_module.Store(str(db)).schema_version() == store_module.SCHEMA_VERSION
