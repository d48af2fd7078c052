"""Folders shipped beside the package: in a checkout at the top of the repository, in an
installed wheel inside the package (``pyproject.toml`` force-includes them there)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def bundled_dir(checkout: str, packaged: str, marker: str) -> Path | None:
    """The checkout's ``checkout/`` folder, else the package's ``packaged/`` copy: the first
    that holds the file ``marker``; ``None`` when neither does."""
    for candidate in (_HERE.parent / checkout, _HERE / packaged):
        if (candidate / marker).is_file():
            return candidate
    return None
