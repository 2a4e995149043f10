"""Plain and streamed chat through the gateway with the official openai SDK (fake upstream)."""

from __future__ import annotations

import openai
import pytest
from gateway_fakes import Gateway, reply, text_reply
from grok2api_poolclient import leases
from grok_web import events as ev


async def test_answers_a_plain_chat_completion(gateway: Gateway) -> None:
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=False
    )
    assert answer.choices[0].message.content == "Hello world"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens == 2
    assert gateway.pool.outcomes() == [("acct-1", leases.Outcome.SUCCESS)]


async def test_streams_chunks_and_done(gateway: Gateway) -> None:
    stream = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello world"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
    assert gateway.pool.outcomes() == [("acct-1", leases.Outcome.SUCCESS)]


async def test_flattens_roles_into_one_upstream_message(gateway: Gateway) -> None:
    await gateway.client().chat.completions.create(
        model="grok-4", stream=False,
        messages=[
            {"role": "developer", "content": "be brief"},
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "q1"}]},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
        ],
    )
    _, request = gateway.grok.requests[0]
    assert request.message == (
        "developer: be brief\n\nsystem: sys\n\nuser: q1\n\nassistant: a1\n\nq2"
    )
    assert request.model == "grok-4"


async def test_a_one_message_chat_sends_exactly_the_users_text(gateway: Gateway) -> None:
    text = "  [user]: is this kept?\nyes, as typed  "
    await gateway.client().chat.completions.create(
        model="grok-4", stream=False, messages=[{"role": "user", "content": text}]
    )
    _, request = gateway.grok.requests[0]
    assert request.message == text


async def test_the_last_user_message_stays_as_typed_when_tool_results_follow_it(
    gateway: Gateway,
) -> None:
    await gateway.client().chat.completions.create(
        model="grok-4", stream=False,
        messages=[
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            }]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    _, request = gateway.grok.requests[0]
    blocks = request.message.split("\n\n")
    assert blocks[:2] == ["system: sys", "weather in Paris?"]
    assert blocks[2].startswith("assistant: ") and "weather" in blocks[2]
    assert blocks[3] == "[tool result for call_1]:\nsunny"


async def test_reasoning_goes_to_reasoning_content_and_counts_tokens(gateway: Gateway) -> None:
    gateway.grok.scripts["*"] = text_reply("42", reasoning=["let me think", " hard"])
    answer = await gateway.client().chat.completions.create(
        model="grok-4.1-thinking", messages=[{"role": "user", "content": "?"}], stream=False,
        reasoning_effort="high",
    )
    message = answer.choices[0].message
    assert message.content == "42"
    assert message.model_extra["reasoning_content"] == "let me think hard"
    assert answer.usage.completion_tokens_details.reasoning_tokens > 0


async def test_reasoning_can_be_inlined_in_think_tags(gateway: Gateway) -> None:
    gateway.live.apply({"chat.reasoning_format": "think_tags"})
    gateway.grok.scripts["*"] = text_reply("42", reasoning=["hmm"])
    stream = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "?"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "<think>\nhmm\n</think>\n\n42"


async def test_thinking_disabled_hides_reasoning(gateway: Gateway) -> None:
    gateway.grok.scripts["*"] = text_reply("42", reasoning=["secret"])
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "?"}], stream=False,
        extra_body={"thinking": "disabled"},
    )
    assert "reasoning_content" not in (answer.choices[0].message.model_extra or {})


async def test_strips_filter_tags_and_renders_citations(gateway: Gateway) -> None:
    gateway.grok.scripts["*"] = reply(
        ev.TextDelta(text="See <grok:render card_id=\"1\" type=\"x\">junk</grok"),
        ev.TextDelta(text=":render> this"),
        ev.Citation(url="https://example.org/a", title="A", number=1),
        ev.Final(response_id="r", message=""),
    )
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "?"}], stream=False
    )
    assert answer.choices[0].message.content == "See  this [[1]](https://example.org/a)"


async def test_unknown_model_is_a_404_model_not_found(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await gateway.client().chat.completions.create(
            model="gpt-nope", messages=[{"role": "user", "content": "Hi"}]
        )
    assert caught.value.body["code"] == "model_not_found"
    assert caught.value.body["param"] == "model"


async def test_invalid_param_is_a_400_naming_it(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], temperature=7
        )
    assert caught.value.body["param"] == "temperature"
    assert caught.value.body["type"] == "invalid_request_error"


async def test_empty_messages_are_rejected(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gateway.client().chat.completions.create(model="grok-4", messages=[])
    assert caught.value.body["param"] == "messages"


async def test_unknown_params_are_ignored(gateway: Gateway) -> None:
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=False,
        extra_body={"frobnicate": 3}, user="u-1",
    )
    assert answer.choices[0].message.content == "Hello world"


async def test_lists_models_with_tier_and_cost(gateway: Gateway) -> None:
    models = await gateway.client().models.list()
    by_id = {m.id: m for m in models.data}
    assert by_id["grok-4-heavy"].model_extra["min_tier"] == "super"
    assert by_id["grok-4-heavy"].model_extra["cost"] == 4
    one = await gateway.client().models.retrieve("grok-4")
    assert one.id == "grok-4"
    with pytest.raises(openai.NotFoundError):
        await gateway.client().models.retrieve("nope")


async def test_records_request_metrics(gateway: Gateway) -> None:
    from prometheus_client import REGISTRY

    labels = {"route": "/v1/chat/completions", "model": "grok-4.1", "status": "200"}
    before = REGISTRY.get_sample_value("grok2api_gateway_requests_total", labels) or 0
    await gateway.client().chat.completions.create(
        model="grok-4.1", messages=[{"role": "user", "content": "Hi"}], stream=False
    )
    assert REGISTRY.get_sample_value("grok2api_gateway_requests_total", labels) == before + 1


async def test_unknown_routes_answer_in_the_openai_error_shape(gateway: Gateway) -> None:
    import httpx2

    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        missing = await http.get("/v1/nope")
        wrong_method = await http.get("/v1/chat/completions")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "invalid_request_error"
