"""A finished answer → Anthropic's ``message`` object (the non-streaming response)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import blocks, shape, tool_input


def message(
    *,
    message_id: str,
    model: str,
    pieces: Sequence[shape.Piece],
    uses: Sequence[tool_input.ToolUse],
    stop_reason: str,
    stop_sequence: str | None,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for kind, text in pieces:  # consecutive pieces of one kind make one block
        if content and content[-1]["type"] == kind:
            content[-1][kind] += text
        else:
            content.append({"type": kind, kind: text})
    for block in content:
        if block["type"] == shape.THINKING:
            block["signature"] = blocks.signature(block[shape.THINKING])
    content.extend(
        {"type": "tool_use", "id": use.id, "name": use.name, "input": use.input} for use in uses
    )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage(input_tokens=input_tokens, output_tokens=output_tokens),
    }


def usage(*, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
