"""The ``expiring`` fixture: a queue over both backends whose jobs expire on demand."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from grok2api_jobs import InProcessJobQueue, RedisJobQueue
from job_expiry import Expiring, FakeClock


@pytest.fixture(params=["in_process", "redis"])
async def expiring(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> Expiring:
    if request.param == "in_process":
        clock = FakeClock()
        memory = InProcessJobQueue(events_ttl=60, clock=clock)

        async def jump(job_id: str) -> None:
            clock.now += 61

        return Expiring(memory, jump)

    queue = RedisJobQueue(redis_client, prefix=redis_prefix, events_ttl=1)

    async def gone(job_id: str) -> None:
        async with asyncio.timeout(10):
            while True:
                if await queue.record(job_id) is None and not await queue.finished(job_id):
                    return
                await asyncio.sleep(0.05)

    return Expiring(queue, gone)
