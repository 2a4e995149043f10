"""Jobs cancelled through the queue: never run if still waiting, stopped if running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from grok2api_jobs import EventType, Job, JobQueue, JobStatus, QueueUnavailableError
from media_worker.handlers import Progress
from prometheus_client import CollectorRegistry


class Endless:
    """A handler that reports progress once, then runs until it is cancelled."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.cancelled: list[str] = []

    async def __call__(self, job: Job, *, progress: Progress) -> Mapping[str, Any]:
        self.started.append(job.id)
        await progress({"progress": 10, "stage": "generating"})
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(job.id)
            raise
        return {}


def _count(registry: CollectorRegistry, outcome: str) -> float | None:
    labels = {"kind": "test.endless", "outcome": outcome}
    return registry.get_sample_value("grok2api_media_jobs_finished_total", labels)


async def _nothing_pending(queue: JobQueue) -> bool:
    depth = await queue.depth()
    return depth.waiting == 0 and depth.in_flight == 0


async def test_a_job_cancelled_while_it_runs_has_its_handler_stopped_and_is_acked(
    queue: JobQueue, start_worker: Any, eventually: Any, registry: CollectorRegistry
) -> None:
    handler = Endless()
    job_id = await queue.submit("test.endless", {})

    async with start_worker(queue, {"test.endless": handler}, cancel_poll_interval=0.05) as w:
        await eventually(lambda: handler.started == [job_id])
        assert await queue.cancel(job_id, message="the client disconnected")
        await eventually(lambda: handler.cancelled == [job_id])
        await eventually(lambda: _nothing_pending(queue))
        await eventually(lambda: w.in_flight == 0)
        assert _count(registry, "cancelled") == 1

    record = await queue.record(job_id)
    assert record is not None
    assert (record.status, record.progress) == (JobStatus.CANCELLED, 10)
    assert record.error == {"code": "cancelled", "message": "the client disconnected"}
    seen = [event async for event in queue.events(job_id)]
    assert [event.type for event in seen] == [EventType.PROGRESS] * 2 + [EventType.ERROR]


async def test_a_job_cancelled_before_any_worker_took_it_never_runs(
    queue: JobQueue, start_worker: Any, eventually: Any, registry: CollectorRegistry
) -> None:
    handler = Endless()
    job_id = await queue.submit("test.endless", {})
    assert await queue.cancel(job_id)

    async with start_worker(queue, {"test.endless": handler}):
        await eventually(lambda: _nothing_pending(queue))  # taken and acked

    assert handler.started == []
    # It ended before it ran: it was not finished here, so it is counted nowhere.
    for outcome in ("completed", "failed", "cancelled", "timeout"):
        assert _count(registry, outcome) is None
    assert [event.type async for event in queue.events(job_id)] == [EventType.ERROR]
    record = await queue.record(job_id)
    assert record is not None and record.status is JobStatus.CANCELLED


async def test_a_job_is_in_progress_from_the_moment_a_worker_takes_it(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    handler = Endless()
    job_id = await queue.submit("test.endless", {})

    async def started() -> bool:
        record = await queue.record(job_id)
        return record is not None and record.started_at is not None

    async with start_worker(queue, {"test.endless": handler}, cancel_poll_interval=0.05):
        await eventually(started)
        record = await queue.record(job_id)
        await queue.cancel(job_id)
        await eventually(lambda: handler.cancelled == [job_id])

    assert record is not None
    assert record.status is JobStatus.IN_PROGRESS
    async with contextlib.aclosing(queue.events(job_id)) as stream:
        first = await anext(stream)
    assert first.data == {"progress": 0, "stage": "started", "attempt": 1}
    assert record.started_at == first.at


async def test_a_failing_cancel_poll_is_retried(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    flaky = FlakyPoll(queue, failures=2)
    handler = Endless()
    job_id = await queue.submit("test.endless", {})

    async with start_worker(flaky, {"test.endless": handler}, cancel_poll_interval=0.05):
        await eventually(lambda: handler.started == [job_id])
        await queue.cancel(job_id)
        await eventually(lambda: handler.cancelled == [job_id])
        await eventually(lambda: _nothing_pending(queue))

    assert flaky.failures == 0


class FlakyPoll:
    """Delegates to a real queue, but the first ``failures`` ``finished_among`` calls fail."""

    def __init__(self, inner: JobQueue, *, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def finished_among(self, job_ids: Any) -> set[str]:
        if self.failures:
            self.failures -= 1
            raise QueueUnavailableError("redis down")
        return await self._inner.finished_among(job_ids)
