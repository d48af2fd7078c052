"""gzip for responses of at least 1 KiB whose type compresses, when ``Accept-Encoding`` allows.

A streamed export (ndjson, csv, geojson) is compressed as it streams, piece by piece, at
level 1 (:data:`GZIP_STREAM_LEVEL`: at level 6 the compressor, not the database, would set
the export's pace), each piece flushed so that a client can decode it on arrival. A whole
body is compressed at level 6; static files' compressed bytes are kept by path and ETag.
"""

from __future__ import annotations

import gzip
import zlib

from flask import Flask, request

_COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/problem+json",
    "application/geo+json",
    "application/x-ndjson",
    "application/javascript",
    "image/svg+xml",
    "application/xml",
)
GZIP_MIN_BYTES = 1024
GZIP_STREAM_LEVEL = 1
_gzip_cache: dict[tuple[str, str], bytes] = {}


def _gzip_stream(pieces):
    """A streamed body, gzip-compressed piece by piece (see the module doc); closing it
    closes the body it wraps (which ends the request's context)."""
    z = zlib.compressobj(GZIP_STREAM_LEVEL, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
    try:
        for piece in pieces:
            out = z.compress(piece) + z.flush(zlib.Z_SYNC_FLUSH)
            if out:
                yield out
        yield z.flush()
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


def gzip_response(response):
    """After a request: the response gzip-compressed when the client and its type allow."""
    if response.status_code != 200 or "Content-Encoding" in response.headers or request.method == "HEAD":
        return response
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "").lower()
        or request.accept_encodings.quality("gzip") <= 0
    ):
        return response
    mimetype = response.mimetype or ""
    if not mimetype.startswith(_COMPRESSIBLE):
        return response
    if response.is_streamed and not response.direct_passthrough:  # a streamed export
        response.response = _gzip_stream(response.response)
        response.headers.pop("Content-Length", None)
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        return response
    length = response.content_length
    if length is not None and length < GZIP_MIN_BYTES:
        return response
    static = response.direct_passthrough
    key = (request.path, response.headers.get("ETag", "")) if static else None
    body = _gzip_cache.get(key) if key else None
    if body is None:
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < GZIP_MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=6, mtime=0)
        if key and response.headers.get("ETag"):
            if len(_gzip_cache) > 64:
                _gzip_cache.clear()
            _gzip_cache[key] = body
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    # An ETag the view set names the resource's version (If-Match compares it on writes), so
    # it stays as it is; responses without one get theirs afterwards, over the gzip bytes.
    return response


def init_app(app: Flask) -> None:
    app.after_request(gzip_response)
