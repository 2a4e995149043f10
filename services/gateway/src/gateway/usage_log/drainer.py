"""``UsageDrainer``: empties the Redis usage list into the durable store (split deployment).

Every gateway process runs one; a Redis lock (``SET NX PX``, renewed while held) lets at most
one drain at a time. The holder reads up to ``batch_size`` records from the head of the
list (LRANGE), writes them (``add_many`` + ``mark_used``), then removes exactly those
(LTRIM) in a script that first checks it still holds the lock. Producers only append to the
tail and only the lock holder trims, so the head it read is still the head it trims. A
drainer that dies between the write and the trim leaves the records in the list; the next
one writes them again, harmlessly (``add_many`` skips stored ids). While the store is
unreachable the holder retries with back-off and the list grows; it drains once the store
is back, batch after batch without sleeping while there is a backlog. It also runs the
hourly retention purge (``RetentionPurger`` over a ``RedisGate``: one drainer per hour), asking
whether it is due once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from grok2api_jobs.leadership import RedisLeadership
from grok2api_settings.live import LiveSettings
from grok2api_storage.records import UsageRecord, utcnow
from redis.asyncio import Redis

from . import codec, metrics
from .backoff import Backoff
from .redis_queue import UsageKeys
from .retention import Clock, RedisGate, RetentionPurger
from .sink import UsageStore, write_to_store

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000
PURGE_CHECK_SECONDS = 60.0
"""How often a drainer asks whether the hourly purge is due (as the single-process purger)."""

# KEYS: lock, list. ARGV: token, count. Trim only while holding the lock; the new length,
# or -1 when the lock is not ours (any more).
_TRIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
return redis.call('LLEN', KEYS[2])
"""


class _LockLost(Exception):
    pass


class UsageDrainer:
    def __init__(
        self,
        redis: Redis,
        store: UsageStore,
        *,
        settings: LiveSettings,
        keys: UsageKeys = UsageKeys(),
        batch_size: int = DEFAULT_BATCH_SIZE,
        lock_ttl: float = 30.0,
        poll_interval: float | None = None,
        backoff: Backoff | None = None,
        clock: Clock = utcnow,
    ) -> None:
        if batch_size < 1 or lock_ttl <= 0:
            raise ValueError("need batch_size >= 1 and lock_ttl > 0")
        self._redis = redis
        self._store = store
        self._settings = settings
        self._keys = keys
        self._batch_size = batch_size
        self._lock = RedisLeadership(redis, key=keys.drain_lock, ttl_seconds=lock_ttl)
        self._renew_every = lock_ttl / 3
        self._poll_interval = poll_interval
        self._backoff = backoff or Backoff()
        self._trim = redis.register_script(_TRIM)
        self.purger = RetentionPurger(
            store.usage, settings=settings, gate=RedisGate(redis, keys.purge_due), clock=clock
        )
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="usage-drainer")

    async def aclose(self, *, grace: float = 5.0) -> None:
        """Stop draining: the batch being written is finished and trimmed if that takes
        less than ``grace`` seconds; otherwise it is cancelled and stays in the list (the next
        drainer re-writes it, harmlessly). The lock is released for the others."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def drain(self) -> int:
        """One drain session: if there is a backlog and the lock is free, take it and drain
        until the list is empty (or the lock is lost, or the drainer stops). The number of
        records taken off the list; 0 when another drainer holds the lock. Store failures
        are retried with back-off while the lock is held; Redis errors propagate."""
        length = int(await self._redis.llen(self._keys.pending))  # type: ignore[misc]
        metrics.DRAIN_BACKLOG.set(length)
        if length == 0:
            return 0
        if not await self._lock.hold():
            return 0
        token = self._lock.token
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._keep_lock(lost), name="usage-drain-lock")
        taken = 0
        try:
            while not lost.is_set() and not self._stopping.is_set():
                raw = await self._redis.lrange(  # type: ignore[misc]
                    self._keys.pending, 0, self._batch_size - 1
                )
                if not raw:
                    break
                await self._write(_decode_all(raw), lost)
                remaining = int(
                    await self._trim(
                        keys=[self._keys.drain_lock, self._keys.pending], args=[token, len(raw)]
                    )
                )
                if remaining < 0:
                    log.warning("usage_drain_lock_lost before_trim records=%d", len(raw))
                    break
                taken += len(raw)
                metrics.DRAIN_BACKLOG.set(remaining)
                if remaining == 0:
                    break
        except _LockLost:
            log.warning("usage_drain_lock_lost while_writing")
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            await asyncio.shield(self._lock.release())
        return taken

    async def _write(self, batch: list[UsageRecord], lost: asyncio.Event) -> None:
        """Write to the store, retrying with back-off until it works; ``_LockLost`` when the
        lock goes (or the drainer stops) meanwhile: then someone else writes the batch."""
        self._backoff.reset()
        while True:
            try:
                await write_to_store(self._store, batch)
                return
            except Exception as exc:
                metrics.DRAIN_FAILURES.labels("store").inc()
                log.warning(
                    "usage_drain_store_failed records=%d error=%s", len(batch), type(exc).__name__
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost_or_stopping(lost), self._backoff.next())
            if lost.is_set() or self._stopping.is_set():
                raise _LockLost

    async def _lost_or_stopping(self, lost: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(lost.wait()), asyncio.ensure_future(self._stopping.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _keep_lock(self, lost: asyncio.Event) -> None:
        """Renew the lock every third of its TTL; set ``lost`` when it may no longer be ours
        (the trim checks it again before removing anything)."""
        while True:
            await asyncio.sleep(self._renew_every)
            if not await self._lock.hold():
                lost.set()
                return

    async def _run(self) -> None:
        backoff = Backoff(initial=0.5, cap=30.0)
        loop = asyncio.get_running_loop()
        next_purge_check = loop.time()
        while not self._stopping.is_set():
            try:
                await self.drain()
                backoff.reset()
                delay = self._poll_interval or self._settings.current.usage.flush_interval_seconds
            except Exception as exc:
                metrics.DRAIN_FAILURES.labels("queue").inc()
                log.warning("usage_drain_failed error=%s", type(exc).__name__)
                delay = backoff.next()
            if loop.time() >= next_purge_check:  # not a Redis call per drain pass
                next_purge_check = loop.time() + PURGE_CHECK_SECONDS
                try:
                    await self.purger.purge_if_due()
                except Exception as exc:
                    log.warning("usage_purge_failed error=%s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)


def _decode_all(raw: list[bytes | str]) -> list[UsageRecord]:
    decoded: list[UsageRecord] = []
    for item in raw:
        try:
            decoded.append(codec.decode(item))
        except codec.MalformedRecordError as exc:
            metrics.DROPPED_BY["malformed"].inc()
            log.error("usage_drain_skipped_malformed error=%s", exc)
    return decoded
