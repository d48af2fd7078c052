"""Validate a batch of events, then upsert it in one transaction.

Shared by the API (single writes and POST /events/import), ``timeline seed`` and
``timeline import``: every path validates through the same schemas and writes through the
same code, so a seed file and an HTTP body obey exactly the same rules.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
from collections import deque
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from marshmallow import ValidationError

from . import dates, fastcheck, jsonio, slugs
from .resources import bundled_dir
from .schemas import EventSchema, TimelineSchema
from .store import Store, connect, span_class, utc_now
from .store.bulk import (
    P_ID,
    P_TIMELINES,
    BulkWriter,
    unpack,
)
from .store.model import FTS_COLUMNS

_event_schema = EventSchema()
_timeline_schema = TimelineSchema()


class BatchInvalid(Exception):
    """Some items of a batch are invalid; ``errors`` maps item index (str) to field errors."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__(f"{len(errors)} invalid item(s)")
        self.errors = errors


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    timelines: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    timelines_created: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}

    def add(self, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)


def validate_event(data: Any) -> dict[str, Any]:
    """The loaded writable fields of one event; raises ValidationError with field messages."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["An event must be a JSON object."]})
    loaded = fastcheck.load_event(data)  # the common valid shape, exactly as the schema loads it
    return loaded if loaded is not None else _event_schema.load(data)


def validate_timeline(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["A timeline must be a JSON object."]})
    return _timeline_schema.load(data)


def build_event(loaded: dict[str, Any]) -> dict[str, Any]:
    """The stored event (without created_at/updated_at/version) from loaded writable fields."""
    parsed = dates.parse(loaded["date"])
    event = {"id": loaded["id"], "date": parsed.edtf}
    event.update(parsed.as_fields())
    event["title"] = loaded["title"]
    event["summary"] = loaded.get("summary") or None
    event["importance"] = loaded.get("importance", 3)
    event["tags"] = loaded.get("tags") or []
    event["actors"] = loaded.get("actors") or []
    event["location"] = loaded.get("location") or None
    event["sources"] = loaded.get("sources") or []
    event["timelines"] = loaded.get("timelines") or []
    return event


def _derived(event: dict[str, Any]) -> tuple:
    """What the store keeps beside an event built by :func:`build_event`: its parsed date,
    location, content hash, terms and full-text columns (FTS_COLUMNS order)."""
    parsed = dates.parse(event["date"])
    location = event["location"] or {}
    terms = [("tag", t) for t in event["tags"]]
    terms += [("actor", a) for a in event["actors"]]
    terms += [("timeline", t) for t in event["timelines"]]
    fts = (
        event["title"],
        event["summary"] or "",
        " ".join(event["actors"]),
        location.get("name") or "",
        " ".join(s.get("quote") or "" for s in event["sources"]),
        " ".join(event["tags"]),
    )
    return parsed, location, content_hash(event), terms, fts


def content_hash(event: dict[str, Any]) -> str:
    """The hash of an event built by :func:`build_event`: equal hashes, equal content."""
    return hashlib.blake2b(orjson.dumps(event, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def derive_id(
    store: Store, loaded: dict[str, Any], taken: Container[str] = (), *, reuse_identical: bool = True
) -> str:
    """The id of an event given without one, from its date and title (slugs.derive_id).

    A candidate is taken when ``taken`` (ids of the same batch) holds it, or the store holds
    it with other content. With ``reuse_identical`` (imports and seeds) a candidate the store
    holds with this very content is the event's id, so importing the same file twice leaves
    it ``unchanged`` instead of adding a copy; without (a create), any stored id is taken.
    """

    def is_taken(candidate: str) -> bool:
        if candidate in taken:
            return True
        stored = store.content_hash(candidate)
        if stored is None:
            return False
        return not reuse_identical or stored != content_hash(build_event({**loaded, "id": candidate}))

    return slugs.derive_id(loaded["date"], loaded["title"], is_taken)


def to_row(event: dict[str, Any]) -> dict[str, Any]:
    """The store's row for an event built by :func:`build_event`."""
    parsed, location, content_hash, terms, fts = _derived(event)
    return {
        "id": event["id"],
        "start_key": parsed.start_day,
        "end_key": parsed.end_day,
        "start_year": parsed.start_year,
        "start_month": parsed.start_month,
        "precision": parsed.precision,
        "importance": event["importance"],
        "country": location.get("country"),
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "content_hash": content_hash,
        "event": event,
        "terms": terms,
        "fts": dict(zip(FTS_COLUMNS, fts, strict=True)),
    }


