"""End to end: the openai SDK → gateway → real token pool → grok_web → simulator."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from gateway_stack import Stack, running_stack
from grok2api_poolclient.accounts import AccountStatus
from grok_sim.routes.upload_v2 import parse_multipart
from grok_sim.testing import SimHandle

pytestmark = pytest.mark.e2e
USER = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(params=["rest", "mgw"])
def protocol(request: pytest.FixtureRequest) -> str:
    """Each test runs on both generations of grok.com's chat (network.chat_protocol)."""
    return str(request.param)


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path, protocol: str) -> AsyncIterator[Stack]:
    async with running_stack(
        sim=sim, data_dir=tmp_path, network={"chat_protocol": protocol}
    ) as running:
        yield running


def sent_turn(stack: Stack) -> dict[str, Any]:
    """What the gateway sent upstream for its last chat turn, on either generation: the
    message, the attachment ids, and the temporary / disable-memory flags."""
    if stack.live.current.network.chat_protocol == "rest":
        body = stack.sim.requests(path="/rest/app-chat/conversations/new")[-1]["json"]
        return {"message": body["message"], "attachments": body["fileAttachments"],
                "temporary": body["temporary"], "disable_memory": body["disableMemory"]}
    sent = [r["json"]["event"] for r in stack.sim.requests(path="/ws/mgw/")
            if r["method"] == "WS" and r["json"]]
    session = [e for e in sent if e["type"] == "session.create"][-1]["session"]["x_grok"]
    item = [e for e in sent if e["type"] == "conversation.item.create"][-1]["item"]
    chunks = item["x_grok"]["input_chunks"]
    return {
        "message": chunks[-1]["text"]["text"],
        "attachments": [c["mention"]["target"]["file_mention"]["file_id"]
                        for c in chunks if "mention" in c],
        "temporary": session["is_temporary"], "disable_memory": session["disable_memory"],
    }


