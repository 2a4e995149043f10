"""Imagine frames parsed without the JSON parser ever reading their image.

A final ``image`` frame is about 200 kB of JSON, nearly all of it the ``blob`` string (the
image in base64). ``orjson.loads`` of such a frame allocates a working buffer about twelve
times the input (2.4 MB; 0.8 MB for a 67 kB medium frame), copies the blob into a new
``str``, and ``base64`` then copies that ``str`` again to ASCII bytes before decoding it.
With the process's 64 kB mmap threshold (``lazy_buffers``) each of those is a fresh
mapping whose pages fault in and are unmapped again, for every image.

:func:`parse` cuts the blob's text out of the raw frame first, parses the few hundred bytes
left, and hands the blob back as a ``memoryview`` of the frame: base64 decodes straight
from it. It takes that path only where the result is certainly the one ``orjson.loads``
would give: no backslash anywhere in the frame (so no escapes, every quote is a string's
edge), one ``"blob"`` in it, and that one the top-level key's string value.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

SPLIT_MIN_BYTES: Final = 16 * 1024  # smaller frames: one plain parse costs less
_BLOB_KEY: Final = b'"blob"'
_BLOB_STRING: Final = b'"blob":"'

Payload = bytes | bytearray


def parse(payload: Payload) -> Any:
    """What ``orjson.loads(payload)`` gives, except that a large frame's top-level
    ``blob`` string comes as a ``memoryview`` of its text in ``payload``. Raises
    ``orjson.JSONDecodeError`` as ``orjson.loads`` does."""
    if len(payload) >= SPLIT_MIN_BYTES:
        message = _without_blob(payload)
        if message is not None:
            return message
    return orjson.loads(payload)


def _without_blob(payload: Payload) -> dict[str, Any] | None:
    """The frame with its blob as a view, or None where only a full parse can tell."""
    start = payload.find(_BLOB_STRING)
    if start < 0 or payload.count(_BLOB_KEY) != 1 or payload.find(b"\\") >= 0:
        return None
    begin = start + len(_BLOB_STRING)
    end = payload.find(b'"', begin)  # no escapes: the first quote closes the string
    if end < 0:
        return None
    message = orjson.loads(payload[:begin] + payload[end:])
    if not isinstance(message, dict) or message.get("blob") != "":
        return None  # the one "blob" was not the frame's own key (nested in a value)
    message["blob"] = memoryview(payload)[begin:end]
    return message
