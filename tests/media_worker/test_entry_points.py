"""``running`` and ``serve_forever``: the entry points the CLI wires in."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from grok2api_jobs import EventType, InProcessJobQueue, Job, RedisJobQueue
from grok2api_settings import Settings
from media_worker import main
from media_worker.handlers import Progress
from prometheus_client import CollectorRegistry


async def shout(job: Job, *, progress: Progress) -> Mapping[str, Any]:
    return {"text": str(job.payload["text"]).upper()}


async def test_running_sizes_the_worker_from_media_max_concurrent(
    registry: CollectorRegistry,
) -> None:
    settings = Settings.model_validate({"performance": {"media_max_concurrent": 2}})
    queue = InProcessJobQueue()

    async with main.running(
        settings, queue=queue, handlers={"test.shout": shout}, registry=registry
    ) as worker:
        job_id = await queue.submit("test.shout", {"text": "hi"})
        final = await queue.wait(job_id, timeout=10)

    assert worker.concurrency == 2
    assert final.data == {"text": "HI"}
    assert worker.in_flight == 0


async def test_running_with_the_default_handlers_fails_jobs_of_unknown_kinds(
    registry: CollectorRegistry,
) -> None:
    queue = InProcessJobQueue()

    async with main.running(Settings(), queue=queue, registry=registry):
        job_id = await queue.submit("test.shout", {"text": "hi"})
        final = await queue.wait(job_id, timeout=10)

    assert final.type is EventType.ERROR
    assert final.data["code"] == "unknown_kind"


async def test_serve_forever_consumes_the_redis_queue_until_stopped(
    redis_client: aioredis.Redis, redis_prefix: str, registry: CollectorRegistry
) -> None:
    stop = asyncio.Event()
    serving = asyncio.create_task(
        main.serve_forever(
            Settings(),
            redis=redis_client,
            stop=stop,
            handlers={"test.shout": shout},
            registry=registry,
            prefix=redis_prefix,
        )
    )
    gateway = RedisJobQueue(redis_client, prefix=redis_prefix)
    job_id = await gateway.submit("test.shout", {"text": "split"})
    final = await gateway.wait(job_id, timeout=10)

    stop.set()
    await asyncio.wait_for(serving, timeout=10)

    assert final.data == {"text": "SPLIT"}
    assert serving.exception() is None
    processed = registry.get_sample_value(
        "grok2api_media_jobs_finished_total", {"kind": "test.shout", "outcome": "completed"}
    )
    assert processed == 1


async def test_the_http_app_serves_metrics_and_readiness(
    redis_client: aioredis.Redis, registry: CollectorRegistry
) -> None:
    import httpx2 as httpx
    from media_worker.http import create_app
    from media_worker.metrics import WorkerMetrics

    WorkerMetrics.on(registry).finished.labels(kind="test.shout", outcome="completed").inc()
    app = create_app(redis=redis_client, registry=registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        ready = await client.get("/readyz")
        scrape = await client.get("/metrics/")

    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok"}
    sample = 'grok2api_media_jobs_finished_total{kind="test.shout",outcome="completed"} 1.0'
    assert sample in scrape.text


async def test_the_http_app_is_not_ready_without_redis(registry: CollectorRegistry) -> None:
    import httpx2 as httpx
    from media_worker.http import create_app
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    unreachable = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    transport = httpx.ASGITransport(app=create_app(redis=unreachable, registry=registry))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            ready = await client.get("/readyz")
    finally:
        await unreachable.aclose()

    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] != "ok"
