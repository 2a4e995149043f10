"""Fixtures of the token pool tests: a real SQLite store, both hot-state backends, services.

``backend`` parametrises the contract suite over ``memory`` and ``redis``. ``pool`` builds
``PoolService`` replicas sharing one hot state (one ``MemoryHotState``, or one Redis key
prefix unique to the test) and one store.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from grok2api_settings import Settings
from grok2api_storage import crypto, factory, protocols
from pool_harness import REDIS_URL, Clock, HotFactory, Pool
from token_pool.hot import base, memory, redis_state


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[protocols.Store]:
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "server": {"storage_type": "local"}}
    )
    cipher = crypto.CredentialCipher(key=crypto.generate_key(), source="test")
    opened = await factory.open_store(settings, cipher=cipher)
    await opened.migrate()
    yield opened
    await opened.aclose()


@pytest.fixture
def redis_prefix() -> str:
    return f"test:pool:{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def hot_factory(
    backend: str, redis_prefix: str, redis_client: aioredis.Redis
) -> AsyncIterator[HotFactory]:
    """Each call gives one replica's view of the shared hot state."""
    shared = memory.MemoryHotState()
    clients: list[aioredis.Redis] = []

    async def make() -> base.HotState:
        if backend == "memory":
            return shared
        client = aioredis.Redis.from_url(REDIS_URL)
        clients.append(client)
        return redis_state.RedisHotState(client, prefix=redis_prefix)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def pool(
    store: protocols.Store, hot_factory: HotFactory, clock: Clock
) -> AsyncIterator[Pool]:
    built = Pool(store=store, hot_factory=hot_factory, clock=clock)
    yield built
    await built.close()
