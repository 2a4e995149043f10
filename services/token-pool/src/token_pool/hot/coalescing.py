"""Merge concurrent hot-state batches: one backend call at a time, the others ride the next.

A batch submitted while the backend is idle runs at once (no timer, no added latency at
low load); batches submitted while one runs wait, then run together as one ``run_batch``.
Under load this turns many small round trips and Redis script runs into few large ones,
and the batch size follows the load by itself.

A waiter cancelled before its batch was sent has its acquires dropped (its releases still
go: a slot must come back). A waiter cancelled after that cannot be told its reservation;
the lease expires and is reclaimed like any lease whose holder vanished.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Sequence

from grok2api_poolclient import errors

from . import base

# Items per backend call; bounds the Redis script's argument list and its run time.
MAX_BATCH_ITEMS = 256


@dataclasses.dataclass(frozen=True)
class _Waiting:
    releases: Sequence[base.ReleaseParams]
    acquires: Sequence[base.AcquireParams]
    future: asyncio.Future[base.BatchResult]


class Coalescer:
    def __init__(self, hot: base.HotState, *, max_items: int = MAX_BATCH_ITEMS) -> None:
        self._hot = hot
        self._max_items = max_items
        self._queue: collections.deque[_Waiting] = collections.deque()
        self._busy = False
        self._drainer: asyncio.Task[None] | None = None  # referenced so it is not collected

    async def run(
        self,
        *,
        releases: Sequence[base.ReleaseParams] = (),
        acquires: Sequence[base.AcquireParams] = (),
    ) -> base.BatchResult:
        """``run_batch`` on the hot state, merged with whatever else is submitted meanwhile."""
        if self._busy:
            future = asyncio.get_running_loop().create_future()
            self._queue.append(_Waiting(releases, acquires, future))
            return await future
        self._busy = True
        try:
            return await self._hot.run_batch(releases=releases, acquires=acquires)
        finally:
            if self._queue:
                self._drainer = asyncio.get_running_loop().create_task(self._drain())
            else:
                self._busy = False

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._run_group(self._take())
        finally:
            self._busy = False
            while self._queue:  # only when cancelled (the loop is shutting down)
                waiting = self._queue.popleft()
                if not waiting.future.done():
                    waiting.future.set_exception(errors.PoolUnavailable("token pool stopping"))

    def _take(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        size = 0
        while self._queue and (not group or size < self._max_items):
            waiting = self._queue.popleft()
            if waiting.future.done():  # its caller gave up before anything was sent
                if not waiting.releases:
                    continue
                waiting = _Waiting(waiting.releases, (), waiting.future)
            group.append(waiting)
            size += len(waiting.releases) + len(waiting.acquires)
        return group

    async def _run_group(self, group: list[_Waiting]) -> None:
        releases = [params for waiting in group for params in waiting.releases]
        acquires = [params for waiting in group for params in waiting.acquires]
        try:
            result = await self._hot.run_batch(releases=releases, acquires=acquires)
        except Exception as exc:
            for waiting in group:
                if not waiting.future.done():
                    waiting.future.set_exception(exc)
            return
        r = a = 0
        for waiting in group:
            nr, na = len(waiting.releases), len(waiting.acquires)
            if not waiting.future.done():
                waiting.future.set_result(
                    base.BatchResult(
                        released=result.released[r : r + nr], acquired=result.acquired[a : a + na]
                    )
                )
            r, a = r + nr, a + na
