"""The worker runs each job's handler by kind and ends every job with one terminal event."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from grok2api_jobs import EventType, Job, JobQueue
from media_worker import errors
from media_worker.errors import JobRejected
from media_worker.handlers import Progress
from prometheus_client import CollectorRegistry


async def echo(job: Job, *, progress: Progress) -> Mapping[str, Any]:
    return {"echo": dict(job.payload), "attempt": job.attempt}


async def test_runs_the_handler_for_the_job_kind_and_publishes_its_result(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    async with start_worker(queue, {"test.echo": echo}):
        job_id = await queue.submit("test.echo", {"prompt": "a red fox"})
        final = await queue.wait(job_id, timeout=10)
        await eventually(lambda: _no_jobs_left(queue))

    assert final.type is EventType.RESULT
    assert final.data == {"echo": {"prompt": "a red fox"}, "attempt": 1}


STARTED = {"progress": 0, "stage": "started", "attempt": 1}


async def test_relays_progress_events_in_order_before_the_result(
    queue: JobQueue, start_worker: Any
) -> None:
    async def staged(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        for percent in (10, 55, 100):
            await progress({"percent": percent})
        return {"url": "/v1/files/image/x.png"}

    async with start_worker(queue, {"test.staged": staged}):
        job_id = await queue.submit("test.staged", {})
        seen = [(e.type, dict(e.data)) async for e in queue.events(job_id)]

    assert seen == [
        (EventType.PROGRESS, STARTED),
        (EventType.PROGRESS, {"percent": 10}),
        (EventType.PROGRESS, {"percent": 55}),
        (EventType.PROGRESS, {"percent": 100}),
        (EventType.RESULT, {"url": "/v1/files/image/x.png"}),
    ]


async def test_an_unknown_kind_ends_with_an_error_event_naming_the_kind(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    async with start_worker(queue, {"test.echo": echo}):
        job_id = await queue.submit("test.teleport", {})
        final = await queue.wait(job_id, timeout=10)
        await eventually(lambda: _no_jobs_left(queue))

    assert final.type is EventType.ERROR
    assert final.data["code"] == "unknown_kind"
    assert "'test.teleport'" in final.data["message"]
    assert "test.echo" in final.data["message"]


async def test_a_failing_handler_ends_the_job_with_an_error_saying_what_happened(
    queue: JobQueue, start_worker: Any, eventually: Any
) -> None:
    async def broken(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        await progress({"percent": 5})
        raise ValueError("no pixels came back")

    async with start_worker(queue, {"test.broken": broken}):
        job_id = await queue.submit("test.broken", {})
        seen = [e async for e in queue.events(job_id)]
        await eventually(lambda: _no_jobs_left(queue))

    assert [dict(e.data) for e in seen[:2]] == [STARTED, {"percent": 5}]
    assert [e.type for e in seen] == [EventType.PROGRESS, EventType.PROGRESS, EventType.ERROR]
    assert seen[-1].data == {
        "code": "handler_failed",
        "message": "test.broken job failed: ValueError: no pixels came back",
    }


async def test_a_rejected_job_carries_the_handlers_code_message_and_status(
    queue: JobQueue, start_worker: Any
) -> None:
    async def refusing(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        raise JobRejected(
            code="content_moderated", message="the prompt was refused upstream", status=400
        )

    async with start_worker(queue, {"test.refusing": refusing}):
        job_id = await queue.submit("test.refusing", {})
        final = await queue.wait(job_id, timeout=10)

    assert final.data == {
        "code": "content_moderated",
        "message": "the prompt was refused upstream",
        "status": 400,
        "retry_after": None,
    }


async def test_counts_jobs_by_kind_and_outcome_and_times_them(
    queue: JobQueue, start_worker: Any, registry: CollectorRegistry, eventually: Any
) -> None:
    async def broken(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        raise RuntimeError("boom")

    async def slow(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        raise errors.JobTimedOut(code="media_timeout", status=504, message="too slow")

    def count(kind: str, outcome: str) -> float | None:
        labels = {"kind": kind, "outcome": outcome}
        return registry.get_sample_value("grok2api_media_jobs_finished_total", labels)

    handlers = {"test.echo": echo, "test.broken": broken, "test.slow": slow}
    async with start_worker(queue, handlers):
        ids = [
            await queue.submit("test.echo", {}),
            await queue.submit("test.echo", {}),
            await queue.submit("test.broken", {}),
            await queue.submit("test.slow", {}),
            await queue.submit("test.nope", {}),
        ]
        for job_id in ids:
            await queue.wait(job_id, timeout=10)
        await eventually(lambda: count("other", "failed") == 1)  # a kind nobody serves

    assert count("test.echo", "completed") == 2
    assert count("test.broken", "failed") == 1
    assert count("test.slow", "timeout") == 1
    assert count("test.slow", "failed") is None
    duration_count = registry.get_sample_value(
        "grok2api_media_job_duration_seconds_count", {"kind": "test.echo"}
    )
    assert duration_count == 2
    for kind in handlers:
        assert registry.get_sample_value("grok2api_media_jobs_in_flight", {"kind": kind}) == 0


async def test_counts_running_jobs_by_kind_on_this_worker(
    queue: JobQueue, start_worker: Any, registry: CollectorRegistry, eventually: Any
) -> None:
    release = asyncio.Event()

    async def blocking(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        await release.wait()
        return {}

    def running(kind: str) -> float | None:
        return registry.get_sample_value("grok2api_media_jobs_in_flight", {"kind": kind})

    async with start_worker(queue, {"test.block": blocking, "test.echo": echo}):
        for _ in range(2):
            await queue.submit("test.block", {})
        await eventually(lambda: running("test.block") == 2)
        assert not running("test.echo")
        release.set()
        await eventually(lambda: running("test.block") == 0)


async def test_times_a_job_from_claim_to_end_on_the_injected_clock(
    queue: JobQueue, start_worker: Any, registry: CollectorRegistry
) -> None:
    now = [100.0]

    async def takes_a_minute(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        now[0] += 60.0
        return {}

    async with start_worker(queue, {"test.minute": takes_a_minute}, clock=lambda: now[0]):
        await queue.wait(await queue.submit("test.minute", {}), timeout=10)

    labels = {"kind": "test.minute"}
    assert registry.get_sample_value("grok2api_media_job_duration_seconds_sum", labels) == 60.0
    bucket = dict(labels, le="60.0")
    assert registry.get_sample_value("grok2api_media_job_duration_seconds_bucket", bucket) == 1
    bucket = dict(labels, le="30.0")
    assert registry.get_sample_value("grok2api_media_job_duration_seconds_bucket", bucket) == 0


async def test_reports_the_queue_depth(
    queue: JobQueue, start_worker: Any, registry: CollectorRegistry, eventually: Any
) -> None:
    for _ in range(3):
        await queue.submit("test.echo", {})

    def waiting() -> float | None:
        return registry.get_sample_value("grok2api_media_queue_depth", {"state": "waiting"})

    def in_flight() -> float | None:
        return registry.get_sample_value("grok2api_media_queue_depth", {"state": "in_flight"})

    async with start_worker(queue, {"test.echo": echo}, depth_interval=0.05):
        await eventually(lambda: waiting() == 0 and in_flight() == 0)


async def test_reports_the_queue_depth_while_every_slot_is_busy(
    queue: JobQueue, start_worker: Any, registry: CollectorRegistry, eventually: Any
) -> None:
    release = asyncio.Event()

    async def blocking(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        await release.wait()
        return {}

    def depth(state: str) -> float | None:
        return registry.get_sample_value("grok2api_media_queue_depth", {"state": state})

    async with start_worker(queue, {"test.block": blocking}, concurrency=1, depth_interval=0.05):
        for _ in range(3):
            await queue.submit("test.block", {})
        await eventually(lambda: depth("waiting") == 2 and depth("in_flight") == 1)
        release.set()


async def _no_jobs_left(queue: JobQueue) -> bool:
    depth = await queue.depth()
    return depth.waiting == 0 and depth.in_flight == 0
