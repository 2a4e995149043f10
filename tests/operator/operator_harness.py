"""Operator replicas, each in its own thread and event loop, against one kmock emulator.

A replica runs in its own loop because kopf, on stop, cancels every task of its loop that
it did not start, which would include pytest-asyncio's teardown tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from grok2api_operator import main
from grok2api_settings import Settings

REFRESH_SECONDS = 0.5
PEERING = "grok2api-test"

# Makes the client the operator uses, inside the operator's own loop (a gRPC channel
# belongs to the loop that opened it).
PoolFactory = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


class Replica:
    """One running operator; ``stop`` ends it the way SIGTERM does (a clean exit)."""

    def __init__(
        self, *, identity: str, priority: int, make_pool: PoolFactory, liveness: str | None = None,
        refresh_interval: float = REFRESH_SECONDS,
    ) -> None:
        self.identity = identity
        self.options = main.Options(
            refresh_interval=refresh_interval, retry_delay=REFRESH_SECONDS, watch_timeout=1.0,
            peering=PEERING, identity=identity, priority=priority, peering_lifetime=5,
            liveness_endpoint=liveness,
        )  # fmt: skip
        self._make_pool = make_pool
        self._started: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name=identity)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        """What ended the operator, if it ended with an error."""

    async def _serve(self) -> None:
        stop = asyncio.Event()
        self._started.put((asyncio.get_running_loop(), stop))
        try:
            async with self._make_pool() as pool:
                await main.run(Settings(), pool=pool, stop=stop, options=self.options)
        except Exception as exc:
            self.error = exc

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    async def start(self) -> None:
        self._thread.start()
        self._loop, self._stop = await asyncio.to_thread(self._started.get, timeout=10)

    async def stop(self) -> None:
        if self._loop is None or self._stop is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(self._thread.join, 20)
        assert not self._thread.is_alive(), f"operator {self.identity} did not stop"
