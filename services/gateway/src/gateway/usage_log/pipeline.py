"""Wiring: the usage pipeline of one gateway process, as an async context manager.

Single-process (``redis=None``): ``UsageLog`` → ``StoreSink`` (the durable store), plus the
hourly ``RetentionPurger``. Split deployment: ``UsageLog`` → ``RedisUsageQueue`` and a
``UsageDrainer`` (every process runs one; one drains at a time). On exit the log is closed
first (its buffer written out), then the drainer or purger.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from grok2api_settings.live import LiveSettings

from .log import UsageLog
from .redis_queue import RedisUsageQueue, UsageKeys
from .retention import LocalGate, RetentionPurger
from .sink import StoreSink, UsageStore

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    from redis.asyncio import Redis


@contextlib.asynccontextmanager
async def usage_pipeline(
    settings: LiveSettings,
    store: UsageStore,
    *,
    redis: Redis | None = None,
    keys: UsageKeys = UsageKeys(),
) -> AsyncIterator[UsageLog]:
    """Start the pipeline and yield its ``UsageLog`` (call ``record`` per request)."""
    if redis is None:
        usage_log = UsageLog(StoreSink(store), settings=settings)
        purger = RetentionPurger(store.usage, settings=settings, gate=LocalGate())
        usage_log.start()
        purger.start()
        try:
            yield usage_log
        finally:
            await usage_log.aclose()
            await purger.aclose()
        return
    from .drainer import UsageDrainer  # with redis-py's leadership lock: split gateways only

    usage_log = UsageLog(RedisUsageQueue(redis, keys=keys), settings=settings)
    drainer = UsageDrainer(redis, store, settings=settings, keys=keys)
    usage_log.start()
    drainer.start()
    try:
        yield usage_log
    finally:
        await usage_log.aclose()
        await drainer.aclose()
