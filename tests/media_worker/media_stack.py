"""The real media path without the gateway: simulator + PoolService + GrokClient + blob
store + in-process queue + a worker running the media handlers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from grok2api_jobs import InProcessJobQueue, JobEvent
from grok2api_media.blobs import BlobStore
from grok2api_poolclient import leases
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import load_cipher, open_store
from grok_sim.testing import SimHandle
from grok_web.client import GrokClient
from grok_web.options import ClientOptions
from media_worker.handlers import media_handlers
from media_worker.media.context import MediaContext
from media_worker.metrics import WorkerMetrics
from media_worker.worker import Worker
from prometheus_client import CollectorRegistry
from token_pool.hot.memory import MemoryHotState
from token_pool.service import PoolService


class Clock:
    """The worker's monotonic clock, moved by hand (job durations, the store's scans)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclasses.dataclass
class MediaStack:
    sim: SimHandle
    pool: PoolService
    queue: InProcessJobQueue
    blobs: BlobStore
    live: LiveSettings
    worker: Worker
    ids: dict[str, str]
    registry: CollectorRegistry
    clock: Clock

    async def add(self, credential: str, tier: str = "basic", **quotas: Any) -> str:
        self.sim.add_account(credential, tier=tier, quotas=quotas or None)
        account = await self.pool.upsert_account(credential=credential, tier=leases.Tier(tier))
        self.ids[credential] = account.account_id
        return account.account_id

    async def run(self, kind: str, payload: dict[str, Any]) -> tuple[list[JobEvent], JobEvent]:
        """Submit a job and collect its events: the progress ones and the terminal one."""
        job_id = await self.queue.submit(kind, payload)
        seen: list[JobEvent] = []
        async for event in self.queue.events(job_id):
            seen.append(event)
        return seen[:-1], seen[-1]


@contextlib.asynccontextmanager
async def running_media_stack(
    *,
    sim: SimHandle,
    data_dir: Path,
    wrap_grok: Callable[[GrokClient], Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[MediaStack]:
    """``wrap_grok`` wraps the worker's GrokClient (a recorder); the pool keeps its
    egresses in the test's store, so tests may add some (``stack.pool.add_egress``)."""
    data: dict[str, Any] = {
        "data_dir": str(data_dir),
        "network": {"base_url": sim.base_url, "assets_url": sim.base_url},
        "retry": {"retry_backoff_base": 0.0, "retry_backoff_max": 0.05},
        "chat": {"dynamic_statsig": False},
        "image": {"image_ws_blocked_seconds": 1},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    live = LiveSettings(Settings.model_validate(data))
    cipher = load_cipher(live.current, allow_generate=True)
    store = await open_store(live.current, cipher=cipher)
    await store.migrate()
    pool = PoolService(
        settings=lambda: live.current,
        repo=store.accounts,
        egresses=store.egresses,
        hot=MemoryHotState(),
    )
    await pool.start(background=False)
    grok = GrokClient(options=ClientOptions.from_settings(live.current))
    blobs = BlobStore.from_settings(live.current)
    queue = InProcessJobQueue()
    ctx = MediaContext(
        settings=lambda: live.current,
        pool=pool,
        grok=grok if wrap_grok is None else wrap_grok(grok),
        blobs=blobs,
    )
    registry = CollectorRegistry()
    clock = Clock()
    worker = Worker(
        queue=queue,
        handlers=media_handlers(ctx),
        concurrency=8,
        metrics=WorkerMetrics.on(registry),
        block_ms=50,
        shutdown_grace=0.5,
        blobs=blobs,
        clock=clock,
    )
    task = asyncio.create_task(worker.run())
    try:
        yield MediaStack(
            sim=sim,
            pool=pool,
            queue=queue,
            blobs=blobs,
            live=live,
            worker=worker,
            ids={},
            registry=registry,
            clock=clock,
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await grok.aclose()
        await pool.aclose()
        await store.aclose()
