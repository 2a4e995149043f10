"""The Responses API's stream events, encoded to bytes, and the output they build.

One ``EventWriter`` per response. Every event carries a ``sequence_number`` one above the
last. The order is the one the SDK's stream accumulator expects: ``response.created`` and
``response.in_progress``; for each output item ``response.output_item.added``, its parts
(``reasoning_summary_part.added`` / ``content_part.added``), their deltas and ``.done``
events, then ``response.output_item.done``; function calls as
``function_call_arguments.delta`` slices then ``.done``; finally ``response.completed``
(or ``response.incomplete``, or ``error`` then ``response.failed``). The writer also
keeps the output items, so the non-streaming answer is the same items without the bytes.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable
from typing import Any

import orjson

from ..anthropic import shape, tool_input
from . import render

ARGUMENT_DELTA_CHARS = 256  # call arguments are streamed in slices of this size


class EventWriter:
    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        """The response object; its ``output`` grows as items close."""
        self._sequence = -1
        self._open: dict[str, Any] | None = None
        self._text = ""

    def event(self, kind: str, data: dict[str, Any]) -> bytes:
        self._sequence += 1
        body = orjson.dumps({"type": kind, **data, "sequence_number": self._sequence})
        return b"event: " + kind.encode() + b"\ndata: " + body + b"\n\n"

    def start(self) -> bytes:
        snapshot = copy.deepcopy(self.response)
        return self.event("response.created", {"response": snapshot}) + self.event(
            "response.in_progress", {"response": snapshot}
        )

    def pieces(self, pieces: Iterable[shape.Piece]) -> bytes:
        out: list[bytes] = []
        for kind, text in pieces:
            if self._open is None or self._open["type"] != _ITEM[kind]:
                out.append(self._close())
                out.append(self._begin(kind))
            self._text += text
            where = self._where()
            if kind == shape.THINKING:
                out.append(
                    self.event(
                        "response.reasoning_summary_text.delta",
                        {**where, "summary_index": 0, "delta": text},
                    )
                )
            else:
                out.append(
                    self.event(
                        "response.output_text.delta",
                        {**where, "content_index": 0, "delta": text, "logprobs": []},
                    )
                )
        return b"".join(out)

    def call(self, use: tool_input.ToolUse) -> bytes:
        out = [self._close()]
        item = {
            "id": "fc_" + secrets.token_hex(12),
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": "call_" + secrets.token_hex(12),
            "name": use.name,
        }
        out.append(self._added(item))
        where = self._where()
        for begin in range(0, len(use.json), ARGUMENT_DELTA_CHARS):
            delta = use.json[begin : begin + ARGUMENT_DELTA_CHARS]
            out.append(
                self.event("response.function_call_arguments.delta", {**where, "delta": delta})
            )
        out.append(
            self.event(
                "response.function_call_arguments.done",
                {**where, "name": use.name, "arguments": use.json},
            )
        )
        item.update(status="completed", arguments=use.json)
        out.append(self._done(item))
        return b"".join(out)

    def finish(self, *, status: str, usage: dict[str, Any], reason: str | None) -> bytes:
        """The closing event: ``response.completed`` or ``response.incomplete``."""
        out = self._close()
        self.response.update(status=status, usage=usage)
        if reason is not None:
            self.response["incomplete_details"] = {"reason": reason}
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return out + self.event(kind, {"response": self.response})

    def fail(self, payload: dict[str, Any]) -> bytes:
        """``error`` then ``response.failed``: the stream's end after it began."""
        error = render.error_of(payload)
        self.response.update(status="failed", error=error)
        detail = {
            "code": error["code"],
            "message": error["message"],
            "param": payload["error"].get("param"),
        }
        return self.event("error", detail) + self.event(
            "response.failed", {"response": self.response}
        )

    def _begin(self, kind: str) -> bytes:
        self._text = ""
        if kind == shape.THINKING:
            item: dict[str, Any] = {
                "id": "rs_" + secrets.token_hex(12),
                "type": "reasoning",
                "summary": [],
            }
            part: dict[str, Any] = {"type": "summary_text", "text": ""}
            added = self._added(item)
            return added + self.event(
                "response.reasoning_summary_part.added",
                {**self._where(), "summary_index": 0, "part": part},
            )
        item = {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        added = self._added(item)
        part = {
            "type": "output_text",
            "text": "",
            "annotations": [],
            "logprobs": [],
        }
        return added + self.event(
            "response.content_part.added", {**self._where(), "content_index": 0, "part": part}
        )

    def _close(self) -> bytes:
        item = self._open
        if item is None:
            return b""
        where, text = self._where(), self._text
        if item["type"] == "reasoning":
            part = {"type": "summary_text", "text": text}
            out = self.event(
                "response.reasoning_summary_text.done", {**where, "summary_index": 0, "text": text}
            )
            out += self.event(
                "response.reasoning_summary_part.done", {**where, "summary_index": 0, "part": part}
            )
            item["summary"] = [part]
        else:
            part = render.text_part(text)
            out = self.event(
                "response.output_text.done",
                {**where, "content_index": 0, "text": text, "logprobs": []},
            )
            out += self.event(
                "response.content_part.done", {**where, "content_index": 0, "part": part}
            )
            item.update(status="completed", content=[part])
        return out + self._done(item)

    def _added(self, item: dict[str, Any]) -> bytes:
        self._open = item
        index = len(self.response["output"])
        return self.event(
            "response.output_item.added", {"output_index": index, "item": copy.deepcopy(item)}
        )

    def _done(self, item: dict[str, Any]) -> bytes:
        index = len(self.response["output"])
        self.response["output"].append(item)
        self._open = None
        return self.event("response.output_item.done", {"output_index": index, "item": item})

    def _where(self) -> dict[str, Any]:
        assert self._open is not None
        return {"item_id": self._open["id"], "output_index": len(self.response["output"])}


_ITEM = {shape.THINKING: "reasoning", shape.TEXT: "message"}
