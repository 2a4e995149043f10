"""A worker process killed mid-job: another worker finishes the job, the client sees one end,
and the dead worker's consumer name is pruned from the queue."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import sys
from collections.abc import Awaitable, Mapping
from typing import Any

import redis.asyncio as aioredis
from grok2api_jobs import EventType, Job, JobEvent, RedisJobQueue
from media_worker.handlers import Progress

DOOMED_WORKER = pathlib.Path(__file__).with_name("doomed_worker.py")
REDIS_URL = "redis://127.0.0.1:6379/0"


async def handler_event(queue: RedisJobQueue, job_id: str) -> JobEvent:
    """The first event the handler published (after the worker's ``started``)."""
    async with contextlib.aclosing(queue.events(job_id)) as stream:
        async for event in stream:
            if event.data.get("stage") != "started":
                return event
    raise AssertionError("the event stream ended without a handler's event")


async def _gone(name: str, names: Awaitable[list[str]]) -> bool:
    return name not in await names


async def test_a_job_whose_worker_process_was_killed_is_finished_by_another_exactly_once(
    redis_client: aioredis.Redis, redis_prefix: str, start_worker: Any, eventually: Any
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, str(DOOMED_WORKER), REDIS_URL, redis_prefix
    )
    try:
        job_id = await queue.submit("test.slow", {"prompt": "a lighthouse"})
        async with asyncio.timeout(60):
            started = await handler_event(queue, job_id)
    finally:
        doomed.kill()
        await doomed.wait()
    assert started.data["pid"] == doomed.pid
    assert (await queue.depth()).in_flight == 1

    async def finish(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        return {"worker": "rescuer", "attempt": job.attempt, "prompt": job.payload["prompt"]}

    async def consumers() -> list[str]:
        rows = await redis_client.xinfo_consumers(f"{redis_prefix}jobs", "media-workers")
        return [row["name"].decode() for row in rows]

    async with start_worker(queue, {"test.slow": finish}, visibility_timeout=0.5,
                            prune_idle=0.2):
        async with asyncio.timeout(30):
            seen = [event async for event in queue.events(job_id)]
        await eventually(lambda: _gone("doomed", consumers()))  # the dead worker's name
    assert await consumers() == []  # and the rescuer retired on its way out

    assert [(event.type, event.data.get("stage")) for event in seen] == [
        (EventType.PROGRESS, "started"),  # attempt 1, by the doomed worker
        (EventType.PROGRESS, None),  # its handler's event
        (EventType.PROGRESS, "started"),  # attempt 2, by the rescuer
        (EventType.RESULT, None),
    ]
    assert seen[-1].data == {"worker": "rescuer", "attempt": 2, "prompt": "a lighthouse"}
    assert await queue.finished(job_id)
    depth = await queue.depth()
    assert (depth.waiting, depth.in_flight) == (0, 0)


async def test_a_stopped_worker_leaves_no_consumer_behind(
    redis_client: aioredis.Redis, redis_prefix: str, start_worker: Any
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)

    async def echo(job: Job, *, progress: Progress) -> Mapping[str, Any]:
        return {"echo": job.payload}

    async with start_worker(queue, {"test.echo": echo}) as worker:
        job_id = await queue.submit("test.echo", {"n": 1})
        assert (await queue.wait(job_id, timeout=30)).data == {"echo": {"n": 1}}
        rows = await redis_client.xinfo_consumers(f"{redis_prefix}jobs", "media-workers")
        assert [row["name"].decode() for row in rows] == [worker.consumer]
    assert await redis_client.xinfo_consumers(f"{redis_prefix}jobs", "media-workers") == []
