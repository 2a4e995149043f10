"""Bodies of the Anthropic Messages and Responses APIs that leave no chat message once
converted are the caller's 400 in that API's error shape (found by tests/fuzz: they were
500 ``internal error``)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from gateway_fakes import Gateway

EMPTY = [{"role": "user", "content": []}]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/messages", {"model": "grok-4", "max_tokens": 5, "messages": EMPTY}),
        ("/v1/messages/count_tokens", {"model": "grok-4", "messages": EMPTY}),
    ],
)
async def test_anthropic_messages_without_any_content_are_refused(
    gateway: Gateway, path: str, body: dict[str, Any]
) -> None:
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        answer = await http.post(path, json=body)
    assert answer.status_code == 400
    assert answer.json() == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "messages: no message has any content"}}
    assert gateway.grok.requests == []  # nothing went upstream


async def test_a_responses_input_of_no_message_is_refused_naming_input(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        answer = await http.post(
            "/v1/responses", json={"model": "grok-4", "input": [{"type": "reasoning"}]}
        )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["message"]) == (
        "invalid_request_error", "input", "input: no message to answer"
    )
    assert gateway.grok.requests == []
