"""OpenAI ``chat.completion.chunk`` server-sent events, encoded straight to bytes.

Every chunk of one completion shares its id, created time and model, so the common prefix
is encoded once per request and each delta only serialises its own text with orjson.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from . import tool_parse

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


class ChunkWriter:
    def __init__(self, *, completion_id: str, created: int, model: str):
        self._head = (
            b'data: {"id":'
            + orjson.dumps(completion_id)
            + b',"object":"chat.completion.chunk","created":'
            + str(created).encode()
            + b',"model":'
            + orjson.dumps(model)
            + b',"system_fingerprint":null,"choices":'
        )

    def role(self) -> bytes:
        return self._choice(b'{"role":"assistant","content":""}', b"null")

    def delta(self, field: str, text: str) -> bytes:
        body = b'{"' + field.encode() + b'":' + orjson.dumps(text) + b"}"
        return self._choice(body, b"null")

    def tool_calls(self, calls: Sequence[tool_parse.ParsedCall], ids: Sequence[str]) -> bytes:
        entries = [
            {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for index, (call, call_id) in enumerate(zip(calls, ids, strict=True))
        ]
        return self._choice(orjson.dumps({"tool_calls": entries}), b"null")

    def finish(self, reason: str) -> bytes:
        return self._choice(b"{}", orjson.dumps(reason))

    def usage(self, usage: dict[str, Any]) -> bytes:
        return self._head + b'[],"usage":' + orjson.dumps(usage) + b"}\n\n"

    def _choice(self, delta: bytes, finish: bytes) -> bytes:
        return (
            self._head
            + b'[{"index":0,"delta":'
            + delta
            + b',"logprobs":null,"finish_reason":'
            + finish
            + b'}],"usage":null}\n\n'
        )


def error_event(body: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(body) + b"\n\n"
