"""Wake-ups for readers of job event streams, over one Redis pub/sub connection per channel.

A reader that blocked in XREAD would hold a pooled connection for as long as its job runs:
a gateway following a hundred jobs would exhaust redis-py's pool (100 connections by
default) and fail every other command. Instead the publish script announces each event on a
channel (the job id as the message; terminal events on a second channel too); one
subscriber task per channel and process wakes the readers of that job, who then read the
stream without blocking. A reader also re-reads every second or so, so an announcement
lost to a reconnect delays an event, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis

from . import cancellation

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0


class EventNotifier:
    """Per-job wake-up events fed by one subscription to ``channel``."""

    def __init__(self, redis: aioredis.Redis, *, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def watching(self, job_id: str) -> Any:
        """An event set whenever ``job_id`` is announced, for the duration of the block."""
        self._ensure_listening()
        woken = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(woken)
        try:
            yield woken
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiters[job_id]

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="job-event-notifier")

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    cancellation.raise_if_cancelling()
                    if message.get("type") == "message":
                        self._wake(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # readers fall back to polling until we are back
                log.warning("job_notifier_reconnecting error=%s", type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RECONNECT_DELAY)

    def _wake(self, data: bytes | str) -> None:
        job_id = data.decode() if isinstance(data, bytes) else data
        for woken in self._waiters.get(job_id, ()):
            woken.set()
