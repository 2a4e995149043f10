"""Concurrency cap, clean shutdown, and what happens to jobs whose worker went away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import pytest
from grok2api_jobs import EventType, Job, JobQueue, QueueUnavailableError, events
from media_worker.handlers import Progress
from media_worker.metrics import WorkerMetrics
from media_worker.worker import Worker
from prometheus_client import CollectorRegistry


class Gated:
    """A handler that holds every job until ``gate`` opens, recording how many ran at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.active = 0
        self.most_active = 0
        self.started: list[str] = []

    async def __call__(self, job: Job, *, progress: Progress) -> Mapping[str, Any]:
        self.started.append(job.id)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await self.gate.wait()
        finally:
            self.active -= 1
        return {"by": job.payload.get("by", "worker")}


async def test_never_runs_more_jobs_at_once_than_its_concurrency(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    handler = Gated()
    ids = [await queue.submit("test.gated", {}) for _ in range(10)]

    async with start_worker(queue, {"test.gated": handler}, concurrency=3) as worker:
        await eventually(lambda: handler.active == 3)
        await asyncio.sleep(0.2)
        assert (handler.active, worker.in_flight) == (3, 3)
        assert (await queue.depth()).waiting == 7

        handler.gate.set()
        finals = [await queue.wait(job_id, timeout=10) for job_id in ids]

    assert handler.most_active == 3
    assert sorted(handler.started) == sorted(ids)
    assert all(final.type is EventType.RESULT for final in finals)


async def test_shutdown_lets_running_jobs_finish_within_the_grace_period(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    handler = Gated()
    job_id = await queue.submit("test.gated", {})

    async with start_worker(queue, {"test.gated": handler}, shutdown_grace=10) as worker:
        await eventually(lambda: handler.active == 1)
        asyncio.get_running_loop().call_later(0.1, handler.gate.set)

    assert worker.in_flight == 0
    assert (await queue.wait(job_id, timeout=1)).type is EventType.RESULT
    depth = await queue.depth()
    assert (depth.waiting, depth.in_flight) == (0, 0)


async def test_shutdown_leaves_unfinished_jobs_for_another_worker_to_reclaim(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    stuck = Gated()
    job_id = await queue.submit("test.gated", {})

    async with start_worker(queue, {"test.gated": stuck}, shutdown_grace=0.05):
        await eventually(lambda: stuck.active == 1)

    assert stuck.active == 0
    assert not await queue.finished(job_id)
    assert (await queue.depth()).in_flight == 1

    rescuer = Gated()
    rescuer.gate.set()
    async with start_worker(queue, {"test.gated": rescuer}, visibility_timeout=0.2):
        final = await queue.wait(job_id, timeout=10)

    assert final.type is EventType.RESULT
    assert rescuer.started == [job_id]


async def test_a_job_whose_worker_died_is_finished_by_another_worker_exactly_once(
    queue: JobQueue, start_worker: Any
) -> None:
    job_id = await queue.submit("test.echo", {"prompt": "x"})
    [orphan] = await queue.claim(consumer="died-mid-job", count=1, block_ms=0)
    await queue.publish_event(job_id, events.progress({"percent": 40}))
    attempts: list[int] = []

    async def echo(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        attempts.append(job.attempt)
        return {"done": True}

    async with start_worker(queue, {"test.echo": echo}, visibility_timeout=0.2):
        seen = [event async for event in queue.events(job_id)]

    assert orphan.job.id == job_id
    assert attempts == [2]
    assert [(e.type, e.data.get("attempt")) for e in seen] == [
        (EventType.PROGRESS, None),  # the dead worker's
        (EventType.PROGRESS, 2),  # "started", by the worker that took it over
        (EventType.RESULT, None),
    ]


async def test_a_slow_worker_finishing_after_a_reclaim_publishes_nothing_more(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    slow = Gated()
    fast = Gated()
    fast.gate.set()
    job_id = await queue.submit("test.gated", {})

    # The slow worker heartbeats rarely (long visibility timeout); the fast one considers
    # 0.2 s of silence a dead worker and takes the job over while the slow one still runs.
    async with start_worker(queue, {"test.gated": slow}, visibility_timeout=60, consumer="slow"):
        await eventually(lambda: slow.active == 1)
        async with start_worker(
            queue, {"test.gated": fast}, visibility_timeout=0.2, consumer="fast"
        ):
            winner = await queue.wait(job_id, timeout=10)
        slow.gate.set()
        await eventually(lambda: slow.active == 0)
        await eventually(lambda: _no_jobs_in_flight(queue))

    terminals = [e async for e in queue.events(job_id) if e.terminal]
    assert fast.started == [job_id]
    assert winner.type is EventType.RESULT
    assert terminals == [winner]


async def test_a_job_that_keeps_losing_its_worker_is_abandoned_with_an_error(
    queue: JobQueue, start_worker: Any
) -> None:
    never = Gated()
    job_id = await queue.submit("test.gated", {})
    await queue.claim(consumer="died", count=1, block_ms=0)

    async with start_worker(queue, {"test.gated": never}, visibility_timeout=0.1, max_attempts=1):
        final = await queue.wait(job_id, timeout=10)

    assert never.started == []
    assert final.data["code"] == "abandoned"
    assert "stopped before finishing it 1 times" in final.data["message"]


async def test_a_job_finished_before_its_worker_died_is_acked_without_running_again(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    handler = Gated()
    job_id = await queue.submit("test.gated", {})
    await queue.claim(consumer="died-before-ack", count=1, block_ms=0)
    await queue.publish_event(job_id, events.result({"by": "first"}))

    async with start_worker(queue, {"test.gated": handler}, visibility_timeout=0.1):
        await eventually(lambda: _no_jobs_in_flight(queue))

    assert handler.started == []
    assert [dict(e.data) async for e in queue.events(job_id)] == [{"by": "first"}]


@pytest.mark.parametrize("error", [QueueUnavailableError("redis down"), KeyError("job")])
async def test_keeps_consuming_after_claims_failed(
    queue: JobQueue, start_worker: Any, error: Exception
) -> None:
    flaky = FlakyQueue(queue, failures=2, error=error)
    handler = Gated()
    handler.gate.set()
    job_id = await queue.submit("test.gated", {})

    async with start_worker(flaky, {"test.gated": handler}):
        final = await queue.wait(job_id, timeout=10)

    assert flaky.failures == 0
    assert final.type is EventType.RESULT


async def test_cancelling_run_returns_promptly_with_no_jobs(registry: CollectorRegistry) -> None:
    from grok2api_jobs import InProcessJobQueue

    worker = Worker(
        queue=InProcessJobQueue(),
        handlers={},
        concurrency=2,
        metrics=WorkerMetrics.on(registry),
        block_ms=60_000,
    )
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
    assert task.done()


class FlakyQueue:
    """Delegates to a real queue, but the first ``failures`` claims raise ``error``."""

    def __init__(self, inner: JobQueue, *, failures: int, error: Exception) -> None:
        self._inner = inner
        self.failures = failures
        self._error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim(self, **options: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise self._error
        return await self._inner.claim(**options)


async def _no_jobs_in_flight(queue: JobQueue) -> bool:
    return (await queue.depth()).in_flight == 0


async def test_stops_even_when_the_queue_client_swallows_the_cancel(
    registry: CollectorRegistry,
) -> None:
    worker = Worker(
        queue=SwallowingQueue(),  # type: ignore[arg-type]
        handlers={},
        concurrency=1,
        metrics=WorkerMetrics.on(registry),
        block_ms=50,
    )
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.1)
    task.cancel()

    done, _ = await asyncio.wait([task], timeout=5)

    assert done == {task}
    assert task.cancelled()


class SwallowingQueue:
    """Behaves like redis-py on Python 3.11 at its worst: a cancelled claim returns []."""

    async def claim(self, **options: Any) -> list[Any]:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(options["block_ms"] / 1000)
        return []

    async def reclaim_stale(self, **options: Any) -> list[Any]:
        return []

    async def heartbeat(self, **options: Any) -> list[Any]:
        return []

    async def prune_consumers(self, **options: Any) -> int:
        return 0

    async def retire(self, **options: Any) -> None:
        return None

    async def depth(self) -> Any:
        from grok2api_jobs import QueueDepth

        return QueueDepth(waiting=0, in_flight=0)
