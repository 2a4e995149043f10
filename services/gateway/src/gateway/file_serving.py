"""Serving one blob store file over HTTP: validators, byte ranges and the body.

    headers_for(blob)            the headers every answer about a file carries
    not_modified(header, etag)   If-None-Match (weak comparison, ``*`` included)
    parse_range(header, size)    one ``bytes=`` range → (start, end); None: send it all
    FileBody                     a response streaming part of an already opened file

Starlette's ``FileResponse`` is not used: it ignores If-None-Match (no 304), answers a
malformed or backwards Range with 400 where RFC 9110 says to ignore the header, and opens
the file only after sending the status line, so a file removed by the cache cleanup in
between ends as a truncated body under a 200. Here the file is opened first (a 404 is
still possible), and reading an open file that gets deleted is fine on POSIX.

Ranges: ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` answer 206 with ``Content-Range``; a
range starting at or past the end (or ``-0``) answers 416 with ``Content-Range: bytes
*/size``. Several ranges in one request are answered with the whole file (200), which
RFC 9110 allows (a server MAY ignore Range) and which every player handles; so are
malformed headers, other units and an If-Range that does not match the ETag.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Mapping

from grok2api_media.blobs import StoredBlob
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

CACHE_CONTROL = "public, max-age=31536000, immutable"  # ids are unguessable, files immutable
CHUNK_BYTES = 256 * 1024
_BIG = 10**18  # stands for any position past every real file
_SPEC = re.compile(r"\A([0-9]*)-([0-9]*)\Z")
_ETAG = re.compile(r'(?:W/)?("[^"]*")')


class RangeNotSatisfiable(Exception):
    pass


def headers_for(blob: StoredBlob) -> dict[str, str]:
    return {
        "content-type": blob.content_type,
        "etag": blob.etag,
        "cache-control": CACHE_CONTROL,
        "accept-ranges": "bytes",
        "x-content-type-options": "nosniff",
    }


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison: ``W/`` is ignored)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in _ETAG.findall(if_none_match)


def range_applies(if_range: str | None, etag: str) -> bool:
    """``If-Range`` allows the range only for the same (strong) ETag; no date matches, as no
    Last-Modified is sent."""
    return if_range is None or if_range.strip() == etag


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single satisfiable byte range; None to send the whole
    file (no header, malformed, another unit, several ranges); ``RangeNotSatisfiable``
    when the one range starts at or past the end of the file."""
    if header is None:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if len(parts) != 1:
        return None
    match = _SPEC.fullmatch(parts[0])
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = _position(first)
        end = _position(last) if last else _BIG
        if end < start:
            return None  # an invalid range-spec: the header is ignored
        if start >= size:
            raise RangeNotSatisfiable
        return start, min(end, size - 1) + 1
    if not last:
        return None  # "bytes=-"
    suffix = _position(last)
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable
    return max(size - suffix, 0), size


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else _BIG


async def open_file(blob: StoredBlob) -> int | None:
    """A read-only descriptor on the file, or None when it is gone (cleaned up since)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return await asyncio.to_thread(os.open, blob.path, flags)
    except OSError:
        return None


class FileBody(StreamingResponse):
    """``length`` bytes of the open file ``fd`` from ``start``; closes ``fd`` when done.

    Reads run in worker threads. Starlette stops the stream when the client disconnects;
    a read still running then merely ``pread``s into a buffer nobody uses (``pread`` has no
    side effect, even on a descriptor closed and reused meanwhile)."""

    def __init__(
        self, fd: int, *, start: int, length: int, status_code: int, headers: Mapping[str, str]
    ):
        self._fd: int | None = fd
        super().__init__(_chunks(fd, start, length), status_code=status_code, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


async def _chunks(fd: int, start: int, length: int) -> AsyncIterator[bytes]:
    offset, end = start, start + length
    while offset < end:
        chunk = await asyncio.to_thread(os.pread, fd, min(CHUNK_BYTES, end - offset), offset)
        if not chunk:
            raise RuntimeError("media file shorter than its recorded size")
        offset += len(chunk)
        yield chunk
