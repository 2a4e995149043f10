"""The Anthropic Messages API end to end: the anthropic SDK → gateway → pool → simulator."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import Message
from gateway_stack import Stack, running_stack
from grok2api_storage.records import ClientKeyLimits
from grok_sim.testing import SimHandle

pytestmark = pytest.mark.e2e
USER = [{"role": "user", "content": "Hello there"}]
LOOKUP = {
    "name": "lookup",
    "description": "Look a word up.",
    "input_schema": {
        "type": "object",
        "properties": {"q": {"type": "string"}},
        "required": ["q"],
    },
}
CALL_LOOKUP = (
    "Let me check.\n<tool_calls><tool_call><tool_name>lookup</tool_name>"
    '<parameters>{"q": "grok"}</parameters></tool_call></tool_calls>'
)
RAW_EVENTS = frozenset({
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop",
})  # fmt: skip


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        sim=sim, data_dir=tmp_path, usage=True, network={"chat_protocol": "rest"}
    ) as running:
        await running.add("sso-a")
        yield running


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=stack.base_url, api_key="sk-any", max_retries=0
    ) as sdk:
        yield sdk


def sent_prompt(stack: Stack) -> str:
    """The message of the last upstream chat turn (the REST generation, the default)."""
    return str(stack.sim.requests(path="/rest/app-chat/conversations/new")[-1]["json"]["message"])


def assert_sdk_event_order(types: list[str]) -> None:
    """The order the SDK's accumulator needs: one message_start, then blocks each opened,
    filled and closed in turn, then message_delta and message_stop."""
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    open_block = False
    for kind in types[1:-2]:
        if kind == "content_block_start":
            assert not open_block
            open_block = True
        elif kind == "content_block_delta":
            assert open_block
        else:
            assert kind == "content_block_stop" and open_block
            open_block = False
    assert not open_block


async def test_a_message_is_answered_with_text_and_usage(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("Hi from the simulator.")
    message = await client.messages.create(
        model="grok-4", max_tokens=1024, system="Be brief.", messages=USER,
        metadata={"user_id": "u-1"},
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5},  # this SDK no longer sends them
    )  # fmt: skip
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hi from the simulator."
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert sent_prompt(stack) == "system: Be brief.\n\nHello there"


async def test_system_role_inside_messages_and_system_blocks_are_tolerated(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("Fine.")
    message = await client.messages.create(
        model="grok-4",
        max_tokens=100,
        system=[{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}],
        messages=[{"role": "system", "content": "Answer in English."}, *USER],  # type: ignore[list-item]
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"},
    )
    assert message.content[0].text == "Fine."  # type: ignore[union-attr]
    assert sent_prompt(stack) == (
        "system: Rule one.\n\nRule two.\n\nsystem: Answer in English.\n\nHello there"
    )


async def test_a_streamed_answer_with_thinking_follows_the_sdk_event_order(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("The answer is 4.", reasoning="2 plus 2 is 4")
    types: list[str] = []
    opened: list[str] = []
    async with client.messages.stream(
        model="grok-4.1-thinking", max_tokens=4096, messages=USER,
        thinking={"type": "enabled", "budget_tokens": 2048},
    ) as stream:  # fmt: skip
        async for event in stream:
            if event.type in RAW_EVENTS:
                types.append(event.type)
            if event.type == "content_block_start":
                opened.append(event.content_block.type)
        final = await stream.get_final_message()
    assert_sdk_event_order(types)
    assert opened == ["thinking", "text"]
    thinking, text = final.content
    assert thinking.type == "thinking" and "2 plus 2" in thinking.thinking
    assert thinking.signature
    assert text.type == "text" and text.text == "The answer is 4."
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


async def test_the_raw_stream_carries_pings_usage_and_a_signature_before_the_thinking_stops(
    stack: Stack,
) -> None:
    stack.sim.script_reply("Four.", reasoning="adding")
    body = {
        "model": "grok-4.1-thinking", "max_tokens": 4096, "stream": True, "messages": USER,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }  # fmt: skip
    headers = {"x-api-key": "sk-any", "anthropic-version": "2023-06-01"}
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        response = await http.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response.text)
    assert [name for name, _ in events[:2]] == ["message_start", "ping"]
    assert events[0][1]["message"]["usage"]["input_tokens"] > 0
    names = [name for name, _ in events if name != "ping"]
    assert_sdk_event_order(names)
    deltas = [data["delta"]["type"] for name, data in events if name == "content_block_delta"]
    first_text = deltas.index("text_delta")
    assert deltas[first_text - 1] == "signature_delta"  # the thinking block's last delta
    assert set(deltas[: first_text - 1]) == {"thinking_delta"}
    for name, data in events:
        assert data["type"] == name  # every event names its type in both places
    message_delta = next(data for name, data in events if name == "message_delta")
    assert message_delta["usage"]["output_tokens"] > 0
    started = events[0][1]["message"]["usage"]
    assert message_delta["usage"]["input_tokens"] == started["input_tokens"]


async def test_thinking_is_hidden_unless_the_request_enables_it(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("Four.", reasoning="adding")
    message = await client.messages.create(model="grok-4.1-thinking", max_tokens=64, messages=USER)
    assert [block.type for block in message.content] == ["text"]


async def test_a_tool_round_trip(stack: Stack, client: anthropic.AsyncAnthropic) -> None:
    stack.sim.script_reply(CALL_LOOKUP)
    first = await client.messages.create(
        model="grok-4", max_tokens=1024, messages=USER, tools=[LOOKUP],  # type: ignore[list-item]
        tool_choice={"type": "auto"},
    )  # fmt: skip
    assert first.stop_reason == "tool_use"
    text, call = first.content
    assert text.type == "text" and text.text.strip() == "Let me check."
    assert call.type == "tool_use" and call.name == "lookup" and call.input == {"q": "grok"}
    assert call.id.startswith("toolu_")
    stack.sim.script_reply("Grok is a model.")
    second = await client.messages.create(
        model="grok-4", max_tokens=1024, tools=[LOOKUP],  # type: ignore[list-item]
        messages=[
            *USER,
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "a model by xAI"},
            ]},
        ],
    )  # fmt: skip
    assert second.content[0].text == "Grok is a model."  # type: ignore[union-attr]
    assert second.stop_reason == "end_turn"
    prompt = sent_prompt(stack)
    assert f"[tool result for {call.id}]:\na model by xAI" in prompt
    assert '<tool_name>lookup</tool_name><parameters>{"q":"grok"}</parameters>' in prompt


async def test_a_streamed_tool_call_arrives_as_input_json_deltas(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply(CALL_LOOKUP)
    types: list[str] = []
    async with client.messages.stream(
        model="grok-4", max_tokens=1024, messages=USER, tools=[LOOKUP],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "lookup"},
    ) as stream:  # fmt: skip
        async for event in stream:
            if event.type == "content_block_delta":
                types.append(event.delta.type)
        final = await stream.get_final_message()
    assert "input_json_delta" in types
    call = final.content[-1]
    assert call.type == "tool_use" and call.input == {"q": "grok"}
    assert final.stop_reason == "tool_use"
    assert "you MUST call the function lookup" in sent_prompt(stack)


async def test_a_call_that_breaks_its_schema_is_shown_as_text_not_made(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply(
        "<tool_calls><tool_call><tool_name>lookup</tool_name>"
        '<parameters>{"word": "grok"}</parameters></tool_call></tool_calls>'
    )
    message = await client.messages.create(
        model="grok-4", max_tokens=1024, messages=USER, tools=[LOOKUP]  # type: ignore[list-item]
    )
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert "lookup" in message.content[0].text  # type: ignore[union-attr]


async def test_stop_sequences_cut_the_answer_streamed_or_not(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("one two STOP three", times=2)
    message = await client.messages.create(
        model="grok-4", max_tokens=100, messages=USER, stop_sequences=["STOP", "never"]
    )
    assert message.content[0].text == "one two "  # type: ignore[union-attr]
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "STOP"
    async with client.messages.stream(
        model="grok-4", max_tokens=100, messages=USER, stop_sequences=["STOP"]
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "one two "  # type: ignore[union-attr]
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "STOP")


async def test_max_tokens_cuts_the_answer(stack: Stack, client: anthropic.AsyncAnthropic) -> None:
    stack.sim.script_reply("alpha beta gamma delta epsilon zeta eta theta iota kappa")
    message = await client.messages.create(model="grok-4", max_tokens=3, messages=USER)
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "alpha beta gamma"  # type: ignore[union-attr]
    assert message.usage.output_tokens == 3


async def test_count_tokens_counts_the_prompt_the_answer_is_billed_for(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    plain = await client.messages.count_tokens(model="grok-4", messages=USER, system="Be brief.")
    with_tools = await client.messages.count_tokens(
        model="grok-4", messages=USER, system="Be brief.", tools=[LOOKUP]  # type: ignore[list-item]
    )
    assert 0 < plain.input_tokens < with_tools.input_tokens
    stack.sim.script_reply("Hi.")
    answered = await client.messages.create(
        model="grok-4", max_tokens=10, messages=USER, system="Be brief."
    )
    assert answered.usage.input_tokens == plain.input_tokens
    # counting asked the upstream nothing: the one chat turn is the answer's
    assert len(stack.sim.requests(path="/rest/app-chat/conversations/new")) == 1


async def test_invalid_requests_are_400_invalid_request_error(
    client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:  # the SDK insists on max_tokens
        await client.post(
            "/v1/messages", body={"model": "grok-4", "messages": USER}, cast_to=Message
        )
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "max_tokens" in caught.value.message
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.0\.content\.0\.source\.data"):
        await client.messages.create(model="grok-4", max_tokens=10, messages=[{
            "role": "user",
            "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                     "data": ""}}],
        }])  # fmt: skip


async def test_an_unknown_model_is_404_naming_it(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        await client.messages.create(model="grok-9", max_tokens=10, messages=USER)
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "grok-9" in caught.value.message
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.count_tokens(model="grok-9", messages=USER)


async def test_keys_by_x_api_key_or_bearer_and_a_bad_key_is_401(stack: Stack) -> None:
    created = await stack.client_keys.create(name="team")
    stack.sim.script_reply("Hi.", times=2)
    by_header = anthropic.AsyncAnthropic(
        base_url=stack.base_url, api_key=created.plain_key, max_retries=0
    )
    by_bearer = anthropic.AsyncAnthropic(
        base_url=stack.base_url, auth_token=created.plain_key, max_retries=0
    )
    wrong = anthropic.AsyncAnthropic(base_url=stack.base_url, api_key="sk-wrong", max_retries=0)
    async with by_header, by_bearer, wrong:
        for sdk in (by_header, by_bearer):
            assert (await sdk.messages.create(model="grok-4", max_tokens=9, messages=USER)).content
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await wrong.messages.create(model="grok-4", max_tokens=9, messages=USER)
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


async def test_a_client_key_limit_is_429_rate_limit_error_with_retry_after(stack: Stack) -> None:
    created = await stack.client_keys.create(
        name="team", limits=ClientKeyLimits(rate_limit_per_minute=1)
    )
    stack.sim.script_reply("Hi.")
    async with anthropic.AsyncAnthropic(
        base_url=stack.base_url, api_key=created.plain_key, max_retries=0
    ) as sdk:
        await sdk.messages.create(model="grok-4", max_tokens=9, messages=USER)
        with pytest.raises(anthropic.RateLimitError) as caught:
            await sdk.messages.create(model="grok-4", max_tokens=9, messages=USER)
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert "requests_per_minute" in caught.value.message


async def test_a_failure_mid_stream_ends_it_with_an_error_event(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("word " * 40)
    stack.sim.set_fault("drop", account="sso-a", after_frames=5)
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(model="grok-4", max_tokens=900, messages=USER) as s:
            async for _ in s:
                pass
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert (await stack.account("sso-a")).inflight == 0


async def test_no_account_left_is_529_overloaded(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.set_fault("429")  # every account rate-limited upstream: they all cool
    with pytest.raises(anthropic.APIStatusError):
        await client.messages.create(model="grok-4", max_tokens=9, messages=USER)
    with pytest.raises(anthropic.InternalServerError) as caught:
        await client.messages.create(model="grok-4", max_tokens=9, messages=USER)
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_requests_are_metered_under_the_messages_endpoint(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.sim.script_reply("Hi.")
    await client.messages.create(model="grok-4", max_tokens=9, messages=USER)
    assert stack.usage_log is not None and await stack.usage_log.flush()
    (record,) = await stack.store.usage.list()
    assert (record.endpoint, record.model, record.status) == ("/v1/messages", "grok-4", 200)
    assert record.prompt_tokens > 0 and record.completion_tokens > 0


async def test_models_carry_their_context_window_and_output_limit(stack: Stack) -> None:
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        listed = (await http.get("/v1/models")).json()["data"]
    chat = [entry for entry in listed if entry["kind"] == "chat"]
    assert chat and all(e["context_window"] > e["max_output_tokens"] > 0 for e in chat)
    assert all(e["context_length"] == e["context_window"] for e in chat)


async def test_pings_keep_the_stream_alive_while_the_upstream_thinks(stack: Stack) -> None:
    stack.live.apply({"chat.keepalive_seconds": 0.1})
    stack.sim.set_fault("slow-first-byte", delay_ms=600, times=1)
    stack.sim.script_reply("Done.")
    body = {"model": "grok-4", "max_tokens": 50, "stream": True, "messages": USER}
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        response = await http.post("/v1/messages", json=body, headers={"x-api-key": "k"})
    names = [name for name, _ in _sse(response.text)]
    assert names.count("ping") >= 3  # ~6 intervals of quiet, however the timers fall
    assert_sdk_event_order([name for name in names if name != "ping"])


async def test_a_body_over_the_limit_is_413_in_anthropics_shape(
    stack: Stack, client: anthropic.AsyncAnthropic
) -> None:
    stack.live.apply({"server.max_body_bytes": 2048})
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(
            model="grok-4", max_tokens=9, messages=[{"role": "user", "content": "x" * 4096}]
        )
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]


def _readme_example() -> str:
    """The README's Anthropic example, as written there."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    [example] = [b for b in blocks if "anthropic.Anthropic(" in b]
    return example


async def test_the_readme_example_runs_as_written(stack: Stack) -> None:
    stack.sim.script_reply("Hello to you.")
    stack.sim.script_reply("2 + 2 = 4.", reasoning="Adding two and two.")
    code = _readme_example().replace("http://localhost:8000", stack.base_url)
    printed = io.StringIO()

    def run() -> None:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})

    await asyncio.to_thread(run)
    assert printed.getvalue().splitlines()[0].startswith("Hello to you. Usage(")
    assert printed.getvalue().splitlines()[1:] == ["2 + 2 = 4.", "Adding two and two."]


def _sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events
