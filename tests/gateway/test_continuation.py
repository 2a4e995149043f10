"""Continuing a turn (``gateway.chat.continuation.run_turn``, the Responses API's entry point)
against the real pool, grok_web and the simulator, on both chat generations: the turn is
stored, the next one goes to the account holding the conversation with the continuation
fields, and what cannot be continued says why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from gateway import errors
from gateway.chat import attachments, continuation, plan, service, usage
from gateway.chat import request as req
from gateway_stack import Stack, running_stack
from grok2api_conversations import (
    ConversationStore,
    InProcessConversationStore,
    RedisConversationStore,
)
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient.leases import Outcome
from grok_sim.testing import SimHandle
from grok_web import events as ev

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["rest", "mgw"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path, protocol: str) -> AsyncIterator[Stack]:
    async with running_stack(
        sim=sim, data_dir=tmp_path, network={"chat_protocol": protocol}
    ) as running:
        yield running


@pytest.fixture(params=["in_process", "redis"])
async def stores(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> tuple[ConversationStore, ConversationStore]:
    """The store one replica writes and the one the next turn's replica reads."""
    if request.param == "in_process":
        store = InProcessConversationStore()
        return store, store
    return (
        RedisConversationStore(redis_client, prefix=redis_prefix),
        RedisConversationStore(redis_client, prefix=redis_prefix),
    )


def _deps(stack: Stack, store: ConversationStore) -> service.Deps:
    assert stack.grok is not None
    return service.Deps(
        settings=stack.live, pool=stack.pool, grok=stack.grok, tokens=usage.TokenCounter(),
        fetcher=attachments.Fetcher(), conversations=store,
    )  # fmt: skip


def _plan(stack: Stack, text: str) -> plan.Plan:
    body = req.ChatCompletionRequest.model_validate(
        {"model": "grok-4", "messages": [{"role": "user", "content": text}]}
    )
    return plan.plan(body=body, chat=stack.live.current.chat)


async def _turn(
    stack: Stack, store: ConversationStore, text: str, response_id: str, previous: str | None
) -> ev.Final:
    events: list[Any] = []
    turn = continuation.run_turn(
        deps=_deps(stack, store), plan_=_plan(stack, text), request_id="req-" + response_id,
        response_id=response_id, previous_response_id=previous,
    )  # fmt: skip
    async for batch in turn:
        events.extend(batch)
    final = events[-1]
    assert isinstance(final, ev.Final)
    return final


def _continued(stack: Stack, conversation_id: str) -> dict[str, Any]:
    """What the last turn sent to continue: the conversation, the parent, the credential."""
    if stack.live.current.network.chat_protocol == "rest":
        sent = stack.sim.requests(path=f"/rest/app-chat/conversations/{conversation_id}/responses")
        [one] = sent
        return {"conversation": conversation_id, "parent": one["json"]["responseId"]}
    events = [r["json"] for r in stack.sim.requests(path="/ws/mgw/") if r["method"] == "WS"]
    create = [e for e in events if e["event"]["type"] == "session.create"][-1]
    item = [e for e in events if e["event"]["type"] == "conversation.item.create"][-1]
    return {"conversation": create.get("session_id"),
            "parent": item["event"].get("parent_response_id")}  # fmt: skip


async def test_the_next_turn_continues_the_conversation_on_its_account(
    stack: Stack, stores: tuple[ConversationStore, ConversationStore]
) -> None:
    writer, reader = stores
    await stack.add("sso-a")
    await stack.add("sso-b")
    first = await _turn(stack, writer, "first", "resp_1", None)
    stored = await reader.get("resp_1")
    assert stored is not None
    assert (stored.conversation_id, stored.response_id) == (
        first.conversation_id,
        first.response_id,
    )
    assert stored.model == "grok-4" and stored.account_id in stack.ids.values()
    # the other account now has more quota left: only the pin sends the turn to this one
    second = await _turn(stack, reader, "second", "resp_2", "resp_1")
    assert _continued(stack, first.conversation_id) == {
        "conversation": first.conversation_id,
        "parent": first.response_id,
    }
    assert second.conversation_id == first.conversation_id
    again = await writer.get("resp_2")
    assert again is not None and again.account_id == stored.account_id
    assert again.response_id == second.response_id != first.response_id
    third = await _turn(stack, writer, "third", "resp_3", "resp_2")
    assert third.conversation_id == first.conversation_id


async def test_an_unknown_previous_response_is_an_invalid_request(stack: Stack) -> None:
    await stack.add("sso-a")
    with pytest.raises(errors.InvalidRequest) as caught:
        await _turn(stack, InProcessConversationStore(), "x", "resp_2", "resp_missing")
    assert caught.value.param == "previous_response_id"


async def test_a_cooling_holder_is_exhaustion_never_another_account(stack: Stack) -> None:
    store = InProcessConversationStore()
    await stack.add("sso-a")
    await stack.add("sso-b")
    await _turn(stack, store, "first", "resp_1", None)
    stored = await store.get("resp_1")
    assert stored is not None
    lease = await stack.pool.acquire(model="grok-4", account_id=stored.account_id)
    await stack.pool.release(lease, outcome=Outcome.RATE_LIMITED, retry_after=600)
    before = len(stack.sim.requests())
    with pytest.raises(pool_errors.PoolExhausted) as caught:
        await _turn(stack, store, "second", "resp_2", "resp_1")
    assert caught.value.reason is pool_errors.ExhaustedReason.ALL_COOLING
    assert len(stack.sim.requests()) == before  # nothing went upstream on another account


async def test_a_holder_that_left_the_pool_is_an_invalid_request(stack: Stack) -> None:
    store = InProcessConversationStore()
    await stack.add("sso-a")
    await _turn(stack, store, "first", "resp_1", None)
    stored = await store.get("resp_1")
    assert stored is not None
    await stack.pool.remove_account(stored.account_id)
    with pytest.raises(errors.InvalidRequest) as caught:
        await _turn(stack, store, "second", "resp_2", "resp_1")
    assert caught.value.param == "previous_response_id"


async def test_without_a_store_turns_cannot_be_continued(stack: Stack) -> None:
    deps = _deps(stack, InProcessConversationStore())
    bare = service.Deps(
        settings=deps.settings, pool=deps.pool, grok=deps.grok, tokens=deps.tokens,
        fetcher=deps.fetcher,
    )  # fmt: skip
    turn = continuation.run_turn(
        deps=bare, plan_=_plan(stack, "x"), request_id="r", response_id="resp_1"
    )
    with pytest.raises(errors.StoreUnavailable):
        await anext(turn)
