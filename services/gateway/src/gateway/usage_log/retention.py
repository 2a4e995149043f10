"""Deleting usage records older than ``usage.retention_days``, once an hour.

A ``PurgeGate`` decides who purges when: ``LocalGate`` in one process, ``RedisGate`` across
every gateway of a split deployment (the first to claim the hour purges; the others skip).
Both take the time from the injected clock, so tests can move it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from grok2api_settings.live import LiveSettings
from grok2api_storage.protocols import UsageRepository
from grok2api_storage.records import utcnow

from . import metrics

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
PURGE_EVERY = timedelta(hours=1)
RETRY_FAILED_PURGE = timedelta(minutes=1)

# Claim the purge if it is due: the key holds when the next one is due (epoch seconds).
_CLAIM = """
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
if now >= due then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class PurgeGate(Protocol):
    async def claim(self, now: datetime, next_due: datetime) -> bool:
        """Whether a purge is due at ``now``; if so the caller purges and the next is due
        at ``next_due``."""

    async def postpone(self, next_due: datetime) -> None:
        """After a failed purge: try again at ``next_due`` instead."""


class LocalGate:
    def __init__(self) -> None:
        self._due: datetime | None = None

    async def claim(self, now: datetime, next_due: datetime) -> bool:
        if self._due is not None and now < self._due:
            return False
        self._due = next_due
        return True

    async def postpone(self, next_due: datetime) -> None:
        self._due = next_due


class RedisGate:
    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key
        self._claim = redis.register_script(_CLAIM)

    async def claim(self, now: datetime, next_due: datetime) -> bool:
        claimed = await self._claim(
            keys=[self._key], args=[repr(now.timestamp()), repr(next_due.timestamp())]
        )
        return int(claimed) == 1

    async def postpone(self, next_due: datetime) -> None:
        await self._redis.set(self._key, repr(next_due.timestamp()))


class RetentionPurger:
    def __init__(
        self,
        usage: UsageRepository,
        *,
        settings: LiveSettings,
        gate: PurgeGate,
        clock: Clock = utcnow,
        every: timedelta = PURGE_EVERY,
    ) -> None:
        self._usage = usage
        self._settings = settings
        self._gate = gate
        self._clock = clock
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def purge_if_due(self) -> int | None:
        """Purge if this process claims the due purge: the number of records deleted, or
        ``None`` when none was due here. Store errors propagate (the purge is re-tried a
        minute later by whoever claims it then)."""
        now = self._clock()
        if not await self._gate.claim(now, now + self._every):
            return None
        cutoff = now - timedelta(days=self._settings.current.usage.retention_days)
        try:
            deleted = await self._usage.purge_before(cutoff)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._gate.postpone(now + RETRY_FAILED_PURGE)
            raise
        metrics.PURGED.inc(deleted)
        log.info("usage_purged deleted=%d cutoff=%s", deleted, cutoff.isoformat())
        return deleted

    def start(self, *, check_every: float = 60.0) -> None:
        """Single-process mode: check every ``check_every`` seconds in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(check_every), name="usage-retention")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, check_every: float) -> None:
        while True:
            try:
                await self.purge_if_due()
            except Exception as exc:
                log.warning("usage_purge_failed error=%s", type(exc).__name__)
            await asyncio.sleep(check_every)
