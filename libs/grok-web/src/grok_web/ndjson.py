"""NDJSON framing of the app-chat stream (protocol §4.1).

:class:`LineDecoder` turns raw body chunks into decoded JSON objects. It tolerates
``data:`` prefixes, ``event:`` lines, blank lines and CRLF, and stops at ``[DONE]``.
Lines that are not JSON objects are counted and skipped (the stream is judged
malformed only if nothing decodes at all).
"""

from __future__ import annotations

from typing import Any

import orjson

from grok_web import translate

MAX_FRAME_BYTES = 8 * 1024 * 1024

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class LineDecoder:
    """Incremental splitter + decoder; feed it chunks, get frames."""

    __slots__ = ("_pending", "done", "frames", "skipped")

    def __init__(self) -> None:
        self._pending = b""
        self.done = False
        self.frames = 0
        self.skipped = 0

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Frames completed by ``chunk`` (a trailing partial line is kept)."""
        if self._pending:
            chunk = self._pending + chunk
        lines = chunk.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_FRAME_BYTES:
            raise translate.malformed(f"frame larger than {MAX_FRAME_BYTES} bytes")
        return self._decode(lines)

    def flush(self) -> list[dict[str, Any]]:
        """Frames from a final line without a newline."""
        pending, self._pending = self._pending, b""
        return self._decode([pending]) if pending else []

    def _decode(self, lines: list[bytes]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.done:
            return out
        for line in lines:
            if not line:
                continue
            first = line[0]
            if first == 123:  # "{": the common case, no prefix to strip
                body = line
            else:
                body = line.strip()
                if not body:
                    continue
                if body.startswith(b"data:"):
                    body = body[5:].lstrip()
                elif body.startswith(b"event:") or body.startswith(b":"):
                    continue
                if body == b"[DONE]":
                    self.done = True
                    break
            try:
                frame = _loads(body)
            except _JSONDecodeError:
                self.skipped += 1
                continue
            if type(frame) is dict:
                out.append(frame)
            else:
                self.skipped += 1
        self.frames += len(out)
        return out
