"""The OpenAI Responses API end to end: the openai SDK → gateway → pool → simulator."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest
from gateway_stack import Stack, running_stack
from grok_sim.testing import SimHandle

pytestmark = pytest.mark.e2e
LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Look a word up.",
    "parameters": {
        "type": "object",
        "properties": {"q": {"type": "string"}},
        "required": ["q"],
    },
}
CALL_LOOKUP = (
    "Let me check.\n<tool_calls><tool_call><tool_name>lookup</tool_name>"
    '<parameters>{"q": "grok"}</parameters></tool_call></tool_calls>'
)


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        sim=sim, data_dir=tmp_path, usage=True, network={"chat_protocol": "rest"}
    ) as running:
        await running.add("sso-a")
        yield running


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=stack.base_url + "/v1", api_key="sk-any", max_retries=0
    ) as sdk:
        yield sdk


def sent_prompt(stack: Stack) -> str:
    return str(stack.sim.requests(path="/rest/app-chat/conversations/new")[-1]["json"]["message"])


def assert_sdk_event_order(types: list[str]) -> None:
    """created, in_progress, then items each added, filled and done in turn, then the end."""
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    open_item = False
    for kind in types[2:-1]:
        if kind == "response.output_item.added":
            assert not open_item
            open_item = True
        elif kind == "response.output_item.done":
            assert open_item
            open_item = False
        else:
            assert open_item, kind
    assert not open_item


async def test_a_response_is_created_with_text_and_usage(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("Hi from the simulator.")
    response = await client.responses.create(
        model="grok-4", input="Hello there", instructions="Be brief.", metadata={"k": "v"}
    )
    assert response.status == "completed" and response.output_text == "Hi from the simulator."
    assert response.id.startswith("resp_") and response.metadata == {"k": "v"}
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert sent_prompt(stack).startswith("system: Be brief.")


async def test_a_streamed_answer_follows_the_sdk_event_order(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("The answer is 4.", reasoning="2 plus 2 is 4")
    types, numbers = [], []
    async with client.responses.stream(
        model="grok-4", input="2+2?", reasoning={"effort": "low", "summary": "auto"}
    ) as stream:
        async for event in stream:
            types.append(event.type)
            numbers.append(event.sequence_number)
        final = await stream.get_final_response()
    assert_sdk_event_order(types)
    assert numbers == sorted(set(numbers)) and numbers[0] == 0
    assert "response.reasoning_summary_text.delta" in types
    assert "response.output_text.delta" in types
    assert final.output_text == "The answer is 4."
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "2 plus 2 is 4"
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens > 0


async def test_reasoning_is_hidden_unless_a_summary_is_asked_for(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("Four.", reasoning="adding")
    response = await client.responses.create(model="grok-4", input="2+2?")
    assert [item.type for item in response.output] == ["message"]


async def test_a_function_calling_round_trip_through_previous_response_id(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply(CALL_LOOKUP)
    first = await client.responses.create(model="grok-4", input="What is grok?", tools=[LOOKUP])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "lookup"
    assert json.loads(calls[0].arguments) == {"q": "grok"}
    stack.sim.script_reply("Grok is a model.")
    second = await client.responses.create(
        model="grok-4",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "a model"}],
        tools=[LOOKUP],
    )
    assert second.output_text == "Grok is a model."
    prompt = sent_prompt(stack)
    assert "What is grok?" in prompt and "lookup" in prompt and "a model" in prompt


async def test_a_streamed_call_arrives_as_argument_deltas(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply(CALL_LOOKUP)
    types = []
    async with client.responses.stream(model="grok-4", input="grok?", tools=[LOOKUP]) as stream:
        async for event in stream:
            types.append(event.type)
        final = await stream.get_final_response()
    assert_sdk_event_order(types)
    assert "response.function_call_arguments.done" in types
    (call,) = [item for item in final.output if item.type == "function_call"]
    assert json.loads(call.arguments) == {"q": "grok"}


async def test_max_output_tokens_makes_the_response_incomplete(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("alpha beta gamma delta epsilon zeta eta theta iota kappa")
    response = await client.responses.create(model="grok-4", input="go", max_output_tokens=3)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 3


async def test_retrieve_input_items_and_delete(stack: Stack, client: openai.AsyncOpenAI) -> None:
    stack.sim.script_reply("Stored.")
    created = await client.responses.create(
        model="grok-4", input=[{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
    )
    fetched = await client.responses.retrieve(created.id)
    assert fetched.output_text == "Stored." and fetched.status == "completed"
    items = await client.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    await client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(created.id)


async def test_a_response_with_store_false_is_not_kept(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("Gone.")
    created = await client.responses.create(model="grok-4", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(created.id)


async def test_a_background_response_is_polled_to_completion(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.set_fault("slow-first-byte", delay_ms=300, times=1)
    stack.sim.script_reply("Done in the background.")
    queued = await client.responses.create(model="grok-4", input="work", background=True)
    assert queued.status == "queued"
    seen = {queued.status}
    response = queued
    while response.status not in ("completed", "failed", "incomplete", "cancelled"):
        await asyncio.sleep(0.02)
        response = await client.responses.retrieve(queued.id)
        seen.add(response.status)
    assert response.status == "completed" and "in_progress" in seen
    assert response.output_text == "Done in the background."


async def test_a_background_response_can_be_cancelled(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.set_fault("slow-first-byte", delay_ms=2000, times=1)
    stack.sim.script_reply("Never seen.")
    queued = await client.responses.create(model="grok-4", input="work", background=True)
    cancelled = await client.responses.cancel(queued.id)
    assert cancelled.status == "cancelled"
    assert (await client.responses.retrieve(queued.id)).status == "cancelled"


async def test_another_keys_response_is_not_found(stack: Stack) -> None:
    first = await stack.client_keys.create(name="one")
    second = await stack.client_keys.create(name="two")
    stack.sim.script_reply("Mine.")
    async with (
        openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key=first.plain_key) as mine,
        openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key=second.plain_key) as theirs,
    ):
        created = await mine.responses.create(model="grok-4", input="hi")
        assert (await mine.responses.retrieve(created.id)).id == created.id
        with pytest.raises(openai.NotFoundError):
            await theirs.responses.retrieve(created.id)


async def test_errors_are_in_openais_shape(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await client.responses.create(model="no-such-model", input="hi")
    assert missing.value.body["param"] == "model"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad:
        await client.responses.create(model="grok-4", input="hi", previous_response_id="resp_x")
    assert bad.value.body["param"] == "previous_response_id"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve("resp_unknown")


async def test_requests_are_metered_under_the_responses_endpoint(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("Hi.")
    await client.responses.create(model="grok-4", input="hi")
    assert stack.usage_log is not None and await stack.usage_log.flush()
    (record,) = await stack.store.usage.list()
    assert (record.endpoint, record.model, record.status) == ("/v1/responses", "grok-4", 200)
    assert record.prompt_tokens > 0 and record.completion_tokens > 0


def _readme_example(readme: Path | None = None) -> str:
    """The README's Responses example, as written there."""
    readme = readme or Path(__file__).resolve().parents[3] / "README.md"
    blocks = re.findall(r"^```python\n(.*?)^```", readme.read_text(), re.S | re.M)
    [example] = [b for b in blocks if "client.responses.create(" in b]
    return example


async def test_the_readme_example_runs_as_written(stack: Stack) -> None:
    stack.sim.script_reply("Seven.")
    stack.sim.script_reply("Eleven.")
    stack.sim.script_reply("Hi!")
    code = _readme_example().replace("http://localhost:8000", stack.base_url)
    printed = io.StringIO()

    def run() -> None:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})

    await asyncio.to_thread(run)
    assert printed.getvalue().splitlines() == ["Seven.", "Eleven. True", "Hi!"]


async def test_web_search_citations_come_back_as_url_citation_annotations(
    stack: Stack, client: openai.AsyncOpenAI
) -> None:
    stack.sim.script_reply("Found it.", search="weather paris")
    response = await client.responses.create(
        model="grok-4", input="Weather in Paris?", tools=[{"type": "web_search"}]
    )
    [message] = [item for item in response.output if item.type == "message"]
    [part] = message.content
    assert part.type == "output_text" and "Found it." in part.text
    assert part.annotations, part.text
    for note in part.annotations:
        assert note.type == "url_citation" and note.url.startswith("http")
        # Each annotation points at the citation it stands for in the text.
        assert note.url in part.text[note.start_index : note.end_index]
