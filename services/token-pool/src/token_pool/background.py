"""The pool's background work: supervised loops, restarted after a crash, and one-off jobs.

The loops call Redis, whose client can lose a cancel (``grok2api_jobs.cancellation``):
each checks after its calls, and so does the supervisor, or closing the pool would hang.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from grok2api_jobs import raise_if_cancelling

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 1.0

Job = Callable[[], Coroutine[Any, Any, None]]


class BackgroundJobs:
    """The running tasks, each named ``pool-<name>``; ``aclose()`` cancels them all."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, job: Job) -> None:
        """Run ``job`` as a loop, restarted whenever it crashes or returns."""
        self._tasks.append(asyncio.create_task(supervised(name, job), name=f"pool-{name}"))

    def start_once(self, name: str, job: Job) -> None:
        """Run ``job`` once, unless a job of that name is still running."""
        task_name = f"pool-{name}"
        self._tasks = [t for t in self._tasks if not t.done()]  # one-offs must not pile up
        if any(t.get_name() == task_name for t in self._tasks):
            return
        self._tasks.append(asyncio.create_task(supervised(name, job, once=True), name=task_name))

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


async def supervised(name: str, job: Job, *, once: bool = False) -> None:
    """Run a background loop; a crash is logged (never silent) and the loop restarted
    (``once``: a one-off job, not restarted)."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            raise_if_cancelling()
            log.exception("pool_background_task_failed task=%s", name)
        raise_if_cancelling()
        if once:
            return
        await asyncio.sleep(RESTART_DELAY_SECONDS)
