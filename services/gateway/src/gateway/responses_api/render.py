"""The ``response`` object and its output items, as the Responses API returns them."""

from __future__ import annotations

import re
import time
from typing import Any

from . import request as req

# the chat translator renders an upstream citation as " [[n]](url)" in the answer text
_CITATION = re.compile(r" \[\[(\d+)\]\]\((\S+?)\)")


def skeleton(body: req.ResponsesRequest, *, response_id: str, status: str) -> dict[str, Any]:
    """The response as it starts: the request's settings echoed, no output yet."""
    reasoning = body.reasoning
    text = body.text.model_dump(by_alias=True, exclude_none=True) if body.text else None
    choice = body.tool_choice
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": body.background,
        "error": None,
        "incomplete_details": None,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "metadata": dict(body.metadata or {}),
        "model": body.model,
        "output": [],
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id,
        "reasoning": {
            "effort": reasoning.effort if reasoning else None,
            "summary": reasoning.summary if reasoning else None,
        },
        "store": body.store,
        "temperature": body.temperature,
        "text": text or {"format": {"type": "text"}},
        "tool_choice": choice.model_dump()
        if isinstance(choice, req.NamedChoice)
        else choice or "auto",
        "tools": [tool.model_dump(exclude_none=True) for tool in body.tools or ()],
        "top_p": body.top_p,
        "truncation": "disabled",
        "usage": None,
        "user": None,
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": citations(text), "logprobs": []}


def citations(text: str) -> list[dict[str, Any]]:
    """The upstream's citations in ``text`` as ``url_citation`` annotations."""
    return [
        {
            "type": "url_citation",
            "start_index": found.start(),
            "end_index": found.end(),
            "url": found.group(2),
            "title": found.group(2),
        }
        for found in _CITATION.finditer(text)
    ]


def usage(*, input_tokens: int, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def error_of(payload: dict[str, Any]) -> dict[str, Any]:
    """A failed response's ``error`` from an OpenAI error body."""
    error = payload["error"]
    return {
        "code": error.get("code") or error.get("type") or "server_error",
        "message": error["message"],
    }
