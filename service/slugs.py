"""Slug rules shared by event ids, tags and timeline slugs, and id derivation."""

from __future__ import annotations

import re
import unicodedata

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
RESERVED_IDS = frozenset({"histogram", "facets", "import"})
MAX_LEN = 120


def is_slug(value: str) -> bool:
    return bool(SLUG_RE.fullmatch(value))  # fullmatch: `$` alone would let "slug\n" through


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by single hyphens ('' when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def derive_id(date: str, title: str, taken) -> str:
    """A new event id from its EDTF date and title, unique against ``taken(candidate) -> bool``.

    ``2021-07-02`` + "All troops leave Bagram" gives ``2021-07-02-all-troops-leave-bagram``;
    a BCE date starts with ``bce-``; a clash gets ``-2``, ``-3``, ... appended.
    """
    date_part = slugify(date)
    if date.startswith("-"):
        date_part = "bce-" + date_part
    base = "-".join(p for p in (date_part, slugify(title)) if p) or "event"
    base = base[: MAX_LEN - 4].strip("-")
    if base in RESERVED_IDS:
        base = f"{base}-event"
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate
