"""How a ``RedisLimitStore`` coalesces its script runs (the token pool's hot-state pattern).

One run takes a batch of operations (admits, releases, grant returns) of any client keys, in
arrival order. An admit made while no batch is in flight is sent at once (no timer, no added
latency at low load); admits made while one is in flight wait and go together in the next
round trip, at most ``max_batch_ops`` to a run, so the batch size follows the load and the
client's per-call cost is shared.

A release never waits for Redis: it is queued and returns at once. It rides the next run (the
next admit's round trip, when requests keep coming), or is sent on its own once it has waited
``RELEASE_LINGER_SECONDS``. ``flush`` sends what is queued. A release never raises: when its
batch fails it is logged and the slot expires on its own.

An admit whose caller is cancelled before its batch is sent never happens (it is skipped); one
answered after its caller left is handed to ``orphaned``, which gives back what it took.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis import exceptions as redis_errors

log = logging.getLogger(__name__)

MAX_BATCH_OPS = 256
"""Operations per script run; bounds its argument list and how long it blocks Redis."""
RELEASE_LINGER_SECONDS = 0.01
"""How long a release waits for a run to ride before it is sent alone."""


class _Op:
    """One queued operation: an admit (``future`` answers its raw script answer), a release
    (no future), or a barrier (no ``op``; ``future`` resolves once everything queued before
    it was sent)."""

    __slots__ = ("future", "op")

    def __init__(self, op: list[Any] | None, future: asyncio.Future[Any] | None) -> None:
        self.op = op
        self.future = future


class LimitBatches:
    """The queue of one store's operations and the runs that send it; ``run`` sends one
    batch and answers one answer per operation."""

    def __init__(
        self,
        run: Callable[[list[list[Any]]], Awaitable[list[Any]]],
        *,
        max_batch_ops: int,
        orphaned: Callable[[list[Any], Any], None],
    ) -> None:
        self._run = run
        self._max_batch_ops = max_batch_ops
        self._orphaned = orphaned
        self._queue: collections.deque[_Op] = collections.deque()
        self._busy = False
        """A batch is in flight (or the drainer is about to send the queue)."""
        self._drainer: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None

    async def send(self, op: list[Any]) -> Any:
        """Run the admit ``op`` (at once when idle, else in the next batch) and answer its
        script answer."""
        if self._busy or len(self._queue) >= self._max_batch_ops:
            return await self._enqueue(op)
        self._busy = True
        return await self._run_alone(op)

    def queue(self, op: list[Any]) -> None:
        """Queue a release or a grant return, answered by nobody: it rides the next run, or
        goes alone after ``RELEASE_LINGER_SECONDS``."""
        self._queue.append(_Op(op, None))
        if not self._busy:
            self._arm_linger()

    async def aclose(self) -> None:
        """Send everything queued, including what answers queue meanwhile."""
        while self._busy or self._queue:
            await self.flush()
        self._cancel_linger()

    async def _run_alone(self, op: list[Any]) -> Any:
        """Send ``op`` at once, with the releases lingering in the queue ahead of it, and
        answer its answer; the caller has set ``_busy``."""
        releases = [queued.op for queued in self._queue if queued.op is not None]
        self._queue.clear()  # while idle, only releases wait in the queue
        self._cancel_linger()
        try:
            return (await self._run([*releases, op]))[-1]
        except BaseException as exc:
            for release in releases:
                self._log_lost_release(release[1], f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._after_run()

    def _after_run(self) -> None:
        if self._waiters():
            self._start_drainer()
        else:
            self._busy = False
            if self._queue:
                self._arm_linger()

    def _waiters(self) -> bool:
        """Whether an admit or a barrier waits in the queue (else only releases do)."""
        return any(queued.future is not None for queued in self._queue)

    def _start_drainer(self) -> None:
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(
                self._drain(), name="limit-batch-drainer"
            )

    async def _drain(self) -> None:
        """Send the queue, batch after batch, while someone waits in it; releases queued
        behind the last waiter stay to ride the next run (or go when their linger ends)."""
        try:
            while self._waiters():
                await self._run_group(self._take())
        except BaseException:
            # Only when cancelled (the loop is shutting down): nobody is left waiting.
            self._settle(list(self._queue), redis_errors.ConnectionError("limit store stopping"))
            self._queue.clear()
            raise
        finally:
            self._drainer = None
            self._busy = False
        if self._queue:
            self._arm_linger()

    def _arm_linger(self) -> None:
        if self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(
                RELEASE_LINGER_SECONDS, self._linger_over
            )

    def _cancel_linger(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    def _linger_over(self) -> None:
        self._linger = None
        if self._queue and not self._busy:
            self._send_queue()

    def _send_queue(self) -> asyncio.Future[Any]:
        """Have everything queued so far sent, lingering releases too: the answer resolves
        once it was (a barrier at the queue's tail)."""
        return self._enqueue(None)

    def _enqueue(self, op: list[Any] | None) -> asyncio.Future[Any]:
        """Queue ``op`` for the drainer (started when idle); its answer resolves later."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Op(op, future))
        if not self._busy:
            self._busy = True
            self._cancel_linger()
            self._start_drainer()
        return future

    def _take(self) -> list[_Op]:
        group: list[_Op] = []
        size = 0
        queue = self._queue
        while queue and size < self._max_batch_ops:
            queued = queue.popleft()
            if queued.future is not None and queued.future.done():
                continue  # its caller gave up before anything was sent: the admit never happens
            group.append(queued)
            if queued.op is not None:
                size += 1
        return group

    async def _run_group(self, group: list[_Op]) -> None:
        ops = [queued.op for queued in group if queued.op is not None]
        answers: list[Any] = []
        if ops:
            try:
                answers = await self._run(ops)
            except (redis_errors.RedisError, OSError) as exc:
                self._settle(group, exc)
                return
            except BaseException as exc:  # cancelled (shutting down) or a bug: nobody hangs
                self._settle(group, redis_errors.ConnectionError(f"limit batch not run: {exc!r}"))
                raise
        index = 0
        for queued in group:
            future, op = queued.future, queued.op
            if op is None:  # a barrier
                if future is not None and not future.done():
                    future.set_result(None)
                continue
            answer = answers[index]
            index += 1
            if future is None:  # a release
                continue
            if not future.done():
                future.set_result(answer)
            else:
                self._orphaned(op, answer)  # answered after its caller left

    def _settle(self, group: list[_Op], failure: Exception) -> None:
        """Answer ``group`` without a run: admits raise ``failure``, releases are logged."""
        for queued in group:
            future, op = queued.future, queued.op
            if future is None:
                if op is not None:
                    self._log_lost_release(op[1], f"{type(failure).__name__}: {failure}")
            elif not future.done():
                if op is not None:
                    future.set_exception(failure)
                else:
                    future.set_result(None)

    async def flush(self) -> None:
        """Wait until every operation queued here so far (releases included) was sent and
        answered."""
        if self._busy or self._queue:
            await self._send_queue()

    @staticmethod
    def _log_lost_release(key_id: str, reason: str) -> None:
        log.warning(
            "releasing a limit slot of key %s failed (%s); it expires on its own", key_id, reason
        )
