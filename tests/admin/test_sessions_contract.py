"""SessionStore behaviours, the same cases on the in-process and the Redis backend."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from admin import sessions


@pytest.fixture(params=["in_process", "redis"])
def store(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> sessions.SessionStore:
    if request.param == "in_process":
        return sessions.MemorySessionStore()
    return sessions.RedisSessionStore(redis_client, prefix=redis_prefix)


async def test_a_created_session_is_found_by_its_id_until_deleted(
    store: sessions.SessionStore,
) -> None:
    session = sessions.new_session(password="pw")
    await store.create(session, ttl_seconds=60)
    assert session.id != session.csrf_token and len(session.id) >= 40
    assert session.password_seal == sessions.seal("pw", session.id)
    assert await store.get(session.id) == session
    await store.delete(session.id)
    assert await store.get(session.id) is None
    assert await store.get("not-a-session") is None


async def test_a_session_expires_after_its_ttl(store: sessions.SessionStore) -> None:
    session = sessions.new_session(password="pw")
    await store.create(session, ttl_seconds=1)
    await asyncio.sleep(1.1)
    assert await store.get(session.id) is None


async def test_failures_are_counted_per_client_within_a_window(
    store: sessions.SessionStore,
) -> None:
    assert [await store.count_failure("10.0.0.1", window_seconds=60) for _ in range(3)] == [1, 2, 3]
    assert await store.count_failure("10.0.0.2", window_seconds=60) == 1
    await store.clear_failures("10.0.0.1")
    assert await store.count_failure("10.0.0.1", window_seconds=60) == 1


async def test_the_failure_window_ends(store: sessions.SessionStore) -> None:
    await store.count_failure("10.0.0.1", window_seconds=1)
    await asyncio.sleep(1.1)
    assert await store.count_failure("10.0.0.1", window_seconds=1) == 1


async def test_a_lock_holds_for_its_time_and_restarts_the_count(
    store: sessions.SessionStore,
) -> None:
    await store.count_failure("10.0.0.1", window_seconds=60)
    assert await store.locked_for("10.0.0.1") == 0
    await store.lock("10.0.0.1", seconds=1)
    assert 0.5 < await store.locked_for("10.0.0.1") <= 1
    assert await store.locked_for("10.0.0.2") == 0
    assert await store.count_failure("10.0.0.1", window_seconds=60) == 1
    await asyncio.sleep(1.1)
    assert await store.locked_for("10.0.0.1") == 0


async def test_redis_holds_no_session_id_in_clear(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = sessions.RedisSessionStore(redis_client, prefix=redis_prefix)
    session = sessions.new_session(password="pw")
    await store.create(session, ttl_seconds=60)
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")]
    values = [await redis_client.get(key) for key in keys]
    assert session.id.encode() not in b" ".join([*keys, *values])
