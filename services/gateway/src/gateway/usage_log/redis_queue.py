"""Split deployment: batches of usage records go to a Redis list that a ``UsageDrainer``
empties into the durable store."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from grok2api_storage.records import UsageRecord

from . import codec, metrics

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    from redis.asyncio import Redis


@dataclasses.dataclass(frozen=True)
class UsageKeys:
    """The Redis keys of the usage pipeline, under one prefix."""

    prefix: str = "grok2api:usage:"

    @property
    def pending(self) -> str:
        """The list of encoded records: gateways push to its tail, drainers take its head."""
        return f"{self.prefix}pending"

    @property
    def drain_lock(self) -> str:
        """Held (with a TTL, renewed) by the one drainer currently draining."""
        return f"{self.prefix}drain-lock"

    @property
    def purge_due(self) -> str:
        """Epoch seconds when the next retention purge is due (whoever claims it purges)."""
        return f"{self.prefix}purge-due"


class RedisUsageQueue:
    """A ``UsageSink``: one RPUSH of the whole batch (one round trip). RPUSH is atomic, so a
    batch is in the list entirely or not at all; a push retried after a lost answer may
    add it twice, which the drainer's idempotent writes absorb."""

    stage = "queue"

    def __init__(self, redis: Redis, *, keys: UsageKeys = UsageKeys()) -> None:
        self._redis = redis
        self._keys = keys

    async def write(self, batch: Sequence[UsageRecord]) -> None:
        if not batch:
            return
        length = await self._redis.rpush(  # type: ignore[misc]
            self._keys.pending, *[codec.encode(record) for record in batch]
        )
        metrics.WRITTEN.labels("queue").inc(len(batch))
        metrics.DRAIN_BACKLOG.set(int(length))
