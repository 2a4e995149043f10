"""``UsageLog``: the gateway's handle for per-request usage records.

``record`` only appends to an in-memory buffer (no I/O, no await, never raises). A
background flusher hands the buffer to a ``UsageSink`` every ``usage.flush_interval_seconds``
(read from the live settings at each wait) or as soon as a full batch is buffered. A batch
whose write fails goes back to the head of the buffer, in order, and is retried with
capped exponential back-off; meanwhile requests keep recording. The buffer is capped: past
``max_buffered`` records the oldest are dropped (logged and counted), so an unreachable next
stage costs bounded memory and never blocks a request. ``aclose`` writes out everything
still buffered (retrying until ``close_timeout``), so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging

from grok2api_settings.live import LiveSettings
from grok2api_storage.records import UsageRecord

from . import metrics
from .backoff import Backoff
from .sink import UsageSink

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_MAX_BUFFERED = 200_000


class UsageLog:
    def __init__(
        self,
        sink: UsageSink,
        *,
        settings: LiveSettings,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        backoff: Backoff | None = None,
        write_timeout: float = 30.0,
        close_timeout: float = 10.0,
    ) -> None:
        if batch_size < 1 or max_buffered < batch_size:
            raise ValueError("need 1 <= batch_size <= max_buffered")
        self._sink = sink
        self._settings = settings
        self._batch_size = batch_size
        self._max_buffered = max_buffered
        self._backoff = backoff or Backoff()
        self._write_timeout = write_timeout
        self._close_timeout = close_timeout
        self._buffer: collections.deque[UsageRecord] = collections.deque()
        self._in_flight = 0
        self._dropped = 0
        self._write_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def buffered(self) -> int:
        """Records not yet handed on (the batch being written included)."""
        return len(self._buffer) + self._in_flight

    @property
    def dropped(self) -> int:
        """Records this log has dropped (buffer full, or lost at close)."""
        return self._dropped

    def record(self, entry: UsageRecord) -> None:
        """Buffer one request's record. Synchronous, no I/O; call it on the event loop."""
        try:
            if self._closed:
                self._drop(1, "closed")
                return
            buffer = self._buffer
            if len(buffer) + self._in_flight >= self._max_buffered:
                buffer.popleft()
                self._drop(1, "buffer_full")
            buffer.append(entry)
            if len(buffer) >= self._batch_size and not self._wake.is_set():
                self._wake.set()
        except Exception:  # a usage record must never fail the request it describes
            log.exception("usage_record_failed")

    def start(self) -> None:
        """Start the background flusher (on the running loop)."""
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(), name="usage-log-flusher")

    async def flush(self) -> bool:
        """Hand on everything buffered now, once; ``False`` if a write failed (the records
        stay buffered for the flusher's retry)."""
        async with self._write_lock:
            pending = len(self._buffer)
            while pending > 0 and self._buffer:
                taken = await self._write_batch()
                if taken == 0:
                    return False
                pending -= taken
            return True

    async def aclose(self) -> None:
        """Stop the flusher and write out what is still buffered, retrying until
        ``close_timeout``; what is left then is logged and counted as dropped."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._close_timeout
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(asyncio.shield(self._task), self._close_timeout)
                except TimeoutError:
                    self._task.cancel()
                    await asyncio.gather(self._task, return_exceptions=True)
        self._backoff.reset()
        while self._buffer:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            async with self._write_lock:
                written = await self._write_batch(limit=remaining)
            if written == 0:
                delay = self._backoff.next()
                if loop.time() + delay >= deadline:
                    break
                await asyncio.sleep(delay)
        self._closed = True
        if self._buffer:
            lost = len(self._buffer)
            self._buffer.clear()
            self._drop(lost, "shutdown")
            log.error("usage_log_closed_with_unwritten_records lost=%d", lost)
        metrics.BUFFERED.set(0)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if len(self._buffer) < self._batch_size:
                interval = self._settings.current.usage.flush_interval_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            metrics.BUFFERED.set(self.buffered)
            if await self.flush():
                self._backoff.reset()
                continue
            # The next stage is unreachable: wait before retrying (records keep buffering).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._backoff.next())

    async def _write_batch(self, *, limit: float | None = None) -> int:
        """Write the oldest batch; the number of records written, 0 on failure (then the
        batch is back at the head of the buffer, in order)."""
        buffer = self._buffer
        count = min(self._batch_size, len(buffer))
        batch = [buffer.popleft() for _ in range(count)]
        self._in_flight = count
        limit = self._write_timeout if limit is None else min(limit, self._write_timeout)
        try:
            await asyncio.wait_for(self._sink.write(batch), limit)
        except asyncio.CancelledError:
            self._in_flight = 0
            buffer.extendleft(reversed(batch))
            raise
        except Exception as exc:
            self._in_flight = 0
            buffer.extendleft(reversed(batch))
            metrics.FLUSH_FAILURES.labels(self._sink.stage).inc()
            log.warning(
                "usage_flush_failed stage=%s buffered=%d error=%s",
                self._sink.stage,
                len(buffer),
                type(exc).__name__,
            )
            return 0
        self._in_flight = 0
        return count

    def _drop(self, count: int, reason: str) -> None:
        first = self._dropped == 0
        self._dropped += count
        metrics.DROPPED_BY[reason].inc(count)
        # One line for the first drop, then one per 10,000 (a long outage must not flood).
        if first or self._dropped // 10_000 != (self._dropped - count) // 10_000:
            log.warning(
                "usage_records_dropped reason=%s dropped_total=%d max_buffered=%d",
                reason,
                self._dropped,
                self._max_buffered,
            )
