"""The app-chat answer stream (grok-protocol.md §4, §5)."""

from __future__ import annotations

from typing import Any

import httpx2
from grok_sim.testing import SimHandle
from sim_wire import answer_text, chat_body, frames_of, grok_headers, reasoning_text, responses_of

CHAT = "/rest/app-chat/conversations/new"


async def post_chat(client: httpx2.AsyncClient, credential: str, **body: Any) -> httpx2.Response:
    return await client.post(CHAT, headers=grok_headers(credential), json=chat_body(**body))


async def test_streams_conversation_tokens_envelope_and_soft_stop(client, account):
    answer = await post_chat(client, account, message="Hi there")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    frames = frames_of(answer.text)
    assert frames[0]["result"]["conversation"]["conversationId"]
    responses = responses_of(answer.text)
    assert "userResponse" in responses[0]
    envelope = next(r["modelResponse"] for r in responses if "modelResponse" in r)
    text = answer_text(answer.text)
    assert text and envelope["message"] == text
    assert envelope["generatedImageUrls"] == []
    assert envelope["parentResponseId"] == responses[0]["userResponse"]["responseId"]
    assert any(r.get("isSoftStop") for r in responses)
    assert "finalMetadata" in responses[-1]
    assert reasoning_text(answer.text) == ""


async def test_reply_is_deterministic_for_message_and_seed(client, account, sim: SimHandle):
    first = answer_text((await post_chat(client, account, message="same")).text)
    again = answer_text((await post_chat(client, account, message="same")).text)
    other = answer_text((await post_chat(client, account, message="different")).text)
    sim.set_options(seed=42)
    reseeded = answer_text((await post_chat(client, account, message="same")).text)
    assert first == again
    assert first != other
    assert first != reseeded


async def test_expert_mode_streams_reasoning_before_the_answer(client, account):
    answer = await post_chat(client, account, mode="expert")
    responses = [r for r in responses_of(answer.text) if r.get("token")]
    thinking = [i for i, r in enumerate(responses) if r["isThinking"]]
    final = [i for i, r in enumerate(responses) if not r["isThinking"]]
    assert thinking and final and max(thinking) < min(final)
    assert all("rolloutId" not in responses[i] for i in thinking)


async def test_heavy_mode_reasoning_carries_rollout_ids(client, sim: SimHandle):
    sim.add_account("tok-heavy", tier="heavy")
    answer = await post_chat(client, "tok-heavy", mode="heavy")
    thinking = [r for r in responses_of(answer.text) if r.get("isThinking")]
    assert thinking and all(r.get("rolloutId") for r in thinking)


async def test_continuation_answers_in_the_same_conversation(client, account):
    first = await post_chat(client, account, message="one", temporary=False)
    conversation_id = frames_of(first.text)[0]["result"]["conversation"]["conversationId"]
    parent = next(r["modelResponse"]["responseId"] for r in responses_of(first.text)
                  if "modelResponse" in r)
    url = f"/rest/app-chat/conversations/{conversation_id}/responses"
    body = chat_body(message="two", temporary=False, responseId=parent)
    second = await client.post(url, headers=grok_headers(account), json=body)
    assert second.status_code == 200
    assert "conversation" not in frames_of(second.text)[0]["result"]
    assert answer_text(second.text)


async def test_continuation_needs_a_known_conversation_and_parent(client, account):
    unknown = await client.post("/rest/app-chat/conversations/nope/responses",
                                headers=grok_headers(account), json=chat_body(responseId="r"))
    assert unknown.status_code == 404
    first = await post_chat(client, account)
    conversation_id = frames_of(first.text)[0]["result"]["conversation"]["conversationId"]
    wrong = await client.post(f"/rest/app-chat/conversations/{conversation_id}/responses",
                              headers=grok_headers(account), json=chat_body(responseId="r"))
    assert wrong.status_code == 400 and "responseId" in wrong.text
