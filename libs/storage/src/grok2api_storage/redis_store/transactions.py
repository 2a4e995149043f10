"""Optimistic transactions (WATCH / MULTI / EXEC) with bounded retries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from .. import errors

MAX_ATTEMPTS = 50
T = TypeVar("T")

Body = Callable[[Pipeline], Awaitable[T]]


async def run(redis: Redis, *, watch: list[str], body: Body[T]) -> T:
    """Run ``body`` under WATCH of ``watch`` until EXEC succeeds.

    ``body`` reads with the pipeline in immediate mode, may ``await pipe.watch(...)``
    more keys, then calls ``pipe.multi()`` and queues its writes; its return value is
    returned once the writes are committed. Errors raised by ``body`` abort the attempt.
    """
    for _attempt in range(MAX_ATTEMPTS):
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.watch(*watch)
            result = await body(pipe)
            try:
                await pipe.execute()
            except WatchError:
                # Someone changed a watched key: read again. Jitter spreads the retries.
                await asyncio.sleep(random.uniform(0, 0.005))
                continue
            return result
    raise errors.StorageUnavailableError(
        f"gave up after {MAX_ATTEMPTS} conflicting concurrent writes to the Redis store"
    )