def prepare_batch(
    items: Iterable[Any], store: Store, extra_timelines: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Validate every item (all of them, collecting every error), then return store rows
    (for :func:`write_rows`, in the caller's transaction).

    The same checks as an import (:class:`Batch`): BatchInvalid names each bad item's
    index and field errors; a repeated id fails the later item on ``id``; ``timelines``
    must name existing timelines (or ones in ``extra_timelines``).
    """
    rows: list[dict[str, Any]] = []
    now = utc_now()
    batch = Batch(store, now, _Collector(rows), Counts(), extra_timelines=extra_timelines)
    for index, item in enumerate(items):
        batch.add(index, *check_item(item, now))
    if batch.errors:
        raise BatchInvalid(batch.errors)
    return rows


def write_rows(
    store: Store, rows: Iterable[dict[str, Any]], counts: Counts | None = None, progress=None
) -> Counts:
    """Upsert rows inside the caller's transaction."""
    counts = counts or Counts()
    now = utc_now()
    for row in rows:
        outcome, _doc = store.upsert_event(row, now=now)
        counts.add(outcome)
        if progress is not None:
            progress(1)
    return counts


# --------------------------------------------------------------------------- seed files


def default_seed_dir() -> Path:
    """The repository's ``seed/`` when running from a checkout, else the copy in the package."""
    found = bundled_dir("seed", "_seed", "events.json")
    if found is None:
        raise FileNotFoundError("no seed directory found (looked for seed/ and service/_seed/)")
    return found


class SeedError(Exception):
    """A seed file is unreadable or invalid; the message names file, item and field."""


def _read_json_array(path: Path) -> list[Any]:
    """The items of a seed file, read by the strict JSON reader (as every import is)."""
    try:
        with path.open("rb") as fh:
            if path.suffix == ".ndjson":
                return list(jsonio.iter_ndjson(fh))
            return list(jsonio.iter_array(fh))
    except (OSError, jsonio.JSONError) as exc:
        raise SeedError(f"{path}: cannot read JSON: {exc}") from None


def _describe(errors: dict[str, Any], path: Path, what: str) -> str:
    lines = []
    for index, fields_ in errors.items():
        for name, messages in fields_.items() if isinstance(fields_, dict) else [("_", fields_)]:
            lines.append(f"{path}: {what} {index}: field '{name}': {flatten(messages)}")
    return "\n".join(lines)


def flatten(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{k}: {flatten(v)}" for k, v in messages.items())
    if isinstance(messages, list):
        return " ".join(flatten(m) for m in messages)
    return str(messages)


def load_seed(store: Store, seed_dir: Path | str | None = None) -> tuple[Counts, Path]:
    """Upsert the timelines and the events of every seed file in one transaction, each item
    checked as an import checks it (:class:`Batch`).

    ``timelines.json`` holds timelines; every other ``*.json``/``*.ndjson`` file holds
    events. Nothing is written when any file is bad (SeedError names file, item, field).
    """
    seed_dir = Path(seed_dir) if seed_dir else default_seed_dir()
    if not seed_dir.is_dir():
        raise SeedError(f"{seed_dir}: not a directory")
    timeline_file = seed_dir / "timelines.json"
    timelines: list[dict[str, Any]] = []
    problems: list[str] = []
    if timeline_file.exists():
        t_errors = {}
        for index, item in enumerate(_read_json_array(timeline_file)):
            try:
                loaded = validate_timeline(item)
                if "slug" not in loaded:
                    raise ValidationError({"slug": ["Missing data for required field."]})
                timelines.append(loaded)
            except ValidationError as exc:
                t_errors[str(index)] = exc.messages
        if t_errors:
            problems.append(_describe(t_errors, timeline_file, "timeline"))
    event_files = sorted(
        p for p in seed_dir.iterdir() if p.suffix in (".json", ".ndjson") and p.name != "timelines.json"
    )
    if not event_files:
        raise SeedError(f"{seed_dir}: no event files (*.json, *.ndjson)")
    files = [(path, _read_json_array(path)) for path in event_files]
    counts = Counts()
    try:
        with store.write():
            now = utc_now()
            for tl in timelines:
                outcome = store.upsert_timeline(tl, now=now)
                counts.timelines[outcome] += 1
            batch = Batch(store, now, _RowWriter(store, now, counts), counts)
            for path, items in files:
                batch.source, batch.errors = str(path), {}
                for index, item in enumerate(items):
                    batch.add(index, *check_item(item, now))
                if batch.errors:
                    problems.append(_describe(batch.errors, path, "item"))
            if problems:
                raise _Discard
    except _Discard:
        raise SeedError("\n".join(problems)) from None
    return counts, seed_dir


def load_seed_dir(app, seed_dir: Path | str | None = None) -> Counts:
    """Seed the app's database (a convenience for tests and ``serve``)."""
    store = connect(app.config["DATABASE"])
    counts, _ = load_seed(store, seed_dir or app.config.get("SEED_DIR"))
    return counts


# --------------------------------------------------------------------------- single writes and imports

WRITABLE = tuple(EventSchema().fields)  # what a client writes: the fields of the schema of writes


def writable_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The writable part of a stored event, without empty optional values (a merge-patch target)."""
    return {k: doc[k] for k in WRITABLE if k in doc and doc[k] is not None}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: objects merge recursively, ``null`` removes a member."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def check_timelines(loaded: dict[str, Any], known: set[str]) -> None:
    check_timeline_slugs(loaded.get("timelines") or [], known)


def check_timeline_slugs(timelines: Iterable[str], known: set[str]) -> None:
    missing = [t for t in timelines if t not in known]
    if missing:
        raise ValidationError({"timelines": [f"No timeline named {', '.join(repr(m) for m in missing)}."]})


def prepare_one(store: Store, data: Any, event_id: str | None = None) -> dict[str, Any]:
    """Validate one event body and build its row; ``event_id`` (from the path) wins.

    Raises ValidationError (field messages). Call inside the write transaction when the id
    may be derived, so the derived id is unique.
    """
    if event_id is not None and isinstance(data, dict):
        if "id" in data and data["id"] != event_id:
            raise ValidationError({"id": [f"The body's id differs from the path's '{event_id}'."]})
        data = {**data, "id": event_id}
    loaded = validate_event(data)
    check_timelines(loaded, store.timeline_slugs())
    if loaded.get("id") is None:
        loaded["id"] = derive_id(store, loaded, reuse_identical=False)
    return to_row(build_event(loaded))


# Checking one item gives (kind, payload):
ROW = 0  # valid, with an id: payload is the packed row (see pack)
NO_ID = 1  # valid, id to be derived while writing: payload is the loaded fields
INVALID = 2  # payload is the field errors
UNREADABLE = 3  # a raw NDJSON line that is not JSON: payload is the reason

# A valid item with an id is packed as the bulk writer takes it (store.bulk: fields P_*).


class Unreadable(Exception):
    """Item ``index`` (a raw NDJSON line) is not JSON; ``reason`` says why, as jsonio words it."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"item {index}: {reason}")
        self.index, self.reason = index, reason


def pack(event: dict[str, Any], now: str) -> tuple:
    """The row of an event built by :func:`build_event` as one flat tuple (fields ``P_*``).

    The same values as :func:`to_row`, plus the span class and the stored document of a
    newly created event (version 1, created and updated ``now``); :func:`unpack` gives
    ``to_row``'s dict back (tested equal).
    """
    parsed, location, content_hash, terms, fts = _derived(event)
    doc = dict(event)
    doc["created_at"] = now
    doc["updated_at"] = now
    doc["version"] = 1
    start, end = parsed.start_day, parsed.end_day
    return (
        event["id"],
        start,
        end,
        span_class(start, end),
        parsed.start_year,
        parsed.start_month,
        parsed.precision,
        event["importance"],
        location.get("country"),
        location.get("lat"),
        location.get("lon"),
        content_hash,
        orjson.dumps(doc).decode(),
        terms,
        fts,
        event["timelines"],
    )


def check_item(item: Any, now: str) -> tuple[int, Any]:
    """Validate one item (a parsed value, or a raw NDJSON line as bytes) -> (kind, payload)."""
    if type(item) is bytes:
        try:
            item = jsonio.loads(item)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # as jsonio.iter_ndjson
            return UNREADABLE, str(exc)
    try:
        loaded = validate_event(item)
    except ValidationError as exc:
        return INVALID, exc.messages
    if loaded.get("id") is None:
        return NO_ID, loaded
    return ROW, pack(build_event(loaded), now)


def _check_chunk(items: list[Any], now: str) -> list[tuple[int, Any]]:
    return [check_item(item, now) for item in items]


def _worker_start() -> None:
    gc.disable()  # nothing a check makes is cyclic: the collector only costs time


CHECK_CHUNK = 500  # items a worker checks per task


def _check_in_workers(
    items: Iterable[Any], now: str, chunk: int = CHECK_CHUNK, processes: int = 1, in_flight: int = 8
) -> Iterator[tuple[int, Any]]:
    """The same as ``check_item`` over ``items``, computed by worker processes while this
    one writes. Give them raw NDJSON lines (bytes) and they parse too, so this process
    only reads lines and writes rows. At most ``in_flight`` chunks are out at once, so
    memory stays flat; results keep input order. The workers are forked when the first
    result is asked for, before this process has grown its page cache.

    One worker: parsing, checking and packing an event costs less than writing it, so one
    keeps the writer busy; more would only compete with the writer for the cores.
    """
    source = iter(items)
    pending: deque = deque()
    with multiprocessing.get_context("fork").Pool(processes, initializer=_worker_start) as pool:

        def submit() -> None:
            block = list(islice(source, chunk))
            if block:
                pending.append(pool.apply_async(_check_chunk, (block, now)))

        for _ in range(in_flight):
            submit()
        while pending:
            results = pending.popleft().get()
            submit()
            yield from results


class _Discard(Exception):
    """Raised inside a batch's transaction to roll it back (a dry run, invalid items)."""


class _RowWriter:
    """Writes each row through ``Store.upsert_event`` as it comes (the HTTP import, seeds)."""

    def __init__(self, store: Store, now: str, counts: Counts):
        self.store, self.now, self.counts = store, now, counts

    def add(self, packed: tuple) -> None:
        outcome, _doc = self.store.upsert_event(unpack(packed), now=self.now)
        self.counts.add(outcome)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        pass


class _Collector(_RowWriter):
    """Keeps each row (as ``Store.upsert_event`` takes it) instead of writing it."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def add(self, packed: tuple) -> None:
        self.rows.append(unpack(packed))


class Batch:
    """What every path that writes events does with each checked item, in input order and
    inside the caller's transaction (imports, seeds, :func:`prepare_batch`): the timelines
    it names must exist (or, with ``create_timelines``, are created), an id may not repeat
    an earlier item's, an id left out is derived (:func:`derive_id`), and the row goes to
    ``writer`` (``add``/``flush``/``finish``). ``errors`` maps each bad item's index (as a
    string) to its field errors; after the first, nothing more is written but every item is
    still checked. ``source`` names where the items come from, for a repeated id's message.
    """

    def __init__(
        self,
        store: Store,
        now: str,
        writer: Any,
        counts: Counts,
        *,
        create_timelines: bool = False,
        extra_timelines: Iterable[str] = (),
    ):
        self.store, self.now, self.writer, self.counts = store, now, writer, counts
        self.create_timelines = create_timelines
        self.known = store.timeline_slugs() | set(extra_timelines)  # in the transaction: none vanishes
        self.errors: dict[str, Any] = {}
        self.seen: dict[str, str] = {}  # id -> the source of the item that has it
        self.source = ""

    def add(self, index: int, kind: int, payload: Any) -> None:
        """Take one item's :func:`check_item` result."""
        if kind == ROW:
            event_id, timelines = payload[P_ID], payload[P_TIMELINES]
        elif kind == NO_ID:
            event_id, timelines = None, payload.get("timelines") or []
        elif kind == INVALID:
            self.errors[str(index)] = payload
            return
        else:
            raise Unreadable(index, payload)
        try:
            if timelines:
                self._check_timelines(timelines)
            if event_id is not None:
                self._claim(event_id)
        except ValidationError as exc:
            self.errors[str(index)] = exc.messages
            return
        if self.errors:
            return  # nothing more will be written; keep checking to report every error
        if kind == NO_ID:
            payload["id"] = derive_id(self.store, payload, self.seen)
            self.seen[payload["id"]] = self.source
            payload = pack(build_event(payload), self.now)
        self.writer.add(payload)

    def _check_timelines(self, timelines: list[str]) -> None:
        if self.create_timelines and not self.errors:
            for slug in timelines:
                if slug not in self.known:
                    self.store.upsert_timeline({"slug": slug, "title": slug}, now=self.now)
                    self.known.add(slug)
                    self.counts.timelines_created.append(slug)
        check_timeline_slugs(timelines, self.known)

    def _claim(self, event_id: str) -> None:
        if event_id in self.seen:
            where = self.seen[event_id]
            message = (
                "Repeats the id of an earlier item in this batch."
                if where == self.source
                else f"Repeats the id of an item in {where}."
            )
            raise ValidationError({"id": [message]})
        self.seen[event_id] = self.source


def import_items(
    store: Store,
    items: Iterable[Any],
    *,
    dry_run: bool = False,
    progress=None,
    create_timelines: bool = False,
    parallel: bool = False,
    bulk: bool = False,
    bulk_options: dict[str, Any] | None = None,
) -> Counts:
    """Validate and upsert a stream of events in ONE transaction: all or nothing.

    Items are validated and written as they come, so memory stays flat however long the
    stream. After the first invalid item nothing more is written, but every later item is
    still validated, so BatchInvalid names every bad item (index -> field errors). A repeated
    id fails the later item on ``id``. With ``dry_run`` the transaction is rolled back and
    the counts say what would have happened. With ``create_timelines`` (the command
    line's default) a timeline an item names but the database lacks is created with its
    slug as title, in the same transaction, and listed in ``counts.timelines_created``.
    An item may be a raw NDJSON line (bytes): it is parsed where it is validated, and one
    that is not JSON raises Unreadable (nothing written).
    With ``parallel`` (the command line, for large files) worker processes validate while
    this one writes; the HTTP import never forks a server worker. With ``bulk`` (the
    command line) rows are written a chunk at a time by :class:`service.store.bulk.BulkWriter`
    (same outcomes, versions, ids and change feed as one ``upsert_event`` per row).
    """
    now = utc_now()
    checked = _check_in_workers(items, now) if parallel else (check_item(item, now) for item in items)
    return write_checked(
        store,
        checked,
        now,
        dry_run=dry_run,
        progress=progress,
        create_timelines=create_timelines,
        bulk=bulk,
        bulk_options=bulk_options,
    )


def write_checked(
    store: Store,
    checked: Iterable[tuple[int, Any]],
    now: str,
    *,
    dry_run: bool = False,
    progress=None,
    create_timelines: bool = False,
    bulk: bool = False,
    bulk_options: dict[str, Any] | None = None,
) -> Counts:
    """The writing half of :func:`import_items`: ``checked`` holds :func:`check_item`'s
    ``(kind, payload)`` for each item, in input order, made with this ``now``. Everything
    that needs the database (timelines, repeated ids, derived ids, the writes, the one
    transaction) happens here; ``bench/import_cost.py`` times it alone."""
    counts = Counts()
    collecting = gc.isenabled()
    if bulk:
        gc.disable()  # millions of short-lived tuples, none cyclic: the collector only costs time
    try:
        # A bulk import's last sorts (index builds, grouped counts) spill to temporary files,
        # not memory: that keeps the peak of a large import down.
        with store.write(spill_to_disk=bulk):
            writer: Any = (
                BulkWriter(store, now, counts, **(bulk_options or {}))
                if bulk
                else _RowWriter(store, now, counts)
            )
            batch = Batch(store, now, writer, counts, create_timelines=create_timelines)
            for index, (kind, payload) in enumerate(checked):
                if progress is not None:
                    progress(1)
                batch.add(index, kind, payload)
            if batch.errors or dry_run:
                writer.flush()
                raise _Discard  # roll the transaction back
            writer.finish()
    except _Discard:
        if batch.errors:
            raise BatchInvalid(batch.errors) from None
    finally:
        if collecting:
            gc.enable()
    return counts
