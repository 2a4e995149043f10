"""Continuing an upstream conversation (protocol §3.2, §6.2-6.4) against the simulator, on
both chat generations: what the Final of a turn reports, and what a continued turn sends."""

from __future__ import annotations

import dataclasses

import pytest
from grok_web import ChatRequest, Continuation, errors
from grok_web import client as client_mod
from grok_web import events as ev
from grok_web_helpers import collect

CREDENTIAL = "sim-continuation"


def _client(sim, client_for, protocol: str) -> client_mod.GrokClient:
    grok = client_for(sim.base_url)
    grok.reconfigure(options=dataclasses.replace(grok.options, chat_protocol=protocol))
    return grok


@pytest.fixture
def rest_grok(sim, client_for) -> client_mod.GrokClient:
    return _client(sim, client_for, "rest")


@pytest.fixture
def mgw_grok(sim, client_for) -> client_mod.GrokClient:
    return _client(sim, client_for, "mgw")


async def _final(grok: client_mod.GrokClient, request: ChatRequest) -> ev.Final:
    events = await collect(grok.chat(credential=CREDENTIAL, request=request))
    final = events[-1]
    assert isinstance(final, ev.Final)
    return final


def _ws_events(sim) -> list[dict]:
    return [r["json"] for r in sim.requests(path="/ws/mgw/") if r["method"] == "WS"]


async def test_rest_final_names_the_conversation_and_the_answer(sim, rest_grok) -> None:
    final = await _final(rest_grok, ChatRequest(message="first"))
    [new] = sim.requests(path="/rest/app-chat/conversations/new")
    assert "responseId" not in new["json"]
    assert final.conversation_id and final.response_id
    assert final.response_id != final.parent_response_id  # the answer, not the user turn


async def test_rest_continuation_posts_to_the_conversation_with_the_parent(sim, rest_grok) -> None:
    first = await _final(rest_grok, ChatRequest(message="first"))
    request = ChatRequest(
        message="second",
        continuation=Continuation(
            conversation_id=first.conversation_id, parent_response_id=first.response_id
        ),
    )
    second = await _final(rest_grok, request)

    path = f"/rest/app-chat/conversations/{first.conversation_id}/responses"
    [sent] = sim.requests(path=path)
    assert sent["method"] == "POST"
    assert sent["json"]["responseId"] == first.response_id
    assert sent["json"]["message"] == "second"
    assert second.conversation_id == first.conversation_id
    assert second.response_id and second.response_id != first.response_id


async def test_rest_continuation_of_an_unknown_conversation_fails(sim, rest_grok) -> None:
    request = ChatRequest(
        message="second", continuation=Continuation(conversation_id="nope", parent_response_id="r")
    )
    with pytest.raises(errors.NotFound):
        await _final(rest_grok, request)


async def test_mgw_final_names_the_session_and_the_done_response(sim, mgw_grok) -> None:
    final = await _final(mgw_grok, ChatRequest(message="first"))
    create = _ws_events(sim)[0]
    assert "session_id" not in create
    x_grok = create["event"]["session"]["x_grok"]
    assert x_grok["keep_context"] is False and "load_existing" not in x_grok
    assert final.conversation_id and final.response_id


async def test_mgw_continuation_sends_the_session_and_the_parent(sim, mgw_grok) -> None:
    first = await _final(mgw_grok, ChatRequest(message="first"))
    recorded = len(_ws_events(sim))
    continuation = Continuation(
        conversation_id=first.conversation_id, parent_response_id=first.response_id
    )
    second = await _final(mgw_grok, ChatRequest(message="second", continuation=continuation))

    sent = [e for e in _ws_events(sim)[recorded:] if e["event"]["type"] != "ping"]
    create, item, response = sent
    assert create["session_id"] == first.conversation_id
    x_grok = create["event"]["session"]["x_grok"]
    assert x_grok["conversation_id"] == first.conversation_id
    assert x_grok["load_existing"] is True and x_grok["needs_history"] is False
    assert not {"keep_context", "is_temporary", "disable_memory"} & x_grok.keys()
    assert item["session_id"] == first.conversation_id
    assert item["event"]["parent_response_id"] == first.response_id
    assert response["event"]["type"] == "response.create"
    assert second.conversation_id == first.conversation_id
    assert second.response_id and second.response_id != first.response_id


async def test_mgw_continuation_of_an_unknown_conversation_fails(sim, mgw_grok) -> None:
    continuation = Continuation(conversation_id="nope", parent_response_id="r")
    with pytest.raises(errors.NotFound):
        await _final(mgw_grok, ChatRequest(message="x", continuation=continuation))
