"""Where batch jobs keep their state and progress events, so any admin replica can answer.

A batch has a state (a JSON object: action, status, done/total, summary) and an ordered
list of events; ``follow(id, after=)`` yields the events after ``after`` (an event id, as
``Last-Event-ID`` repeats it) until the batch's final ``summary`` event, waiting for new
ones. A cancel is a flag any replica may raise; the replica running the batch polls it.

Two backends pass the same tests: ``MemoryBatchLog`` (the single-process mode) and
``RedisBatchLog`` (split deployments: state in a string key, events in a stream, the cancel
flag in a key, all expiring ``ttl_seconds`` after the last write).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    import redis.asyncio as aioredis


Event = dict[str, Any]
TTL_SECONDS = 24 * 3600
BLOCK_MS = 1000


class BatchLog(Protocol):
    async def put_state(self, batch_id: str, state: dict[str, Any]) -> None:
        """Create or replace the batch's state."""
        ...

    async def get_state(self, batch_id: str) -> dict[str, Any] | None: ...

    async def append(self, batch_id: str, event: Event) -> str:
        """Add an event; its id (increasing within the batch)."""
        ...

    def follow(self, batch_id: str, *, after: str = "") -> AsyncIterator[tuple[str, Event]]:
        """Events after ``after`` ("" = from the first) up to the ``summary`` one."""
        ...

    async def request_cancel(self, batch_id: str) -> None: ...

    async def cancel_requested(self, batch_id: str) -> bool: ...


class MemoryBatchLog:
    def __init__(self) -> None:
        self._states: dict[str, dict[str, Any]] = {}
        self._events: dict[str, list[Event]] = {}
        self._cancelled: set[str] = set()
        self._changed = asyncio.Condition()

    async def put_state(self, batch_id: str, state: dict[str, Any]) -> None:
        self._states[batch_id] = dict(state)
        self._events.setdefault(batch_id, [])

    async def get_state(self, batch_id: str) -> dict[str, Any] | None:
        state = self._states.get(batch_id)
        return dict(state) if state is not None else None

    async def append(self, batch_id: str, event: Event) -> str:
        events = self._events.setdefault(batch_id, [])
        events.append(event)
        async with self._changed:
            self._changed.notify_all()
        return str(len(events))

    async def follow(self, batch_id: str, *, after: str = "") -> AsyncIterator[tuple[str, Event]]:
        seen = int(after) if after.isdigit() else 0
        while batch_id in self._events:
            events = self._events[batch_id]
            while seen < len(events):
                event = events[seen]
                seen += 1
                yield str(seen), event
                if event.get("type") == "summary":
                    return
            async with self._changed:
                if seen >= len(self._events[batch_id]):
                    await self._changed.wait()

    async def request_cancel(self, batch_id: str) -> None:
        self._cancelled.add(batch_id)

    async def cancel_requested(self, batch_id: str) -> bool:
        return batch_id in self._cancelled


class RedisBatchLog:
    def __init__(
        self, redis: aioredis.Redis, *, prefix: str = "grok2api:admin:batch:",
        ttl_seconds: int = TTL_SECONDS,
    ) -> None:  # fmt: skip
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds

    def _key(self, batch_id: str, part: str = "state") -> str:
        return f"{self._prefix}{batch_id}:{part}"

    async def put_state(self, batch_id: str, state: dict[str, Any]) -> None:
        await self._redis.set(self._key(batch_id), json.dumps(state), ex=self._ttl)

    async def get_state(self, batch_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._key(batch_id))
        return dict(json.loads(raw)) if raw is not None else None

    async def append(self, batch_id: str, event: Event) -> str:
        key = self._key(batch_id, "events")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"e": json.dumps(event)})
            pipe.expire(key, self._ttl)
            event_id, _ = await pipe.execute()
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    async def follow(self, batch_id: str, *, after: str = "") -> AsyncIterator[tuple[str, Event]]:
        key = self._key(batch_id, "events")
        last = after or "0-0"
        while True:
            answer: Any = await self._redis.xread({key: last}, block=BLOCK_MS, count=100)
            _raise_if_cancelling()
            if not answer:
                if await self.get_state(batch_id) is None:
                    return  # expired or never existed
                continue
            for raw_id, fields in answer[0][1]:
                last = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                event = json.loads(fields.get(b"e") or fields.get("e"))
                yield last, event
                if event.get("type") == "summary":
                    return

    async def request_cancel(self, batch_id: str) -> None:
        await self._redis.set(self._key(batch_id, "cancel"), "1", ex=self._ttl)

    async def cancel_requested(self, batch_id: str) -> bool:
        return bool(await self._redis.exists(self._key(batch_id, "cancel")))


def _raise_if_cancelling() -> None:
    """The Redis client can swallow a cancel that lands in a blocking read; a follower
    cancelled (the browser went away) must still stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
