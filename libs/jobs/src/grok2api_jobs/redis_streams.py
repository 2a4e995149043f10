"""The Redis Streams ``JobQueue`` for the distributed deployment.

Layout (``prefix`` defaults to ``grok2api:``):

    <prefix>jobs                   stream of submitted jobs, read by one consumer group;
                                   an entry is deleted when acknowledged, so XLEN is the
                                   number of outstanding jobs
    <prefix>job:{<id>}:events      the job's event stream (progress, then one terminal)
    <prefix>job:{<id>}:done        set once by the terminal event
    <prefix>job:{<id>}:record      the job's record, a hash (see ``redis_records``)
    <prefix>jobs:kind:<kind>       sorted set of the kind's job ids by created_at
    <prefix>job-events             pub/sub channel: the id of each job with a new event
    <prefix>job-ends               pub/sub channel: the id of each job with its terminal event

``events`` is woken by every event of its job; ``wait`` only by the terminal one (it reads
the stream's last entry), so a plain request costs nothing per progress event of its job.

The per-job keys expire ``events_ttl`` seconds after the job's last change. The braces
are a hash tag, keeping a job's keys in one cluster slot for the publish script.

A kind's index is pruned lazily: ``records`` removes the ids whose record is gone as it
meets them, and each submit drops the ids created more than ``INDEX_HORIZON_TTLS`` ttls
ago, so the index stays bounded when nobody lists (a job still alive that long, running
for over a ttl, is then no longer listed; ``record`` still finds it). The index key itself
expires that long after the kind's last submit.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from . import (
    cancellation,
    envelope,
    errors,
    events,
    records,
    redis_listing,
    redis_notify,
    redis_records,
    redis_scripts,
)
from .envelope import Delivery
from .events import JobEvent
from .protocol import Order, QueueDepth
from .records import CANCEL_MESSAGE, JobRecord

DEFAULT_PREFIX = "grok2api:"
DEFAULT_GROUP = "media-workers"
DEFAULT_EVENTS_TTL = 3600.0
# A reader of a job's events re-reads its stream this often (seconds) even when no
# announcement woke it (one lost to a pub/sub reconnect), and reads up to this many at once.
EVENTS_FALLBACK_SECONDS = 1.0
EVENTS_BATCH = 100
# A kind's index forgets jobs created this many ttls ago (see the module docstring).
INDEX_HORIZON_TTLS = 2


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except redis.exceptions.RedisError as exc:
        raise errors.QueueUnavailableError(f"redis job queue: {type(exc).__name__}") from exc


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _field(fields: Mapping[Any, Any], name: str) -> Any:
    return fields[name] if name in fields else fields[name.encode()]


def _stream_entries(response: Any) -> list[tuple[str, Mapping[Any, Any]]]:
    """Entries of an XREAD/XREADGROUP answer for one stream, in RESP2 or RESP3 shape."""
    streams = response.items() if isinstance(response, dict) else (response or [])
    entries: list[tuple[str, Mapping[Any, Any]]] = []
    for _, stream_entries in streams:
        for entry_id, fields in stream_entries:
            entries.append((_text(entry_id), fields))
    return entries


class RedisJobQueue:
    """``JobQueue`` on Redis Streams; ``redis`` is an asyncio client owned by the caller."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        group: str = DEFAULT_GROUP,
        events_ttl: float = DEFAULT_EVENTS_TTL,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._stream = f"{prefix}jobs"
        self._group = group
        self._ttl = max(1, math.ceil(events_ttl))
        self._publish = redis.register_script(redis_scripts.PUBLISH_EVENT)
        self._heartbeat = redis.register_script(redis_scripts.HEARTBEAT)
        self._forget = redis.register_script(redis_scripts.FORGET_CONSUMERS)
        self._group_ready = False
        self._events_channel = f"{prefix}job-events"
        self._ends_channel = f"{prefix}job-ends"
        self._notifier = redis_notify.EventNotifier(redis, channel=self._events_channel)
        self._ends = redis_notify.EventNotifier(redis, channel=self._ends_channel)

    def _events_key(self, job_id: str) -> str:
        return f"{self._prefix}job:{{{envelope.check_job_id(job_id)}}}:events"

    def _done_key(self, job_id: str) -> str:
        return f"{self._prefix}job:{{{envelope.check_job_id(job_id)}}}:done"

    def _record_key(self, job_id: str) -> str:
        return f"{self._prefix}job:{{{envelope.check_job_id(job_id)}}}:record"

    def _index_key(self, kind: str) -> str:
        return f"{self._prefix}jobs:kind:{kind}"

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
        record = records.new_record(job, metadata=metadata or {}, owner=owner, ttl=self._ttl)
        fields = redis_records.encode(record)
        record_key, index_key = self._record_key(job.id), self._index_key(kind)
        horizon = INDEX_HORIZON_TTLS * self._ttl
        with _translated():
            # In order on one connection: the record exists before a worker can claim the job.
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(record_key, mapping=fields)  # type: ignore[arg-type]
                pipe.expire(record_key, self._ttl)
                pipe.zadd(index_key, {job.id: job.created_at})
                pipe.zremrangebyscore(index_key, "-inf", f"({job.created_at - horizon!r}")
                pipe.expire(index_key, horizon)
                pipe.xadd(self._stream, {"job": envelope.encode(job)})
                await pipe.execute()
        return job.id

    async def events(self, job_id: str) -> AsyncGenerator[JobEvent, None]:
        # Non-blocking reads, woken by the job's announcements (see redis_notify): a
        # follower holds no connection while it waits.
        key = self._events_key(job_id)
        last = "0-0"
        with self._notifier.watching(job_id) as woken:
            while True:
                woken.clear()  # before the read: an announcement during it wakes the next
                with _translated():
                    response = await self._redis.xread({key: last}, count=EVENTS_BATCH)
                cancellation.raise_if_cancelling()
                entries = _stream_entries(response)
                for entry_id, fields in entries:
                    last = entry_id
                    event = events.decode(_field(fields, "event"))
                    yield event
                    if event.terminal:
                        return
                if not entries:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(EVENTS_FALLBACK_SECONDS):
                            await woken.wait()

    async def aclose(self) -> None:
        """Stop this process's event subscriptions (the Redis client stays the caller's)."""
        await self._notifier.aclose()
        await self._ends.aclose()

    async def wait(self, job_id: str, *, timeout: float) -> JobEvent:  # noqa: ASYNC109
        # Watching before the first read: a terminal event written after that read is
        # announced to us; one written before it is found by it.
        key = self._events_key(job_id)
        try:
            async with asyncio.timeout(timeout):
                with self._ends.watching(job_id) as woken:
                    while True:
                        woken.clear()
                        event = await self._last_event(key)
                        if event is not None and event.terminal:
                            return event
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(EVENTS_FALLBACK_SECONDS):
                                await woken.wait()
        except TimeoutError as exc:
            raise errors.JobTimeoutError(job_id=job_id, timeout=timeout) from exc

    async def _last_event(self, key: str) -> JobEvent | None:
        """The newest event of a job's stream (the terminal one once there is one)."""
        with _translated():
            response = await self._redis.xrevrange(key, count=1)
        cancellation.raise_if_cancelling()
        fields = response[0][1] if response else None
        return None if fields is None else events.decode(_field(fields, "event"))

    async def claim(self, *, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        response = await self._in_group(
            lambda: self._redis.xreadgroup(
                self._group,
                consumer,
                {self._stream: ">"},
                count=count,
                block=block_ms if block_ms > 0 else None,
            )
        )
        return [
            Delivery(job=envelope.decode(_field(fields, "job"), attempt=1), delivery_id=entry_id)
            for entry_id, fields in _stream_entries(response)
        ]

    async def ack(self, delivery: Delivery) -> None:
        with _translated():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, self._group, delivery.delivery_id)
                pipe.xdel(self._stream, delivery.delivery_id)
                await pipe.execute()

    async def heartbeat(self, *, consumer: str, deliveries: Sequence[Delivery]) -> list[Delivery]:
        if not deliveries:
            return []
        ids = [delivery.delivery_id for delivery in deliveries]
        owned = await self._in_group(
            lambda: self._heartbeat(keys=[self._stream], args=[self._group, consumer, *ids])
        )
        owned_ids = {_text(entry_id) for entry_id in owned}
        return [delivery for delivery in deliveries if delivery.delivery_id in owned_ids]

    async def reclaim_stale(self, *, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        claimed: list[tuple[str, Mapping[Any, Any]]] = []
        cursor = "0-0"
        while len(claimed) < count:
            answer = await self._in_group(
                lambda start=cursor: self._redis.xautoclaim(
                    self._stream,
                    self._group,
                    consumer,
                    min_idle_ms,
                    start_id=start,
                    count=count - len(claimed),
                )
            )
            cursor = _text(answer[0])
            claimed.extend((_text(entry_id), fields) for entry_id, fields in answer[1] if fields)
            if cursor == "0-0":
                break
        return await self._with_attempts(claimed)

    async def _with_attempts(self, entries: list[tuple[str, Mapping[Any, Any]]]) -> list[Delivery]:
        if not entries:
            return []
        with _translated():
            async with self._redis.pipeline(transaction=False) as pipe:
                for entry_id, _ in entries:
                    pipe.xpending_range(self._stream, self._group, entry_id, entry_id, 1)
                pending = await pipe.execute()
        deliveries = []
        for (entry_id, fields), rows in zip(entries, pending, strict=True):
            attempt = int(rows[0]["times_delivered"]) if rows else 1
            job = envelope.decode(_field(fields, "job"), attempt=attempt)
            deliveries.append(Delivery(job=job, delivery_id=entry_id))
        return deliveries

    async def retire(self, *, consumer: str) -> None:
        await self._in_group(
            lambda: self._forget(keys=[self._stream], args=[self._group, 0, consumer])
        )

    async def prune_consumers(self, *, min_idle_ms: int) -> int:
        deleted = await self._in_group(
            lambda: self._forget(keys=[self._stream], args=[self._group, min_idle_ms, ""])
        )
        return int(deleted)

    async def publish_event(self, job_id: str, event: JobEvent) -> bool:
        return await self._publish_event(job_id, event, known_only=False) == 1

    async def _publish_event(self, job_id: str, event: JobEvent, *, known_only: bool) -> int:
        """The publish script's answer: 1 written, 0 already finished, -1 no record (only
        when ``known_only``)."""
        change = records.change_for(event)
        keys = [self._events_key(job_id), self._done_key(job_id), self._record_key(job_id)]
        args: list[bytes | str | int] = [
            events.encode(event),
            self._ttl,
            change.status.value,
            repr(event.at),
            repr(event.at + self._ttl),
            "" if change.progress is None else change.progress,
            change.outcome or "",
            redis_records.encode_data(event.data) if change.outcome else "",
            "1" if known_only else "0",
            self._events_channel,
            self._ends_channel,
            job_id,
        ]
        with _translated():
            return int(await self._publish(keys=keys, args=args))

    async def finished(self, job_id: str) -> bool:
        with _translated():
            return bool(await self._redis.exists(self._done_key(job_id)))

    async def finished_among(self, job_ids: Sequence[str]) -> set[str]:
        if not job_ids:
            return set()
        keys = [self._done_key(job_id) for job_id in job_ids]
        with _translated():
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(key)
                answers = await pipe.execute()
        return {job_id for job_id, exists in zip(job_ids, answers, strict=True) if exists}

    async def record(self, job_id: str) -> JobRecord | None:
        with _translated():
            return redis_records.decode(await self._redis.hgetall(self._record_key(job_id)))

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
        with _translated():
            return await redis_listing.page(
                self._redis,
                index_key=self._index_key(kind),
                record_key=self._record_key,
                owner=owner,
                limit=limit,
                after=after,
                order=order,
            )

    async def cancel(self, job_id: str, *, message: str = CANCEL_MESSAGE) -> bool:
        event = events.error(code=records.CANCELLED_CODE, message=message)
        return await self._publish_event(job_id, event, known_only=True) == 1

    async def delete(self, job_id: str) -> bool:
        record_key = self._record_key(job_id)
        with _translated():
            kind = await self._redis.hget(record_key, "kind")
        # Cancelling sets the done marker, which stays so the job never runs; the events stay
        # too (until they expire) for readers that are still catching up to the last one.
        await self.cancel(job_id)
        with _translated():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(record_key)
                if kind is not None:
                    pipe.zrem(self._index_key(_text(kind)), job_id)
                answers = await pipe.execute()
        return int(answers[0]) > 0

    async def depth(self) -> QueueDepth:
        with _translated():
            length = int(await self._redis.xlen(self._stream))
        summary = await self._in_group(lambda: self._redis.xpending(self._stream, self._group))
        in_flight = int(summary["pending"])
        return QueueDepth(waiting=max(0, length - in_flight), in_flight=in_flight)

    async def _in_group(self, command: Any) -> Any:
        """Run ``command()`` once the consumer group exists, recreating it if the stream was
        deleted under us (a flushed Redis answers NOGROUP)."""
        with _translated():
            if not self._group_ready:
                await self._create_group()
            try:
                return await command()
            except redis.exceptions.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
            await self._create_group()
            return await command()

    async def _create_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True
