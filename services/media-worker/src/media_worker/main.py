"""Entry points for the ``grok2api`` CLI: only wiring, no logic.

async with running(settings, queue=queue, handlers=media_handlers(ctx)) as worker: ...
await serve_forever(settings, redis=redis, stop=stop)         # ``--target media-worker``
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from grok2api_jobs import JobQueue
from grok2api_media.blobs import BlobStore
from grok2api_settings import Settings
from prometheus_client import REGISTRY, CollectorRegistry

from .handlers import Handler, media_handlers
from .media.context import MediaContext
from .metrics import WorkerMetrics
from .worker import METRICS_LEASE_SECONDS, Worker

if TYPE_CHECKING:  # redis-py loads only for the media-worker target (a Redis job stream)
    import redis.asyncio as aioredis
    from grok2api_jobs import leadership as leaders


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    queue: JobQueue,
    handlers: Mapping[str, Handler] | None = None,
    registry: CollectorRegistry = REGISTRY,
    leadership: leaders.Leadership | None = None,
) -> AsyncIterator[Worker]:
    """A worker consuming ``queue`` with ``handlers`` (none: every job fails as of an
    unknown kind) for the duration of the block, at most
    ``performance.media_max_concurrent`` jobs at once; leaving the block shuts it down
    (running jobs get a grace period, then are left for reclaim).

    ``leadership`` elects the worker that reports the queue's depth and the size of the
    media store (``DATA_DIR/media``, the store the handlers write to); None: this one
    (the single-process mode)."""
    worker = Worker(
        queue=queue,
        handlers=handlers or {},
        concurrency=settings.performance.media_max_concurrent,
        visibility_timeout=settings.performance.media_reclaim_seconds,
        metrics=WorkerMetrics.on(registry),
        leadership=leadership,
        blobs=BlobStore.from_settings(settings),
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
    prefix: str | None = None,
) -> None:
    """Consume the Redis job stream under ``prefix`` (``redis_streams.DEFAULT_PREFIX``)
    until ``stop`` is set, with the media handlers unless ``handlers`` are given.

    ``redis`` belongs to the caller, who closes it afterwards."""
    from grok2api_jobs import RedisJobQueue, redis_streams

    prefix = redis_streams.DEFAULT_PREFIX if prefix is None else prefix
    queue = RedisJobQueue(redis, prefix=prefix, events_ttl=settings.cache.job_ttl_seconds)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(queue.aclose)
        if handlers is None:
            media = await stack.enter_async_context(split_media_context(settings))
            handlers = media_handlers(media)
        async with running(
            settings, queue=queue, handlers=handlers, registry=registry,
            leadership=metrics_leadership(redis, prefix),
        ):  # fmt: skip
            await stop.wait()


def metrics_leadership(redis: aioredis.Redis, prefix: str) -> leaders.RedisLeadership:
    """The lease that elects the worker reporting the shared gauges (one per queue: the
    workers sharing ``prefix``)."""
    from grok2api_jobs import leadership as leaders

    return leaders.RedisLeadership(
        redis, key=f"{prefix}media:metrics-leader", ttl_seconds=METRICS_LEASE_SECONDS
    )
