"""The streaming sieve: pass text through until a tool call starts, then capture it.

Text is emitted as soon as it cannot be the start of a tool call. A trailing fragment
that could still become a marker (``<tool_ca``) or a code fence opening (```` ```xml ````)
is held back until the next piece decides. From the first marker on, everything is
captured; at the end the capture is parsed: declared calls become tool calls, anything
else is released as ordinary text (it was not a call after all).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from . import tool_parse

MARKERS = ("<tool_calls", "<tool_call", "<function_call", "<invoke", '{"tool_calls"')
_TRIGGERS = frozenset(marker[0] for marker in MARKERS) | {"`"}
_OPEN_FENCE_AT_END = re.compile(r"```[A-Za-z0-9_-]*\s*$")


class ToolSieve:
    def __init__(self, *, declared: Collection[str]):
        self._declared = declared
        self._pending = ""
        self._capture: list[str] | None = None
        self._fence = ""  # the fence opening dropped before a capture, given back if no call

    @property
    def capturing(self) -> bool:
        return self._capture is not None

    def feed(self, text: str) -> str:
        """Text that is safe to show now."""
        if self._capture is not None:
            self._capture.append(text)
            return ""
        buf = self._pending + text if self._pending else text
        if not _TRIGGERS.intersection(buf):
            self._pending = ""
            return buf
        start = _first_marker(buf)
        if start >= 0:
            head = buf[:start]
            before = _OPEN_FENCE_AT_END.sub("", head)
            self._fence = head[len(before):]
            self._capture = [buf[start:]]
            self._pending = ""
            return before
        hold = _holdback(buf)
        self._pending = buf[hold:]
        return buf[:hold]

    def finish(self) -> tuple[str, list[tool_parse.ParsedCall]]:
        """Remaining text and the tool calls found, once the upstream text has ended."""
        if self._capture is None:
            pending, self._pending = self._pending, ""
            return pending, []
        captured = "".join(self._capture)
        self._capture = None
        calls = tool_parse.parse(captured, declared=self._declared)
        if calls:
            return "", calls
        return self._fence + captured, []


def _first_marker(buf: str) -> int:
    found = [index for index in (buf.find(marker) for marker in MARKERS) if index >= 0]
    return min(found) if found else -1


def _holdback(buf: str) -> int:
    """Index from which ``buf`` must be held back (``len(buf)`` when nothing is)."""
    fence = _OPEN_FENCE_AT_END.search(buf)
    if fence is not None:
        return fence.start()
    for start in range(max(0, len(buf) - len(max(MARKERS, key=len))), len(buf)):
        tail = buf[start:]
        if any(marker.startswith(tail) for marker in MARKERS):
            # a fence right before a possible marker goes with it (dropped if a call follows)
            fence = _OPEN_FENCE_AT_END.search(buf[:start])
            return fence.start() if fence is not None else start
    return len(buf)
