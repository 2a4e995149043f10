"""Entry points for the ``grok2api`` CLI: only wiring, no logic.

async with running(settings, queue=queue, handlers=media_handlers(ctx)) as worker: ...
await serve_forever(settings, redis=redis, stop=stop)         # ``--target media-worker``
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import redis.asyncio as aioredis
from grok2api_jobs import JobQueue, RedisJobQueue, redis_streams
from grok2api_media.blobs import BlobStore
from grok2api_settings import Settings
from prometheus_client import REGISTRY, CollectorRegistry

from .handlers import Handler, media_handlers
from .media.context import MediaContext
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
    """A worker consuming ``queue`` with ``handlers`` (none: every job fails as of an
    unknown kind) for the duration of the block, at most
    ``performance.media_max_concurrent`` jobs at once; leaving the block shuts it down
    (running jobs get a grace period, then are left for reclaim)."""
    worker = Worker(
        queue=queue,
        handlers=handlers or {},
        concurrency=settings.performance.media_max_concurrent,
        visibility_timeout=settings.performance.media_reclaim_seconds,
        metrics=WorkerMetrics.on(registry),
    )
    task = asyncio.create_task(worker.run(), name="media-worker")
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def split_media_context(settings: Settings) -> AsyncIterator[MediaContext]:
    """The media context of the split target: the pool over gRPC, its own Grok client,
    the blob store in DATA_DIR (a volume shared with the gateways)."""
    from grok2api_poolclient.grpc_transport import GrpcPoolClient
    from grok_web.client import GrokClient
    from grok_web.options import ClientOptions

    async with (
        GrpcPoolClient(settings.services.token_pool_addr) as pool,
        GrokClient(options=ClientOptions.from_settings(settings)) as grok,
    ):
        yield MediaContext(
            settings=lambda: settings, pool=pool, grok=grok, blobs=BlobStore.from_settings(settings)
        )


async def serve_forever(
    settings: Settings,
    *,
    redis: aioredis.Redis,
    stop: asyncio.Event,
    handlers: Mapping[str, Handler] | None = None,
    registry: CollectorRegistry = REGISTRY,
    prefix: str = redis_streams.DEFAULT_PREFIX,
) -> None:
    """Consume the Redis job stream under ``prefix`` until ``stop`` is set, with the media
    handlers unless ``handlers`` are given.

    ``redis`` belongs to the caller, who closes it afterwards."""
    queue = RedisJobQueue(redis, prefix=prefix, events_ttl=settings.cache.job_ttl_seconds)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(queue.aclose)
        if handlers is None:
            media = await stack.enter_async_context(split_media_context(settings))
            handlers = media_handlers(media)
        async with running(settings, queue=queue, handlers=handlers, registry=registry):
            await stop.wait()
