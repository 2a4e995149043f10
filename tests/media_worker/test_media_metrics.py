"""The media worker's ``grok2api_media_*`` metrics (docs/metrics.md) after real jobs, and the
shared gauges (queue depth, media store size) reported by one worker only."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from grok2api_jobs import EventType, InProcessJobQueue, RedisJobQueue
from grok2api_media import jobs
from grok2api_media.blobs import BLOB_KINDS, BlobStore
from grok_sim.testing import SimHandle
from media_stack import MediaStack, running_media_stack
from media_worker import main, shared
from media_worker.metrics import WorkerMetrics
from media_worker.worker import Worker
from prometheus_client import CollectorRegistry, generate_latest

CREDENTIAL = "media-metrics-credential-" + "c" * 20


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[MediaStack]:
    async with running_media_stack(sim=sim, data_dir=tmp_path) as running:
        yield running


def _store_bytes(root: Path, kind: str) -> int:
    folder = root / kind
    if not folder.exists():
        return 0
    return sum(entry.stat().st_size for entry in os.scandir(folder) if entry.is_file())


async def _image_traffic(stack: MediaStack) -> list[str]:
    """One image job that completes and one that fails; their job ids."""
    await stack.add(CREDENTIAL, auto=80)
    prompt = {"model": "grok-imagine-1.0", "prompt": "a red fox", "n": 2}
    done = await stack.queue.submit(jobs.KIND_IMAGE, prompt)
    assert (await stack.queue.wait(done, timeout=30)).type is EventType.RESULT
    stack.sim.set_fault("moderated")
    refused = await stack.queue.submit(jobs.KIND_IMAGE, prompt)
    assert (await stack.queue.wait(refused, timeout=30)).type is EventType.ERROR
    return [done, refused]


async def test_real_jobs_are_counted_timed_and_their_files_measured(
    stack: MediaStack, eventually: Any
) -> None:
    await _image_traffic(stack)
    await eventually(lambda: stack.worker.in_flight == 0)  # acked after the final event
    stack.clock.advance(shared.CACHE_INTERVAL)  # the store is measured once a minute
    assert await stack.worker.shared.tick()
    registry = stack.registry

    def finished(outcome: str) -> float | None:
        labels = {"kind": jobs.KIND_IMAGE, "outcome": outcome}
        return registry.get_sample_value("grok2api_media_jobs_finished_total", labels)

    assert (finished("completed"), finished("failed")) == (1, 1)
    kind = {"kind": jobs.KIND_IMAGE}
    assert registry.get_sample_value("grok2api_media_job_duration_seconds_count", kind) == 2
    assert registry.get_sample_value("grok2api_media_jobs_in_flight", kind) == 0
    assert registry.get_sample_value("grok2api_media_queue_depth", {"state": "waiting"}) == 0
    image_bytes = registry.get_sample_value("grok2api_media_cache_bytes", {"kind": "image"})
    assert image_bytes == _store_bytes(stack.blobs.root, "image") > 0
    for other in set(BLOB_KINDS) - {"image"}:
        assert registry.get_sample_value("grok2api_media_cache_bytes", {"kind": other}) == 0


async def test_no_label_carries_a_credential_an_account_or_a_job(stack: MediaStack) -> None:
    job_ids = await _image_traffic(stack)
    stack.clock.advance(shared.CACHE_INTERVAL)
    await stack.worker.shared.tick()
    text = generate_latest(stack.registry).decode()

    for secret in [CREDENTIAL, *stack.ids.values(), *job_ids, "red fox"]:
        assert secret not in text


async def test_promtool_accepts_the_exposition(
    stack: MediaStack, check_metrics: Callable[[bytes], None]
) -> None:
    await _image_traffic(stack)
    await stack.worker.shared.tick()
    await asyncio.to_thread(check_metrics, generate_latest(stack.registry))


async def test_the_store_is_measured_once_per_interval_on_the_injected_clock(
    tmp_path: Path,
) -> None:
    now = [0.0]
    registry = CollectorRegistry()
    blobs = BlobStore(tmp_path / "media", limit_bytes=None)
    worker = Worker(
        queue=InProcessJobQueue(), handlers={}, concurrency=1,
        metrics=WorkerMetrics.on(registry), blobs=blobs, clock=lambda: now[0],
    )  # fmt: skip

    def image_bytes() -> float | None:
        return registry.get_sample_value("grok2api_media_cache_bytes", {"kind": "image"})

    await worker.shared.tick()
    assert image_bytes() == 0
    await blobs.put_bytes("image", b"x" * 1000, content_type="image/png")
    now[0] += 59.0
    await worker.shared.tick()
    assert image_bytes() == 0  # not measured again yet: a scan stats every file
    now[0] += 1.0
    await worker.shared.tick()
    assert image_bytes() == 1000


def _worker(queue: RedisJobQueue, registry: CollectorRegistry, blobs: BlobStore,
            redis: aioredis.Redis, prefix: str) -> Worker:  # fmt: skip
    return Worker(
        queue=queue, handlers={}, concurrency=1, metrics=WorkerMetrics.on(registry),
        blobs=blobs, leadership=main.metrics_leadership(redis, prefix),
    )  # fmt: skip


def _reports(registry: CollectorRegistry) -> tuple[bool, bool]:
    names = {s.name for family in registry.collect() for s in family.samples}
    return "grok2api_media_queue_depth" in names, "grok2api_media_cache_bytes" in names


async def test_two_workers_on_one_redis_report_the_shared_gauges_once(
    redis_client: aioredis.Redis, redis_prefix: str, tmp_path: Path
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    blobs = BlobStore(tmp_path / "media", limit_bytes=None)  # the volume both mount
    await blobs.put_bytes("video", b"v" * 300, content_type="video/mp4")
    for _ in range(3):
        await queue.submit("test.echo", {})
    registries = [CollectorRegistry(), CollectorRegistry()]
    workers = [_worker(queue, r, blobs, redis_client, redis_prefix) for r in registries]

    answers = [await w.shared.tick() for w in workers] + [await w.shared.tick() for w in workers]

    assert answers == [True, False, True, False]
    assert [_reports(r) for r in registries] == [(True, True), (False, False)]
    waiting = sum(
        r.get_sample_value("grok2api_media_queue_depth", {"state": "waiting"}) or 0
        for r in registries
    )
    assert waiting == 3
    video = {"kind": "video"}
    videos = [r.get_sample_value("grok2api_media_cache_bytes", video) for r in registries]
    assert videos == [300, None]

    await workers[0].shared.stop()  # the leader shuts down

    assert _reports(registries[0]) == (False, False)
    assert await workers[1].shared.tick()
    assert _reports(registries[1]) == (True, True)


async def test_a_worker_whose_lease_expired_stops_reporting(
    redis_client: aioredis.Redis, redis_prefix: str, tmp_path: Path
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    blobs = BlobStore(tmp_path / "media", limit_bytes=None)
    registries = [CollectorRegistry(), CollectorRegistry()]
    stalled, other = (_worker(queue, r, blobs, redis_client, redis_prefix) for r in registries)
    assert await stalled.shared.tick()

    await redis_client.delete(f"{redis_prefix}media:metrics-leader")  # its lease ran out
    assert await other.shared.tick()
    assert not await stalled.shared.tick()

    assert [_reports(r) for r in registries] == [(False, False), (True, True)]


async def test_the_single_process_worker_always_reports_them(tmp_path: Path) -> None:
    from grok2api_settings import Settings

    registry = CollectorRegistry()
    settings = Settings.model_validate({"data_dir": str(tmp_path)})
    async with main.running(settings, queue=InProcessJobQueue(), registry=registry) as worker:
        assert await worker.shared.tick()
        assert await worker.shared.tick()
        assert _reports(registry) == (True, True)
    assert _reports(registry) == (False, False)  # stopped: nobody's figures to show
