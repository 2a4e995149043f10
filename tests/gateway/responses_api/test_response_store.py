"""The stored-response backends: one contract for the in-process store and Redis, and how
the in-process store expires what it holds."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from gateway.responses_api.store import (
    InProcessResponseStore,
    RedisResponseStore,
    ResponseStore,
    StoredResponse,
)

DAY = 86_400.0


def stored(response_id: str, *, owner: str | None = "key-1", text: str = "hi") -> StoredResponse:
    return StoredResponse(
        owner=owner,
        response={"id": response_id, "object": "response", "status": "completed"},
        input_items=[{"type": "message", "role": "user", "content": text}],
        history=[{"role": "user", "content": text}, {"role": "assistant", "content": "hello"}],
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> AsyncIterator[ResponseStore]:
    if request.param == "memory":
        yield InProcessResponseStore()
    else:
        yield RedisResponseStore(redis_client, prefix=redis_prefix)


async def test_a_stored_response_reads_back_whole(store: ResponseStore) -> None:
    await store.put(stored("resp_1", text="first"), ttl_seconds=DAY)
    await store.put(stored("resp_2", owner=None), ttl_seconds=DAY)

    assert await store.get("resp_1") == stored("resp_1", text="first")
    assert await store.get("resp_2") == stored("resp_2", owner=None)
    assert await store.get("resp_unknown") is None


async def test_a_second_put_replaces_the_first(store: ResponseStore) -> None:
    await store.put(stored("resp_1", text="queued"), ttl_seconds=DAY)
    await store.put(stored("resp_1", text="completed"), ttl_seconds=DAY)

    assert await store.get("resp_1") == stored("resp_1", text="completed")


async def test_delete_says_whether_there_was_one(store: ResponseStore) -> None:
    await store.put(stored("resp_1"), ttl_seconds=DAY)

    assert await store.delete("resp_1")
    assert await store.get("resp_1") is None
    assert not await store.delete("resp_1")


async def test_a_response_is_gone_after_its_ttl(store: ResponseStore) -> None:
    await store.put(stored("resp_short"), ttl_seconds=0.05)
    await store.put(stored("resp_long"), ttl_seconds=DAY)
    await asyncio.sleep(0.2)

    assert await store.get("resp_short") is None
    assert await store.get("resp_long") is not None


async def test_in_process_expiry_follows_each_put() -> None:
    clock = Clock()
    store = InProcessResponseStore(clock=clock)
    await store.put(stored("resp_old"), ttl_seconds=60)
    await store.put(stored("resp_renewed"), ttl_seconds=60)
    clock.now += 50
    await store.put(stored("resp_renewed"), ttl_seconds=60)  # a later turn stores it again
    await store.put(stored("resp_new"), ttl_seconds=60)

    clock.now += 20
    assert await store.get("resp_old") is None
    assert await store.get("resp_renewed") is not None
    assert await store.get("resp_new") is not None


async def test_in_process_a_shorter_ttl_expires_behind_longer_ones() -> None:
    # The TTL is a setting: changed to a shorter one, newer responses expire before older
    # ones, and a read never answers with one of them.
    clock = Clock()
    store = InProcessResponseStore(clock=clock)
    await store.put(stored("resp_month"), ttl_seconds=30 * DAY)
    await store.put(stored("resp_minute"), ttl_seconds=60)

    clock.now += 61
    assert await store.get("resp_minute") is None
    assert await store.get("resp_month") is not None


async def test_in_process_a_small_response_costs_about_its_json() -> None:
    store = InProcessResponseStore()
    count = 200
    tracemalloc.start()
    try:
        before, _peak = tracemalloc.get_traced_memory()
        for n in range(count):
            await store.put(stored(f"resp_{n:04d}"), ttl_seconds=DAY)
        per_response = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    size = len(stored("resp_0000").encode())
    assert per_response < size + 600, (per_response, size)  # was 4 kB + (orjson's buffer)
