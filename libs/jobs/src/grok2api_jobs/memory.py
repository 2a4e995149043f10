"""The in-process ``JobQueue`` for the single-process mode: the same contract as Redis
Streams, held in this event loop's memory (lost on exit, like everything in that mode).

Expired jobs are dropped on a scan every ttl/10 (at submit) and are invisible before that;
``records`` also drops the expired entries of the kind it lists.

A finished job is kept packed as bytes (``packed``): its record stays readable for the
whole TTL without costing the garbage collector anything.

``wait`` is woken by the terminal event alone (a future per waiter), not by every progress
event as a follower of ``events`` is: a plain image request waits that way, so its job's
progress events cost its request nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import dataclasses
import functools
import itertools
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

import orjson

from . import envelope, errors, events, packed, records
from .envelope import Delivery, Job
from .events import JobEvent
from .protocol import Order, QueueDepth
from .records import CANCEL_MESSAGE, JobRecord

DEFAULT_EVENTS_TTL = 3600.0


@dataclasses.dataclass
class _Pending:
    job: Job
    consumer: str
    last_active: float
    deliveries: int


@dataclasses.dataclass
class _JobState:
    """A job's record (None for events published without a submit), events, finished flag,
    the futures of ``wait`` calls, given the terminal event when it comes, and how many
    ``events`` readers follow it (``changed`` is notified only while one does)."""

    touched: float
    record: JobRecord | None = None
    events: list[JobEvent] = dataclasses.field(default_factory=list)
    finished: bool = False
    changed: asyncio.Condition = dataclasses.field(default_factory=asyncio.Condition)
    waiters: list[asyncio.Future[JobEvent]] = dataclasses.field(default_factory=list)
    followers: int = 0

    def has_more_than(self, seen: int) -> bool:
        return len(self.events) > seen


class InProcessJobQueue:
    """``JobQueue`` in memory. ``events_ttl`` (s): how long a job's record and events outlive
    its last change.

    ``clock`` is monotonic seconds, used for expiry only (records carry unix times); tests
    may inject one.
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
        self._jobs: dict[str, _JobState | packed.Finished] = {}
        self._by_kind: dict[str, list[tuple[float, str]]] = {}  # sorted (created_at, id)
        self._entry_ids = itertools.count(1)
        self._pruned_at = clock()

    async def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        owner: str = "",
    ) -> str:
        job = envelope.new_job(kind=kind, payload=payload, headers=headers or {})
        # Through JSON, as in Redis: the same TypeError, the same values read back.
        kept = orjson.loads(orjson.dumps(metadata or {}))
        record = records.new_record(job, metadata=kept, owner=owner, ttl=self._events_ttl)
        self._prune()
        self._jobs[job.id] = _JobState(touched=self._clock(), record=record)
        bisect.insort(self._by_kind.setdefault(kind, []), (job.created_at, job.id))
        async with self._arrived:
            self._waiting.append((str(next(self._entry_ids)), job))
            self._arrived.notify_all()
        return job.id

    async def events(self, job_id: str) -> AsyncGenerator[JobEvent, None]:
        log = self._state_for_events(envelope.check_job_id(job_id))
        seen = 0
        log.followers += 1
        try:
            while True:
                async with log.changed:
                    await log.changed.wait_for(functools.partial(log.has_more_than, seen))
                    batch = log.events[seen:]
                for event in batch:
                    seen += 1
                    yield event
                    if event.terminal:
                        return
        finally:
            log.followers -= 1
            self._pack_if_done(job_id, log)

    async def wait(self, job_id: str, *, timeout: float) -> JobEvent:  # noqa: ASYNC109
        state = self._state_for_events(envelope.check_job_id(job_id))
        if state.finished and state.events:  # a deleted job's tombstone has none: wait
            return state.events[-1]  # the terminal event is always the last
        waiter: asyncio.Future[JobEvent] = asyncio.get_running_loop().create_future()
        state.waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError as exc:
            raise errors.JobTimeoutError(job_id=job_id, timeout=timeout) from exc
        finally:
            with contextlib.suppress(ValueError):  # gone once the terminal event came
                state.waiters.remove(waiter)

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
        state = self._state_for_events(envelope.check_job_id(job_id))
        return await self._append(job_id, state, event)

    async def finished(self, job_id: str) -> bool:
        entry = self._entry(envelope.check_job_id(job_id))
        return isinstance(entry, tuple) or (entry is not None and entry.finished)

    async def finished_among(self, job_ids: Sequence[str]) -> set[str]:
        return {job_id for job_id in job_ids if await self.finished(job_id)}

    async def record(self, job_id: str) -> JobRecord | None:
        return self._record(envelope.check_job_id(job_id))

    async def records(
        self,
        kind: str,
        *,
        owner: str | None = None,
        limit: int = 20,
        after: str | None = None,
        order: Order = "desc",
    ) -> list[JobRecord]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is not None:
            envelope.check_job_id(after)
        listed = self._listed(kind)
        if owner is not None:
            listed = [record for record in listed if record.owner == owner]
        if order == "desc":
            listed.reverse()
        if after is not None:
            ids = [record.id for record in listed]
            if after not in ids:
                return []
            listed = listed[ids.index(after) + 1 :]
        return listed[:limit]

    async def cancel(self, job_id: str, *, message: str = CANCEL_MESSAGE) -> bool:
        state = self._state(envelope.check_job_id(job_id))
        if state is None or state.record is None:
            return False
        cancelled = events.error(code=records.CANCELLED_CODE, message=message)
        return await self._append(job_id, state, cancelled)

    async def delete(self, job_id: str) -> bool:
        state = self._state(envelope.check_job_id(job_id))
        if state is None:
            return False
        await self.cancel(job_id)
        record, had_events = state.record, bool(state.events)
        if record is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._by_kind[record.kind].remove((record.created_at, record.id))
        if state.finished:  # a tombstone, like the Redis done marker; readers keep the old
            self._jobs[job_id] = packed.pack(state.touched, None, ())
        else:
            del self._jobs[job_id]
        return record is not None or had_events

    async def depth(self) -> QueueDepth:
        return QueueDepth(waiting=len(self._waiting), in_flight=len(self._pending))

    async def aclose(self) -> None:
        """Nothing held: the queue lives and dies with the process's memory."""

    async def _append(self, job_id: str, state: _JobState, event: JobEvent) -> bool:
        # No await between the check and the append: this is the "exactly one terminal" rule.
        if state.finished:
            return False
        state.events.append(event)
        state.touched = self._clock()
        state.finished = event.terminal
        if state.record is not None:
            state.record = records.applied(state.record, event, ttl=self._events_ttl)
        if state.finished:
            waiters, state.waiters = state.waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(event)
        # A plain request waits through ``wait``: nobody follows most jobs' events, and the
        # condition's lock and notify cost every event something.
        if state.followers:
            async with state.changed:
                state.changed.notify_all()
        self._pack_if_done(job_id, state)
        return True

    def _pack_if_done(self, job_id: str, state: _JobState) -> None:
        """Keep a finished job packed once no ``events`` reader follows it any more."""
        if state.finished and not state.followers and self._jobs.get(job_id) is state:
            self._jobs[job_id] = packed.pack(state.touched, state.record, state.events)

    def _listed(self, kind: str) -> list[JobRecord]:
        """The live records of ``kind`` by creation time; expired entries leave the index."""
        listed = []
        for _, job_id in self._by_kind.get(kind, []):
            record = self._record(job_id)
            if record is not None:
                listed.append(record)
        if listed:
            self._by_kind[kind] = [(record.created_at, record.id) for record in listed]
        else:
            self._by_kind.pop(kind, None)
        return listed

    def _entry(self, job_id: str) -> _JobState | packed.Finished | None:
        """What is kept of the job, or None if nothing is or it expired."""
        entry = self._jobs.get(job_id)
        if entry is not None and self._clock() - _touched(entry) > self._events_ttl:
            return None
        return entry

    def _state(self, job_id: str) -> _JobState | None:
        """The job's state (a finished job's unpacked afresh), or None if it has none or it
        expired."""
        entry = self._entry(job_id)
        if not isinstance(entry, tuple):
            return entry
        return _JobState(
            touched=entry[0],
            record=packed.record_of(entry),
            events=packed.events_of(entry),
            finished=True,
        )

    def _record(self, job_id: str) -> JobRecord | None:
        entry = self._entry(job_id)
        if isinstance(entry, tuple):
            return packed.record_of(entry)
        return None if entry is None else entry.record

    def _state_for_events(self, job_id: str) -> _JobState:
        """The job's state, created (without a record) if it has none or it expired."""
        state = self._state(job_id)
        if state is None:
            state = self._jobs[job_id] = _JobState(touched=self._clock())
        return state

    def _prune(self) -> None:
        """Drop jobs untouched for ``events_ttl``, scanning at most every ttl/10."""
        now = self._clock()
        if now - self._pruned_at < self._events_ttl / 10:
            return
        self._pruned_at = now
        ttl = self._events_ttl
        expired = {key for key, entry in self._jobs.items() if now - _touched(entry) > ttl}
        for key in expired:
            del self._jobs[key]
        for kind, entries in list(self._by_kind.items()):
            kept = [entry for entry in entries if entry[1] not in expired]
            if kept:
                self._by_kind[kind] = kept
            else:
                del self._by_kind[kind]


def _touched(entry: _JobState | packed.Finished) -> float:
    return entry[0] if isinstance(entry, tuple) else entry.touched
