"""A media worker process for the crash test: it claims a job, reports progress, then hangs
until the test kills it with SIGKILL (no shutdown, no ack: a worker that died).

Usage: python doomed_worker.py <redis-url> <key-prefix>
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from grok2api_jobs import Job, RedisJobQueue
from media_worker.handlers import Progress
from media_worker.metrics import WorkerMetrics
from media_worker.worker import Worker
from prometheus_client import CollectorRegistry


async def hang(job: Job, *, progress: Progress) -> Mapping[str, Any]:
    await progress({"worker": "doomed", "pid": os.getpid()})
    await asyncio.Event().wait()
    return {}


async def main(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    worker = Worker(
        queue=RedisJobQueue(client, prefix=prefix),
        handlers={"test.slow": hang},
        concurrency=1,
        consumer="doomed",
        visibility_timeout=60,
        metrics=WorkerMetrics.on(CollectorRegistry()),
        block_ms=100,
    )
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
