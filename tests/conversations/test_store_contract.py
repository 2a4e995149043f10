"""The continuation store's contract, run against both backends (in-process, Redis)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from grok2api_conversations import (
    ConversationStore,
    InProcessConversationStore,
    RedisConversationStore,
    StoredTurn,
    StoreUnavailableError,
)

TURN = StoredTurn(
    conversation_id="conv-1", response_id="up-resp-1", account_id="acct-1", model="grok-4"
)
SHORT_TTL = 0.2


@dataclasses.dataclass
class Backend:
    store: ConversationStore
    outlive: Callable[[float], Awaitable[None]]  # let this many seconds pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["in_process", "redis"])
async def backend(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> Backend:
    if request.param == "in_process":
        clock = FakeClock()

        async def jump(seconds: float) -> None:
            clock.now += seconds

        return Backend(InProcessConversationStore(clock=clock), jump)
    return Backend(RedisConversationStore(redis_client, prefix=redis_prefix), asyncio.sleep)


async def test_a_stored_turn_reads_back_whole(backend: Backend) -> None:
    await backend.store.put("resp_a", TURN, ttl_seconds=60)
    assert await backend.store.get("resp_a") == TURN


async def test_an_unknown_id_reads_as_none(backend: Backend) -> None:
    assert await backend.store.get("resp_never") is None


async def test_a_second_put_replaces_the_first(backend: Backend) -> None:
    await backend.store.put("resp_a", TURN, ttl_seconds=60)
    newer = dataclasses.replace(TURN, response_id="up-resp-2")
    await backend.store.put("resp_a", newer, ttl_seconds=60)
    assert await backend.store.get("resp_a") == newer


async def test_a_turn_is_forgotten_after_its_ttl(backend: Backend) -> None:
    await backend.store.put("resp_short", TURN, ttl_seconds=SHORT_TTL)
    await backend.store.put("resp_long", TURN, ttl_seconds=60)
    await backend.outlive(SHORT_TTL + 0.1)
    assert await backend.store.get("resp_short") is None
    assert await backend.store.get("resp_long") == TURN


async def test_delete_forgets_and_says_whether_it_was_there(backend: Backend) -> None:
    await backend.store.put("resp_a", TURN, ttl_seconds=60)
    assert await backend.store.delete("resp_a") is True
    assert await backend.store.get("resp_a") is None
    assert await backend.store.delete("resp_a") is False


async def test_ids_are_independent(backend: Backend) -> None:
    other = dataclasses.replace(TURN, account_id="acct-2")
    await backend.store.put("resp_a", TURN, ttl_seconds=60)
    await backend.store.put("resp_b", other, ttl_seconds=60)
    assert (await backend.store.get("resp_a"), await backend.store.get("resp_b")) == (TURN, other)


async def test_another_replica_reads_what_one_wrote(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    writer = RedisConversationStore(redis_client, prefix=redis_prefix)
    reader = RedisConversationStore(
        aioredis.Redis.from_url("redis://127.0.0.1:6379/0"), prefix=redis_prefix
    )
    try:
        await writer.put("resp_a", TURN, ttl_seconds=60)
        assert await reader.get("resp_a") == TURN
        ttl = await redis_client.pttl(f"{redis_prefix}conversation:resp_a")
        assert 59_000 < ttl <= 60_000
    finally:
        await reader._redis.aclose()


async def test_an_unreachable_redis_is_store_unavailable() -> None:
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = RedisConversationStore(client)
    try:
        with pytest.raises(StoreUnavailableError):
            await store.get("resp_a")
    finally:
        await client.aclose()


async def test_in_process_kept_turns_give_the_garbage_collector_nothing_to_walk() -> None:
    # Turns are kept for 30 days by default: none may add to every full collection.
    store = InProcessConversationStore()
    await store.put("warm-up", TURN, ttl_seconds=3600)
    gc.collect()
    tracked_before = len(gc.get_objects())
    for n in range(500):
        turn = dataclasses.replace(TURN, conversation_id=f"conv-{n}", response_id=f"up-{n}")
        await store.put(f"resp-{n}", turn, ttl_seconds=3600)
    gc.collect()
    assert len(gc.get_objects()) - tracked_before < 50  # was 2 per turn
    assert await store.get("resp-499") == dataclasses.replace(
        TURN, conversation_id="conv-499", response_id="up-499"
    )
