"""Entry points for the ``grok2api`` CLI: only wiring, no logic.

async with running(settings, queue=queue) as worker: ...     # inside another process
await serve_forever(settings, redis=redis, stop=stop)         # ``--target media-worker``
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import redis.asyncio as aioredis
from grok2api_jobs import JobQueue, RedisJobQueue, redis_streams
from grok2api_settings import Settings
from prometheus_client import REGISTRY, CollectorRegistry

from .handlers import Handler, default_handlers
from .metrics import WorkerMetrics
from .worker import Worker


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    queue: JobQueue,
    handlers: Mapping[str, Handler] | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> AsyncIterator[Worker]:
    """A worker consuming ``queue`` for the duration of the block, at most
    ``performance.media_max_concurrent`` jobs at once; leaving the block shuts it down
    (running jobs get a grace period, then are left for reclaim)."""
    worker = Worker(
        queue=queue,
        handlers=default_handlers(settings) if handlers is None else handlers,
        concurrency=settings.performance.media_max_concurrent,
        metrics=WorkerMetrics.on(registry),
    )
    task = asyncio.create_task(worker.run(), name="media-worker")
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve_forever(
    settings: Settings,
    *,
    redis: aioredis.Redis,
    stop: asyncio.Event,
    handlers: Mapping[str, Handler] | None = None,
    registry: CollectorRegistry = REGISTRY,
    prefix: str = redis_streams.DEFAULT_PREFIX,
) -> None:
    """Consume the Redis job stream under ``prefix`` until ``stop`` is set.

    ``redis`` belongs to the caller, who closes it afterwards."""
    queue = RedisJobQueue(redis, prefix=prefix)
    async with running(settings, queue=queue, handlers=handlers, registry=registry):
        await stop.wait()
