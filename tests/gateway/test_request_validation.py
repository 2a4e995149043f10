"""Request validation names the offending parameter the way OpenAI does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway import errors
from gateway.chat import request

USER = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "model"),
        ({"model": "grok-4", "messages": []}, "messages"),
        ({"model": "grok-4", "messages": [{"role": "bot", "content": "x"}]}, "messages.0.role"),
        ({"model": "grok-4", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
         "messages.0.content.0"),
        ({"model": "grok-4", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}]}]},
         "messages.0.content.1.image_url.url"),
        ({"model": "grok-4", "messages": USER, "stream": "yes"}, "stream"),
        ({"model": "grok-4", "messages": USER, "temperature": 3}, "temperature"),
        ({"model": "grok-4", "messages": USER, "n": 2}, "n"),
        ({"model": "grok-4", "messages": USER, "thinking": "maybe"}, "thinking"),
        ({"model": "grok-4", "messages": USER, "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "grok-4", "messages": USER, "tool_choice": "required"}, "tool_choice"),
        ({"model": "grok-4", "messages": USER,
          "tools": [{"type": "function", "function": {"name": "bad name"}}]},
         "tools.0.function.name"),
    ],
)
def test_names_the_invalid_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        request.parse(json.dumps(body).encode())
    assert caught.value.param == param
    assert param in caught.value.message


def test_rejects_a_body_that_is_not_json() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        request.parse(b"{nope")
    assert caught.value.code == "invalid_json"


def test_keeps_unknown_parameters_out_of_the_way() -> None:
    parsed = request.parse(json.dumps({"model": "grok-4", "messages": USER, "seed": 7,
                                       "logit_bias": {}}).encode())
    assert parsed.model_extra == {"seed": 7, "logit_bias": {}}
