"""A worker process killed mid-job: another worker finishes the job, the client sees one end."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import sys
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from grok2api_jobs import EventType, Job, JobEvent, RedisJobQueue
from media_worker.handlers import Progress

DOOMED_WORKER = pathlib.Path(__file__).with_name("doomed_worker.py")
REDIS_URL = "redis://127.0.0.1:6379/0"


async def first_event(queue: RedisJobQueue, job_id: str) -> JobEvent:
    async with contextlib.aclosing(queue.events(job_id)) as stream:
        async for event in stream:
            return event
    raise AssertionError("the event stream ended without any event")


async def test_a_job_whose_worker_process_was_killed_is_finished_by_another_exactly_once(
    redis_client: aioredis.Redis, redis_prefix: str, start_worker: Any
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, str(DOOMED_WORKER), REDIS_URL, redis_prefix
    )
    try:
        job_id = await queue.submit("test.slow", {"prompt": "a lighthouse"})
        async with asyncio.timeout(60):
            started = await first_event(queue, job_id)
    finally:
        doomed.kill()
        await doomed.wait()
    assert started.data["pid"] == doomed.pid
    assert (await queue.depth()).in_flight == 1

    async def finish(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        return {"worker": "rescuer", "attempt": job.attempt, "prompt": job.payload["prompt"]}

    async with start_worker(queue, {"test.slow": finish}, visibility_timeout=0.5):
        async with asyncio.timeout(30):
            seen = [event async for event in queue.events(job_id)]

    assert [event.type for event in seen] == [EventType.PROGRESS, EventType.RESULT]
    assert seen[-1].data == {"worker": "rescuer", "attempt": 2, "prompt": "a lighthouse"}
    assert await queue.finished(job_id)
    depth = await queue.depth()
    assert (depth.waiting, depth.in_flight) == (0, 0)
