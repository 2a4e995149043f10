"""The gauges of what the media workers share: the job queue's depth and the media store's
size. Every worker sees the same queue and (on a shared volume) the same store, so only the
one holding ``leadership`` reports them, and ``sum()`` over workers stays right.

``SharedReporter.tick()`` runs every few seconds (``Worker``'s depth loop): it takes or
renews the lease; the leader sets the queue's depth, and the store's size once every
``cache_interval`` s (a scan of the store's directories, in a thread); a worker that is not
the leader, or stops being it, drops both gauges' series.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from grok2api_jobs import JobQueue, QueueUnavailableError
from grok2api_jobs import leadership as leaders
from grok2api_media.blobs import BlobStore

from .metrics import WorkerMetrics

log = logging.getLogger(__name__)

# Seconds between scans of the media store: a scan stats every file, and the size moves
# slowly (cleanup keeps it under cache.limit_mb).
CACHE_INTERVAL = 60.0


class SharedReporter:
    def __init__(
        self,
        *,
        queue: JobQueue,
        metrics: WorkerMetrics,
        leadership: leaders.Leadership,
        blobs: BlobStore | None,
        cache_interval: float = CACHE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue = queue
        self._metrics = metrics
        self._leadership = leadership
        self._blobs = blobs
        self._cache_interval = cache_interval
        self._clock = clock
        self._next_scan: float | None = None  # None: scan at the next tick as leader

    async def tick(self) -> bool:
        """One round; whether this worker reports the shared gauges now."""
        if not await self._leadership.hold():
            self.hide()
            return False
        await self._report_depth()
        now = self._clock()
        if self._blobs is not None and (self._next_scan is None or now >= self._next_scan):
            self._next_scan = now + self._cache_interval
            await self._report_cache()
        return True

    def hide(self) -> None:
        self._metrics.hide_shared()
        self._next_scan = None

    async def stop(self) -> None:
        """Drop the series and give the lease up, so another worker reports at once."""
        self.hide()
        await self._leadership.release()

    async def _report_depth(self) -> None:
        try:
            depth = await self._queue.depth()
        except QueueUnavailableError as exc:
            log.warning("media_depth_failed error=%s", exc)
            self._metrics.queue_depth.clear()
            return
        self._metrics.queue_depth.labels(state="waiting").set(depth.waiting)
        self._metrics.queue_depth.labels(state="in_flight").set(depth.in_flight)

    async def _report_cache(self) -> None:
        assert self._blobs is not None
        try:
            usage = await self._blobs.usage_by_kind()
        except OSError as exc:
            log.warning("media_cache_size_failed error=%s", exc)
            self._metrics.cache_bytes.clear()
            return
        for kind, (size, _files) in usage.items():
            self._metrics.cache_bytes.labels(kind=kind).set(size)
