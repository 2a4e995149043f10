"""The media worker: a bounded set of job tasks fed from the queue, supervised in one place.

One loop claims jobs (new ones, and every ``reclaim_interval`` s stale ones whose worker
died) only while a slot is free, so at most ``concurrency`` jobs run at once. A second loop
heartbeats the running jobs so that a slow job is not mistaken for an orphan. A third asks
the queue every ``cancel_poll_interval`` s which running jobs have ended elsewhere (a client
cancelled them, or another worker finished them) and stops their handlers; those jobs are
acked (``dispatch.Outcome.CANCELLED``).

A fourth reports what the workers share (``shared.SharedReporter``: the queue's depth and
the media store's size, from the one worker holding the metrics leadership) every
``depth_interval`` s.

Cancelling ``run()`` stops claiming, gives the running jobs ``shutdown_grace`` s to finish,
then cancels the rest: those stay un-acked and another worker reclaims them once they have
been idle for ``visibility_timeout`` s. A stopped worker retires its consumer name from the
queue, and the reclaim step prunes the names of workers that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping

from grok2api_jobs import Delivery, JobQueue, QueueUnavailableError, raise_if_cancelling
from grok2api_jobs import leadership as leaders
from grok2api_media.blobs import BlobStore
from prometheus_client import Gauge

from . import dispatch, shared
from .handlers import Handler
from .metrics import WorkerMetrics

log = logging.getLogger(__name__)

# Seconds between reports of the queue's depth (the gauge an autoscaler scales workers on).
DEPTH_INTERVAL = 5.0
# The metrics leadership outlives two missed reports.
METRICS_LEASE_SECONDS = 3 * DEPTH_INTERVAL
# How long shutdown waits for cancelled jobs to unwind after the grace period.
CANCEL_WAIT_SECONDS = 5.0
# Consumers (of workers that died) idle this many visibility timeouts, owning no job, are
# removed from the queue's consumer group by default; a live worker reads far more often.
PRUNE_AFTER_VISIBILITY_TIMEOUTS = 10


def _retry_delay(failures: int) -> float:
    """Seconds before claiming again after ``failures`` failed attempts in a row."""
    return min(30.0, 0.1 * 2 ** min(failures, 9))


def default_consumer_name() -> str:
    """Unique per process; the host name makes ``XINFO CONSUMERS`` readable (the pod name)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    """Consumes ``queue`` with ``handlers`` (by job kind), ``concurrency`` jobs at a time.

    ``visibility_timeout`` (s): a job whose worker sent no heartbeat for that long is
    reclaimed by another. ``max_attempts``: deliveries after which a job that keeps killing
    its worker ends with an ``abandoned`` error instead of running again. ``block_ms``: how
    long one claim waits for a job. ``prune_idle`` (s): consumers idle that long and owning
    no job are removed from the queue (default ten visibility timeouts).
    ``cancel_poll_interval`` (s): how often running jobs are checked for having ended
    elsewhere. ``leadership``: who reports the shared gauges (None: this worker, the
    single-process mode); ``blobs``: the media store whose size it reports (None: none).
    ``clock``: monotonic seconds, for job durations and the store's scan interval.
    """

    def __init__(
        self,
        *,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        concurrency: int,
        metrics: WorkerMetrics | None = None,
        consumer: str | None = None,
        visibility_timeout: float = 60.0,
        reclaim_interval: float | None = None,
        max_attempts: int = 3,
        shutdown_grace: float = 10.0,
        block_ms: int = 1000,
        prune_idle: float | None = None,
        cancel_poll_interval: float = 1.0,
        depth_interval: float = DEPTH_INTERVAL,
        leadership: leaders.Leadership | None = None,
        blobs: BlobStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.queue = queue
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.consumer = consumer or default_consumer_name()
        self.metrics = metrics or WorkerMetrics.on()
        self._visibility_ms = max(1, int(visibility_timeout * 1000))
        self._reclaim_interval = reclaim_interval or visibility_timeout / 2
        self._heartbeat_interval = visibility_timeout / 3
        self._max_attempts = max_attempts
        self._shutdown_grace = shutdown_grace
        self._block_ms = block_ms
        self._prune_idle_ms = (
            int(prune_idle * 1000) if prune_idle is not None
            else PRUNE_AFTER_VISIBILITY_TIMEOUTS * self._visibility_ms
        )  # fmt: skip
        self._cancel_poll_interval = cancel_poll_interval
        self._depth_interval = depth_interval
        self._clock = clock
        self.shared = shared.SharedReporter(
            queue=queue,
            metrics=self.metrics,
            leadership=leadership or leaders.SoleLeadership(),
            blobs=blobs,
            clock=clock,
        )
        self._running: dict[asyncio.Task[dispatch.Outcome], Delivery] = {}
        self._stops: dict[asyncio.Task[dispatch.Outcome], dispatch.Stop] = {}
        self._slot_freed = asyncio.Event()

    @property
    def in_flight(self) -> int:
        """Jobs running in this worker now."""
        return len(self._running)

    async def run(self) -> None:
        """Consume until cancelled, then shut down as the module docstring says."""
        log.info("media_worker_started consumer=%s concurrency=%d", self.consumer, self.concurrency)
        helpers = [
            asyncio.create_task(self._heartbeat_loop(), name="media-worker-heartbeat"),
            asyncio.create_task(self._cancel_poll_loop(), name="media-worker-cancel-poll"),
            asyncio.create_task(self._depth_loop(), name="media-worker-depth"),
        ]
        try:
            await self._claim_loop()
        finally:
            await self._drain()
            for helper in helpers:
                helper.cancel()
            for helper in helpers:
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            await self.shared.stop()
            await self._retire()
            log.info("media_worker_stopped consumer=%s", self.consumer)

    async def _retire(self) -> None:
        """Leave the consumer group, so that worker restarts do not pile up consumers."""
        try:
            await self.queue.retire(consumer=self.consumer)
        except QueueUnavailableError as exc:  # a dead worker's entry is pruned by the others
            log.warning("media_worker_retire_failed error=%s", exc)

    async def _claim_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        failures = 0
        while True:
            await self._free_slot()
            free = self.concurrency - len(self._running)
            try:
                deliveries: list[Delivery] = []
                if loop.time() >= next_reclaim:
                    next_reclaim = loop.time() + self._reclaim_interval
                    await self.queue.prune_consumers(min_idle_ms=self._prune_idle_ms)
                    deliveries = await self.queue.reclaim_stale(
                        consumer=self.consumer, min_idle_ms=self._visibility_ms, count=free
                    )
                if not deliveries:
                    until_reclaim_ms = int((next_reclaim - loop.time()) * 1000)
                    deliveries = await self.queue.claim(
                        consumer=self.consumer,
                        count=free,
                        block_ms=max(1, min(self._block_ms, until_reclaim_ms)),
                    )
                failures = 0
            except QueueUnavailableError as exc:
                raise_if_cancelling()
                failures += 1
                log.warning("media_queue_unavailable error=%s failures=%d", exc, failures)
                await asyncio.sleep(_retry_delay(failures))
                continue
            except Exception:
                # A bug or a malformed queue entry must not silently end the worker.
                raise_if_cancelling()
                failures += 1
                log.exception("media_claim_failed failures=%d", failures)
                await asyncio.sleep(_retry_delay(failures))
                continue
            # The Redis client can swallow our cancel (see grok2api_jobs.cancellation); the
            # claimed jobs are then left pending for reclaim, like any claim cut short.
            raise_if_cancelling()
            for delivery in deliveries:
                self._start(delivery)

    async def _free_slot(self) -> None:
        while len(self._running) >= self.concurrency:
            self._slot_freed.clear()
            await self._slot_freed.wait()

    def _start(self, delivery: Delivery) -> None:
        job = delivery.job
        stop = dispatch.Stop()
        task = asyncio.create_task(
            dispatch.run_job(
                delivery,
                queue=self.queue,
                handlers=self.handlers,
                metrics=self.metrics,
                max_attempts=self._max_attempts,
                stop=stop,
                clock=self._clock,
            ),
            name=f"media-job-{job.id}",
        )
        self._running[task] = delivery
        self._stops[task] = stop
        self._in_flight(delivery).inc()
        task.add_done_callback(self._finished)

    def _in_flight(self, delivery: Delivery) -> Gauge:
        return self.metrics.in_flight_of(dispatch.metric_kind(delivery.job.kind, self.handlers))

    def _finished(self, task: asyncio.Task[dispatch.Outcome]) -> None:
        delivery = self._running.pop(task)
        self._stops.pop(task, None)
        self._in_flight(delivery).dec()
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            # Only the queue can fail here (handler errors become events): the job stays
            # pending and is reclaimed, so log and carry on.
            log.error("media_job_crashed id=%s error=%r", delivery.job.id, task.exception())

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            running = list(self._running.values())
            try:
                owned = await self.queue.heartbeat(consumer=self.consumer, deliveries=running)
            except QueueUnavailableError as exc:
                raise_if_cancelling()
                log.warning("media_heartbeat_failed error=%s", exc)
                continue
            raise_if_cancelling()
            owned_ids = {delivery.delivery_id for delivery in owned}
            still_running = {delivery.delivery_id for delivery in self._running.values()}
            for delivery in running:
                lost = delivery.delivery_id not in owned_ids
                if lost and delivery.delivery_id in still_running:
                    # It keeps running: publishing is first-wins, so the slower worker's
                    # result is dropped, and the cancel poll stops it once the other finishes.
                    log.warning("media_job_reclaimed_elsewhere id=%s", delivery.job.id)

    async def _cancel_poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._cancel_poll_interval)
            running = dict(self._running)
            if not running:
                continue
            job_ids = [delivery.job.id for delivery in running.values()]
            try:
                ended = await self.queue.finished_among(job_ids)
            except QueueUnavailableError as exc:
                raise_if_cancelling()
                log.warning("media_cancel_poll_failed error=%s", exc)
                continue
            except Exception:
                raise_if_cancelling()  # a bug must not end the polling for good
                log.exception("media_cancel_poll_failed")
                continue
            raise_if_cancelling()
            for task, delivery in running.items():
                stop = self._stops.get(task)
                if delivery.job.id in ended and stop is not None and stop.request():
                    log.info("media_job_stopped id=%s reason=ended_elsewhere", delivery.job.id)

    async def _depth_loop(self) -> None:
        """Report the shared gauges every ``depth_interval`` s, busy or not: a saturated
        worker is exactly when an autoscaler needs the queue's depth."""
        while True:
            try:
                await self.shared.tick()
            except Exception:
                raise_if_cancelling()  # a bug must not end the reports for good
                log.exception("media_shared_metrics_failed")
            raise_if_cancelling()
            await asyncio.sleep(self._depth_interval)

    async def _drain(self) -> None:
        tasks = list(self._running)
        if not tasks:
            return
        log.info("media_worker_draining jobs=%d grace_s=%g", len(tasks), self._shutdown_grace)
        _, unfinished = await asyncio.wait(tasks, timeout=self._shutdown_grace)
        for task in unfinished:
            log.warning("media_job_left_for_reclaim id=%s", self._running[task].job.id)
            task.cancel()
        if unfinished:
            # Bounded: a handler that ignores cancellation must not hang the shutdown.
            await asyncio.wait(unfinished, timeout=CANCEL_WAIT_SECONDS)
