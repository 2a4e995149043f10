"""Acquire and release over one ``LeaseBatches`` stream, coalescing concurrent callers.

Every call becomes an item with an id, queued for the stream's writer. The writer sends at
once when it is idle and otherwise gathers whatever is queued meanwhile into its next
message, so there is no timer and no added latency at low load, and under load one message
(and one Redis round trip on the pool's side) carries many items. A reader matches answers
to waiting callers by id.

Failures, as the unary calls have them: an item's ``ItemError`` becomes the same pool error
(``grpc_errors.from_item_error``); a broken stream fails every item in flight with
``PoolUnavailable`` and the next call opens a new stream; a caller that times out or is
cancelled gets no lease, and a lease granted to it anyway is released (``cancelled``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging

import grok2api.tokenpool.v1.token_pool_pb2_grpc as pb_grpc
import grpc
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_telemetry import tracing

from . import errors, grpc_codec, grpc_errors, grpc_tracing, leases

log = logging.getLogger(__name__)

# Items per message: keeps messages small and lets the pool start on a batch early.
MAX_ITEMS_PER_MESSAGE = 256


class LeaseStream:
    def __init__(self, stub: pb_grpc.TokenPoolStub, *, timeout: float, address: str = "") -> None:
        self._stub = stub
        self._timeout = timeout
        self._address = address  # for the items' client spans
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[pb.AcquireAnswer | None]] = {}
        self._acquires: list[pb.BatchedAcquire] = []
        self._releases: list[pb.BatchedRelease] = []
        self._wake = asyncio.Event()
        self._call: grpc.aio.StreamStreamCall | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # (deadline, item id) in the order items came, so the earliest is first: one timer
        # for the stream instead of one per call
        self._deadlines: collections.deque[tuple[float, int]] = collections.deque()
        self._sweep_timer: asyncio.TimerHandle | None = None

    async def acquire(self, request: pb.AcquireRequest) -> leases.Lease:
        if tracing.enabled():
            context: dict[str, str] = {}
            with grpc_tracing.item_span("Acquire", address=self._address, carrier=context):
                return await self._acquire(request, context)
        return await self._acquire(request, None)

    async def _acquire(
        self, request: pb.AcquireRequest, context: dict[str, str] | None
    ) -> leases.Lease:
        item_id = next(self._ids)
        future = self._enqueue(item_id)
        self._acquires.append(pb.BatchedAcquire(id=item_id, request=request,
                                                trace_context=context))
        answer = await future
        assert answer is not None
        return grpc_codec.lease_from_pb(answer.lease)

    async def release(self, request: pb.ReleaseRequest) -> None:
        if tracing.enabled():
            context: dict[str, str] = {}
            with grpc_tracing.item_span("Release", address=self._address, carrier=context):
                await self._release(request, context)
            return
        await self._release(request, None)

    async def _release(self, request: pb.ReleaseRequest, context: dict[str, str] | None) -> None:
        item_id = next(self._ids)
        future = self._enqueue(item_id)
        self._releases.append(pb.BatchedRelease(id=item_id, request=request,
                                                trace_context=context))
        await future

    async def aclose(self) -> None:
        self._broken(self._call, errors.PoolUnavailable("token pool client closed"))
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
        self._deadlines.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _enqueue(self, item_id: int) -> asyncio.Future[pb.AcquireAnswer | None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[pb.AcquireAnswer | None] = loop.create_future()
        self._waiting[item_id] = future
        deadlines = self._deadlines
        while deadlines and deadlines[0][1] not in self._waiting:  # answered: forget them
            deadlines.popleft()
        deadlines.append((loop.time() + self._timeout, item_id))
        if self._sweep_timer is None:
            self._sweep_timer = loop.call_at(self._deadlines[0][0], self._sweep)
        if self._call is None:
            self._open()
        self._wake.set()
        return future

    def _sweep(self) -> None:
        """Fail the items past their deadline. They stay in ``_waiting``, so that a lease
        granted to one later is recognised as an orphan and given back."""
        loop = asyncio.get_running_loop()
        now, deadlines = loop.time(), self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, item_id = deadlines.popleft()
            future = self._waiting.get(item_id)
            if future is not None and not future.done():
                future.set_exception(
                    errors.PoolUnavailable("token pool call failed: DEADLINE_EXCEEDED")
                )
        self._sweep_timer = loop.call_at(deadlines[0][0], self._sweep) if deadlines else None

    def _open(self) -> None:
        call = self._stub.LeaseBatches()
        self._call = call
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.create_task(self._write_loop(call), name="pool-lease-writer"))
        self._tasks.append(asyncio.create_task(self._read_loop(call), name="pool-lease-reader"))

    async def _write_loop(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            while self._call is call:
                await self._wake.wait()
                self._wake.clear()
                while self._call is call and (self._acquires or self._releases):
                    await call.write(self._next_message())
        except Exception as exc:  # any failure to write ends this stream, never a silent hang
            # Cancelling makes the reader fail the items in flight; the next call reconnects.
            log.debug("lease_stream_write_failed error=%s", type(exc).__name__)
            call.cancel()

    def _next_message(self) -> pb.LeaseBatch:
        acquires = self._acquires[:MAX_ITEMS_PER_MESSAGE]
        del self._acquires[:MAX_ITEMS_PER_MESSAGE]
        releases = self._releases[:MAX_ITEMS_PER_MESSAGE]
        del self._releases[:MAX_ITEMS_PER_MESSAGE]
        # An acquire whose caller already gave up is dropped before it costs anything.
        live = [a for a in acquires if not self._given_up(a.id)]
        return pb.LeaseBatch(acquires=live, releases=releases)

    def _given_up(self, item_id: int) -> bool:
        future = self._waiting.get(item_id)
        if future is None or future.done():
            self._waiting.pop(item_id, None)
            return True
        return False

    async def _read_loop(self, call: grpc.aio.StreamStreamCall) -> None:
        failure: errors.PoolError = errors.PoolUnavailable("token pool stream ended")
        try:
            async for reply in call:
                for acquired in reply.acquired:
                    self._answer_acquire(acquired)
                for released in reply.released:
                    self._answer_release(released)
        except grpc.RpcError as exc:
            failure = grpc_errors.from_rpc_error(exc)
            failure.__cause__ = exc
        finally:
            self._broken(call, failure)

    def _answer_acquire(self, answer: pb.AcquireAnswer) -> None:
        future = self._waiting.pop(answer.id, None)
        granted = answer.HasField("lease")
        if future is None or future.done():
            if granted:  # its caller timed out or was cancelled: give the lease back
                self._release_orphan(answer.lease)
            return
        if granted:
            future.set_result(answer)
        else:
            future.set_exception(grpc_errors.from_item_error(answer.error))

    def _answer_release(self, answer: pb.ReleaseAnswer) -> None:
        future = self._waiting.pop(answer.id, None)
        if future is None or future.done():
            return
        if answer.HasField("error"):
            future.set_exception(grpc_errors.from_item_error(answer.error))
        else:
            future.set_result(None)

    def _release_orphan(self, lease: pb.Lease) -> None:
        lease.credential = ""
        request = pb.ReleaseRequest(lease=lease, outcome=pb.OUTCOME_CANCELLED)
        item_id = next(self._ids)
        future = self._enqueue(item_id)
        future.add_done_callback(_consume)  # nobody awaits it; a failure only expires the lease
        self._releases.append(pb.BatchedRelease(id=item_id, request=request))

    def _broken(self, call: grpc.aio.StreamStreamCall | None, failure: errors.PoolError) -> None:
        """Fail every item of ``call``; the next item opens a new stream."""
        live = self._call
        if live is None or id(live) != id(call):
            return
        live.cancel()
        self._call = None
        self._wake.set()  # lets the writer see the stream is gone
        waiting, self._waiting = self._waiting, {}
        self._acquires.clear()
        self._releases.clear()
        for future in waiting.values():
            if not future.done():
                future.set_exception(failure)


def _consume(future: asyncio.Future[pb.AcquireAnswer | None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, errors.PoolError):
        future.result()
