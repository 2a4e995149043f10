"""The in-process ``JobQueue`` for the single-process mode: the same contract as Redis
Streams, held in this event loop's memory (lost on exit, like everything in that mode)."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import itertools
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

from . import envelope, waiting
from .envelope import Delivery, Job
from .events import JobEvent
from .protocol import QueueDepth

DEFAULT_EVENTS_TTL = 3600.0


@dataclasses.dataclass
class _Pending:
    job: Job
    consumer: str
    last_active: float
    deliveries: int


@dataclasses.dataclass
class _EventLog:
    touched: float
    events: list[JobEvent] = dataclasses.field(default_factory=list)
    finished: bool = False
    changed: asyncio.Condition = dataclasses.field(default_factory=asyncio.Condition)

    def has_more_than(self, seen: int) -> bool:
        return len(self.events) > seen


class InProcessJobQueue:
    """``JobQueue`` in memory. ``events_ttl`` (s): how long a job's events outlive its last one.

    ``clock`` is monotonic seconds; tests may inject one.
    """

    def __init__(
        self,
        *,
        events_ttl: float = DEFAULT_EVENTS_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events_ttl = events_ttl
        self._clock = clock
        self._waiting: collections.deque[tuple[str, Job]] = collections.deque()
        self._arrived = asyncio.Condition()
        self._pending: dict[str, _Pending] = {}
        self._logs: dict[str, _EventLog] = {}
        self._entry_ids = itertools.count(1)
        self._pruned_at = clock()

    async def submit(
        self, kind: str, payload: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> str:
        job = envelope.new_job(kind=kind, payload=payload, headers=headers or {})
        self._prune()
        async with self._arrived:
            self._waiting.append((str(next(self._entry_ids)), job))
            self._arrived.notify_all()
        return job.id

    async def events(self, job_id: str) -> AsyncGenerator[JobEvent, None]:
        log = self._log(envelope.check_job_id(job_id))
        seen = 0
        while True:
            async with log.changed:
                await log.changed.wait_for(functools.partial(log.has_more_than, seen))
                batch = log.events[seen:]
            for event in batch:
                seen += 1
                yield event
                if event.terminal:
                    return

    async def wait(self, job_id: str, *, timeout: float) -> JobEvent:  # noqa: ASYNC109
        return await waiting.terminal_event(self.events(job_id), job_id=job_id, timeout=timeout)

    async def claim(self, *, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        async with self._arrived:
            if not self._waiting and block_ms > 0:
                try:
                    async with asyncio.timeout(block_ms / 1000):
                        await self._arrived.wait_for(lambda: bool(self._waiting))
                except TimeoutError:
                    return []
            claimed: list[Delivery] = []
            now = self._clock()
            while self._waiting and len(claimed) < count:
                entry_id, job = self._waiting.popleft()
                self._pending[entry_id] = _Pending(job, consumer, now, deliveries=1)
                claimed.append(Delivery(job=job, delivery_id=entry_id))
            return claimed

    async def ack(self, delivery: Delivery) -> None:
        self._pending.pop(delivery.delivery_id, None)

    async def heartbeat(self, *, consumer: str, deliveries: Sequence[Delivery]) -> list[Delivery]:
        now = self._clock()
        owned = []
        for delivery in deliveries:
            pending = self._pending.get(delivery.delivery_id)
            if pending is not None and pending.consumer == consumer:
                pending.last_active = now
                owned.append(delivery)
        return owned

    async def reclaim_stale(self, *, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        now = self._clock()
        reclaimed: list[Delivery] = []
        for entry_id, pending in self._pending.items():
            if len(reclaimed) >= count:
                break
            if (now - pending.last_active) * 1000 < min_idle_ms:
                continue
            pending.consumer = consumer
            pending.last_active = now
            pending.deliveries += 1
            job = dataclasses.replace(pending.job, attempt=pending.deliveries)
            reclaimed.append(Delivery(job=job, delivery_id=entry_id))
        return reclaimed

    async def retire(self, *, consumer: str) -> None:
        """Nothing to forget: consumers here are names on pending jobs, not registered."""

    async def prune_consumers(self, *, min_idle_ms: int) -> int:
        return 0

    async def publish_event(self, job_id: str, event: JobEvent) -> bool:
        log = self._log(envelope.check_job_id(job_id))
        # No await between the check and the append: this is the "exactly one terminal" rule.
        if log.finished:
            return False
        log.events.append(event)
        log.touched = self._clock()
        log.finished = event.terminal
        async with log.changed:
            log.changed.notify_all()
        return True

    async def finished(self, job_id: str) -> bool:
        log = self._logs.get(envelope.check_job_id(job_id))
        return log is not None and log.finished

    async def depth(self) -> QueueDepth:
        return QueueDepth(waiting=len(self._waiting), in_flight=len(self._pending))

    def _log(self, job_id: str) -> _EventLog:
        log = self._logs.get(job_id)
        if log is None:
            log = self._logs[job_id] = _EventLog(touched=self._clock())
        return log

    def _prune(self) -> None:
        """Drop event logs untouched for ``events_ttl``, scanning at most every ttl/10."""
        now = self._clock()
        if now - self._pruned_at < self._events_ttl / 10:
            return
        self._pruned_at = now
        expired = [key for key, log in self._logs.items() if now - log.touched > self._events_ttl]
        for key in expired:
            del self._logs[key]
