"""Anthropic's server-sent events for one streamed message, encoded to bytes.

The order is the one the SDKs' stream accumulators expect: ``message_start`` (with the
input token count) and a ``ping``; for each content block ``content_block_start``, its
deltas (``text_delta``, ``thinking_delta`` then one ``signature_delta``, or
``input_json_delta``) and ``content_block_stop``; then ``message_delta`` (stop reason and
usage) and ``message_stop``. Blocks are numbered in the order they open.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from . import blocks, render, shape, tool_input

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
JSON_DELTA_CHARS = 256  # tool input is streamed in slices of this size, as it forms


def event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


class EventWriter:
    def __init__(self, *, message_id: str, model: str) -> None:
        self._message_id = message_id
        self._model = model
        self._index = -1
        self._open: str | None = None
        self._thinking = ""

    def start(self, *, input_tokens: int) -> bytes:
        message: dict[str, Any] = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": render.usage(input_tokens=input_tokens, output_tokens=0),
        }
        return event("message_start", {"message": message}) + PING

    def pieces(self, pieces: Iterable[shape.Piece]) -> bytes:
        out: list[bytes] = []
        for kind, text in pieces:
            if self._open != kind:
                out.append(self._close())
                out.append(self._begin({"type": kind, kind: ""} | _extra(kind)))
                self._open = kind
            if kind == shape.THINKING:
                self._thinking += text
                delta = {"type": "thinking_delta", "thinking": text}
            else:
                delta = {"type": "text_delta", "text": text}
            out.append(event("content_block_delta", {"index": self._index, "delta": delta}))
        return b"".join(out)

    def tool_use(self, use: tool_input.ToolUse) -> bytes:
        out = [self._close()]
        out.append(self._begin({"type": "tool_use", "id": use.id, "name": use.name, "input": {}}))
        for start in range(0, len(use.json), JSON_DELTA_CHARS):
            part = use.json[start : start + JSON_DELTA_CHARS]
            delta = {"type": "input_json_delta", "partial_json": part}
            out.append(event("content_block_delta", {"index": self._index, "delta": delta}))
        self._open = "tool_use"
        out.append(self._close())
        return b"".join(out)

    def finish(
        self, *, stop_reason: str, stop_sequence: str | None, input_tokens: int, output_tokens: int
    ) -> bytes:
        delta = {"stop_reason": stop_reason, "stop_sequence": stop_sequence}
        usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        return self._close() + event("message_delta", {"delta": delta, "usage": usage}) + STOP

    def _begin(self, block: dict[str, Any]) -> bytes:
        self._index += 1
        return event("content_block_start", {"index": self._index, "content_block": block})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        out = b""
        if self._open == shape.THINKING:
            delta = {"type": "signature_delta", "signature": blocks.signature(self._thinking)}
            out = event("content_block_delta", {"index": self._index, "delta": delta})
            self._thinking = ""
        self._open = None
        return out + event("content_block_stop", {"index": self._index})


def _extra(kind: str) -> dict[str, Any]:
    return {"signature": ""} if kind == shape.THINKING else {}
