"""The installed package carries the seed and the widget, so a plain `pip install .` works anywhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from service import ingest, resources

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # builds a wheel in a subprocess
def test_wheel_ships_seed_and_static_files(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "service/_seed/events.json",
        "service/_seed/timelines.json",
        "service/static/index.html",
        "service/static/app.js",
        "service/gunicorn_conf.py",
    ):
        assert expected in names, expected
    assert any(n.startswith("service/static/vendor/") for n in names)


def test_seed_dir_falls_back_to_the_packaged_copy(tmp_path, monkeypatch):
    fake_pkg = tmp_path / "site" / "service"
    (fake_pkg / "_seed").mkdir(parents=True)
    (fake_pkg / "_seed" / "events.json").write_text("[]")
    monkeypatch.setattr(resources, "_HERE", fake_pkg)
    assert ingest.default_seed_dir() == fake_pkg / "_seed"
    assert ingest.default_seed_dir.__doc__


def test_entry_point_and_wsgi_factory_are_declared():
    text = (REPO / "pyproject.toml").read_text()
    assert 'timeline = "service.cli:main"' in text
    assert "service:create_app()" in (REPO / "service" / "gunicorn_conf.py").read_text()
