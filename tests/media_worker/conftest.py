"""Fixtures: fresh metrics and a helper to run a worker (`queue` comes from the root)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from grok2api_jobs import JobQueue
from media_worker.handlers import Handler
from media_worker.metrics import WorkerMetrics
from media_worker.worker import Worker
from prometheus_client import CollectorRegistry


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


StartWorker = Callable[..., contextlib.AbstractAsyncContextManager[Worker]]


@pytest.fixture
def start_worker(registry: CollectorRegistry) -> StartWorker:
    """``async with start_worker(queue, handlers, **options) as worker``: runs ``worker.run()``
    in a task for the block and cancels it (a clean shutdown) on exit."""

    @contextlib.asynccontextmanager
    async def start(
        queue: JobQueue, handlers: Mapping[str, Handler], **options: Any
    ) -> AsyncIterator[Worker]:
        options = {"concurrency": 4, "block_ms": 50, "shutdown_grace": 1.0, **options}
        worker = Worker(
            queue=queue, handlers=handlers, metrics=WorkerMetrics.on(registry), **options
        )
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return start


Eventually = Callable[..., Any]


@pytest.fixture
def eventually() -> Eventually:
    """``await eventually(check)``: poll the (possibly async) ``check`` until it is truthy;
    fail after 10 s."""

    async def poll(check: Callable[[], Any]) -> None:
        async with asyncio.timeout(10):
            while True:
                outcome = check()
                if asyncio.iscoroutine(outcome):
                    outcome = await outcome
                if outcome:
                    return
                await asyncio.sleep(0.01)

    return poll