async def test_plain_and_streamed_chat_with_usage(stack: Stack) -> None:
    await stack.add("sso-a")
    stack.sim.script_reply("Hi from the simulator.", times=2)
    answer = await stack.client().chat.completions.create(model="grok-4", messages=USER,
                                                          stream=False)
    assert answer.choices[0].message.content == "Hi from the simulator."
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    stream = await stack.client().chat.completions.create(
        model="grok-4", messages=USER, stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Hi from the simulator.")
    assert chunks[-1].usage.total_tokens > 0
    sent = sent_turn(stack)
    assert sent["message"] == "Hello there"
    assert sent["temporary"] is True and sent["disable_memory"] is True


async def test_reasoning_reaches_reasoning_content(stack: Stack) -> None:
    await stack.add("sso-a")
    stack.sim.script_reply("The answer is 4.", reasoning="2 plus 2 is 4")
    answer = await stack.client().chat.completions.create(
        model="grok-4.1-thinking", messages=USER, stream=False, reasoning_effort="high")
    assert answer.choices[0].message.content == "The answer is 4."
    assert "2 plus 2" in answer.choices[0].message.model_extra["reasoning_content"]
    assert answer.usage.completion_tokens_details.reasoning_tokens > 0


async def test_vision_input_is_uploaded_and_attached(stack: Stack) -> None:
    await stack.add("sso-a")
    await stack.client().chat.completions.create(model="grok-4", stream=False, messages=[
        {"role": "user", "content": [
            {"type": "text", "text": "Describe"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]}])
    (upload,) = stack.sim.requests(path="/http/upload-file-v2/direct")  # upload v2, the default
    parts = parse_multipart(upload["headers"]["content-type"],
                            base64.b64decode(upload["body_base64"]))
    assert parts["file"].get_content_type() == "image/png"
    assert "file_source" not in parts  # a chat attachment, not an Imagine reference
    assert len(sent_turn(stack)["attachments"]) == 1


async def test_tool_calling_round_trip(stack: Stack) -> None:
    await stack.add("sso-a")
    tools = [{"type": "function", "function": {
        "name": "lookup", "parameters": {"type": "object",
                                         "properties": {"q": {"type": "string"}}}}}]
    stack.sim.script_reply(
        'Let me check.\n<tool_calls><tool_call><tool_name>lookup</tool_name>'
        '<parameters>{"q": "grok"}</parameters></tool_call></tool_calls>')
    client = stack.client()
    stream = await client.chat.completions.create(model="grok-4", messages=USER, tools=tools,
                                                  stream=True)
    chunks = [c async for c in stream]
    call = next(tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ())
    assert call.function.name == "lookup"
    assert json.loads(call.function.arguments) == {"q": "grok"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    stack.sim.script_reply("Grok is a model.")
    answer = await client.chat.completions.create(model="grok-4", tools=tools, stream=False,
                                                  messages=[
        *USER,
        {"role": "assistant", "tool_calls": [{"id": call.id, "type": "function", "function": {
            "name": "lookup", "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "a model by xAI"},
    ])
    assert answer.choices[0].message.content == "Grok is a model."
    sent = sent_turn(stack)["message"]
    assert f"[tool result for {call.id}]:\na model by xAI" in sent


async def test_401_switches_account_and_eventually_marks_it_invalid(stack: Stack) -> None:
    # once it failed, the bad account comes last for a while: one 401 is all it gets here
    stack.live.apply({"token.fail_threshold": 1})
    await stack.add("sso-bad")
    await stack.add("sso-good")
    stack.sim.set_fault("401", account="sso-bad")
    for _ in range(4):
        answer = await stack.client().chat.completions.create(model="grok-4", messages=USER,
                                                              stream=False)
        assert answer.choices[0].message.content
    assert (await stack.account("sso-bad")).status is AccountStatus.INVALID
    assert (await stack.account("sso-good")).status is AccountStatus.ACTIVE


async def test_429_switches_and_cools_the_account(stack: Stack) -> None:
    await stack.add("sso-limited")
    await stack.add("sso-fresh")
    stack.sim.set_fault("429", account="sso-limited", retry_after=60)
    for _ in range(2):
        await stack.client().chat.completions.create(model="grok-4", messages=USER, stream=False)
    limited = await stack.account("sso-limited")
    assert limited.status is AccountStatus.COOLING
    assert (await stack.account("sso-fresh")).status is AccountStatus.ACTIVE


async def test_cloudflare_challenge_does_not_blame_the_account(stack: Stack) -> None:
    await stack.add("sso-a")
    await stack.add("sso-b")
    stack.sim.set_fault("cf", times=1)
    answer = await stack.client().chat.completions.create(model="grok-4", messages=USER,
                                                          stream=False)
    assert answer.choices[0].message.content
    for credential in ("sso-a", "sso-b"):
        account = await stack.account(credential)
        assert account.status is AccountStatus.ACTIVE and account.fail_count == 0


async def test_stalled_upstream_is_cut_by_the_idle_timeout(
    sim: SimHandle, tmp_path: Path, protocol: str
) -> None:
    async with running_stack(sim=sim, data_dir=tmp_path, network={"chat_protocol": protocol},
                             timeout={"stream_idle_timeout": 0.5}) as stack:
        await stack.add("sso-a")
        stack.sim.set_fault("stall", account="sso-a")
        with pytest.raises(openai.APIError) as caught:
            stream = await stack.client().chat.completions.create(
                model="grok-4", messages=USER, stream=True)
            async for _ in stream:
                pass
        assert "idle" in str(caught.value.body) or getattr(caught.value, "status_code", 0) == 504


async def test_mid_stream_drop_gives_a_clean_error_event(stack: Stack) -> None:
    await stack.add("sso-a")
    stack.sim.script_reply("word " * 40)
    stack.sim.set_fault("drop", account="sso-a", after_frames=5)
    stream = await stack.client().chat.completions.create(model="grok-4", messages=USER,
                                                          stream=True)
    with pytest.raises(openai.APIError) as caught:
        async for _ in stream:
            pass
    assert caught.value.body["type"] == "upstream_error"
    assert (await stack.account("sso-a")).inflight == 0


async def test_client_disconnect_releases_the_lease(stack: Stack) -> None:
    await stack.add("sso-a")
    stack.sim.set_options(token_delay_ms=50)
    stack.sim.script_reply("tick " * 200)
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        async with http.stream("POST", "/v1/chat/completions", json={
            "model": "grok-4", "stream": True, "messages": USER}) as response:
            async for line in response.aiter_lines():
                if "tick" in line:
                    break
    for _ in range(100):
        if (await stack.account("sso-a")).inflight == 0:
            break
        await asyncio.sleep(0.02)
    assert (await stack.account("sso-a")).inflight == 0
    assert stack.grok is not None and stack.grok.open_streams == 0


async def test_concurrent_requests_account_quota_exactly(stack: Stack) -> None:
    # 48 requests at once on 8 accounts of 4 slots each: some wait for a free account.
    credentials = [f"sso-{i}" for i in range(8)]
    for credential in credentials:
        await stack.add(credential, auto=20)
    client = stack.client()
    results = await asyncio.gather(*[
        client.chat.completions.create(model="grok-4", messages=USER, stream=i % 2 == 0)
        for i in range(48)
    ])
    assert len(results) == 48
    used_upstream = sum(stack.sim.quota(c, "auto")["used"] for c in credentials)
    assert used_upstream == 48
    after = {c: (await stack.account(c)) for c in credentials}
    # Accounts start with no known window; the pool charges each success to its default one.
    charged = sum(w.total - w.remaining for a in after.values() for w in a.quota
                  if w.mode == "auto")
    assert charged == 48
    assert all(a.inflight == 0 for a in after.values())


async def test_client_keys_from_the_store_are_accepted(
    sim: SimHandle, tmp_path: Path
) -> None:
    async with running_stack(sim=sim, data_dir=tmp_path, app={"api_key": "sk-admin"}) as stack:
        await stack.add("sso-a")
        created = await stack.client_keys.create(name="team")
        client = openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key=created.plain_key,
                                    max_retries=0)
        wrong = openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key="sk-nope",
                                   max_retries=0)
        try:
            answer = await client.chat.completions.create(model="grok-4", messages=USER,
                                                          stream=False)
            assert answer.choices[0].message.content
            with pytest.raises(openai.AuthenticationError):
                await wrong.models.list()
        finally:
            await client.close()
            await wrong.close()


async def test_works_through_the_grpc_pool_transport(
    sim: SimHandle, tmp_path: Path, protocol: str
) -> None:
    async with running_stack(
        sim=sim, data_dir=tmp_path, grpc=True, network={"chat_protocol": protocol}
    ) as stack:
        await stack.add("sso-limited")
        await stack.add("sso-fresh")
        stack.sim.set_fault("429", account="sso-limited", retry_after=60)
        stack.sim.script_reply("via gRPC", times=2)
        for stream in (False, True):
            answer = await stack.client().chat.completions.create(
                model="grok-4", messages=USER, stream=stream)
            if stream:
                text = "".join([c.choices[0].delta.content or ""
                                async for c in answer if c.choices])
            else:
                text = answer.choices[0].message.content
            assert text == "via gRPC"
        assert (await stack.account("sso-limited")).status is AccountStatus.COOLING


async def test_models_list_marks_what_the_pool_can_serve(stack: Stack) -> None:
    await stack.add("sso-basic", tier="basic")
    models = {m.id: m.model_extra for m in (await stack.client().models.list()).data}
    assert models["grok-4"]["available"] is True
    assert models["grok-4-heavy"]["available"] is False
    assert models["grok-4-heavy"]["min_tier"] == "super"
