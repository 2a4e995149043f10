"""Acquire and release over ``LeaseBatches`` streams, coalescing concurrent callers.

Every call becomes an item with an id, queued for the open stream's writer. The writer sends
at once when it is idle and otherwise gathers whatever is queued meanwhile into its next
message, so there is no timer and no added latency at low load, and under load one message
(and one Redis round trip on the pool's side) carries many items. A reader matches answers
to waiting callers by id.

Streams are replaced every ``rotate_seconds``: the new one is opened (the channel's round
robin puts it on the next pool replica, so load follows replicas as they come and go) and
the old one is half-closed, the pool answers what it was sent, and it ends. A stream the
pool ends cleanly (a replica shutting down) loses nothing either: the items it never read
are sent again on a new stream.

Failures, as the unary calls have them: an item's ``ItemError`` becomes the same pool error
(``grpc_errors.from_item_error``); a caller that times out or is cancelled gets no lease, and
a lease granted to it anyway is released (``cancelled``). A stream that breaks (its replica
killed) sends its unanswered items again on a new stream, which the round robin puts on
another replica, up to ``RESENDS`` times each; then they fail with ``PoolUnavailable``. A
resent release is harmless (a second release changes nothing), and so is a resent acquire:
it carries the lease id its first copy proposed, and the pool answers an id it already
granted with that lease.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
from collections.abc import Coroutine
from typing import Any, TypeAlias

import grok2api.tokenpool.v1.token_pool_pb2_grpc as pb_grpc
import grpc
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_telemetry import tracing

from . import errors, grpc_codec, grpc_errors, grpc_tracing, leases

log = logging.getLogger(__name__)

# Items per message: keeps messages small and lets the pool start on a batch early.
MAX_ITEMS_PER_MESSAGE = 256
# A stream's life before new items go to a new one (and so, by round robin, to the next pool
# replica): short enough that a scaled-up pool gets its share within a minute.
ROTATE_SECONDS = 30.0
# An item of a broken stream is sent again after each of these pauses (seconds): the round
# robin may pick the dead replica once more before its connection is known to be gone.
RESEND_DELAYS = (0.05, 0.3)
RESENDS = len(RESEND_DELAYS)


Item: TypeAlias = pb.BatchedAcquire | pb.BatchedRelease


class _Stream:
    """One ``LeaseBatches`` call and the items sent on it that await an answer."""

    def __init__(self, call: grpc.aio.StreamStreamCall, *, opened_at: float) -> None:
        self.call = call
        self.opened_at = opened_at
        self.sent: dict[int, Item] = {}
        self.wake = asyncio.Event()


class LeaseStream:
    def __init__(
        self,
        stub: pb_grpc.TokenPoolStub,
        *,
        timeout: float,
        address: str = "",
        rotate_seconds: float = ROTATE_SECONDS,
    ) -> None:
        self._stub = stub
        self._timeout = timeout
        self._address = address  # for the items' client spans
        self._rotate_seconds = rotate_seconds
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[pb.AcquireAnswer | None]] = {}
        self._acquires: list[pb.BatchedAcquire] = []
        self._releases: list[pb.BatchedRelease] = []
        self._stream: _Stream | None = None  # the one new items go to
        self._tasks: set[asyncio.Task[None]] = set()
        # (deadline, item id) in the order items came, so the earliest is first: one timer
        # for the stream instead of one per call
        self._deadlines: collections.deque[tuple[float, int]] = collections.deque()
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._resent: collections.Counter[int] = collections.Counter()  # item id -> resends
        self._closing = False

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
        self._closing = True
        closed = errors.PoolUnavailable("token pool client closed")
        if self._stream is not None:
            self._stream.call.cancel()
        self._stream = None
        self._fail(list(self._waiting), closed)
        self._acquires.clear()
        self._releases.clear()
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
        stream = self._stream
        if stream is None or loop.time() - stream.opened_at >= self._rotate_seconds:
            stream = self._open()
        stream.wake.set()
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

    def _open(self) -> _Stream:
        """A new stream for new items; the one it replaces drains (its writer half-closes)."""
        previous = self._stream
        stream = _Stream(self._stub.LeaseBatches(), opened_at=asyncio.get_running_loop().time())
        self._stream = stream
        if previous is not None:
            previous.wake.set()
        self._spawn(self._write_loop(stream), "pool-lease-writer")
        self._spawn(self._read_loop(stream), "pool-lease-reader")
        return stream

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_loop(self, stream: _Stream) -> None:
        call = stream.call
        try:
            while self._stream is stream:
                await stream.wake.wait()
                stream.wake.clear()
                while self._stream is stream and (self._acquires or self._releases):
                    await call.write(self._next_message(stream))
            await call.done_writing()  # replaced: the pool answers what it has, then ends
        except Exception as exc:  # any failure to write ends this stream, never a silent hang
            log.debug("lease_stream_write_failed error=%s", type(exc).__name__)
            # A stream the pool already ended is left to the reader, which sends its items
            # again; any other is cancelled, so its items fail and the next call reconnects.
            if not call.done():
                call.cancel()

    def _next_message(self, stream: _Stream) -> pb.LeaseBatch:
        acquires = self._acquires[:MAX_ITEMS_PER_MESSAGE]
        del self._acquires[:MAX_ITEMS_PER_MESSAGE]
        releases = self._releases[:MAX_ITEMS_PER_MESSAGE]
        del self._releases[:MAX_ITEMS_PER_MESSAGE]
        # An acquire whose caller already gave up is dropped before it costs anything.
        live = [a for a in acquires if not self._given_up(a.id)]
        stream.sent.update((item.id, item) for item in live)
        stream.sent.update((item.id, item) for item in releases)
        return pb.LeaseBatch(acquires=live, releases=releases)

    def _given_up(self, item_id: int) -> bool:
        future = self._waiting.get(item_id)
        if future is None or future.done():
            self._waiting.pop(item_id, None)
            self._resent.pop(item_id, None)
            return True
        return False

    async def _read_loop(self, stream: _Stream) -> None:
        failure: errors.PoolError | None = None
        try:
            async for reply in stream.call:
                for acquired in reply.acquired:
                    stream.sent.pop(acquired.id, None)
                    self._answer_acquire(acquired)
                for released in reply.released:
                    stream.sent.pop(released.id, None)
                    self._answer_release(released)
        except grpc.RpcError as exc:
            failure = grpc_errors.from_rpc_error(exc)
            failure.__cause__ = exc
        except asyncio.CancelledError:
            failure = errors.PoolUnavailable("token pool client closed")
            raise
        finally:
            self._ended(stream, failure)

    def _ended(self, stream: _Stream, failure: errors.PoolError | None) -> None:
        """A stream is over. Ended cleanly, the pool never read its unanswered items, so they
        go out again on a new stream. Broken, they (and, if it was the open stream, what
        waited to be sent) go out again while they have resends left, else fail."""
        unanswered = list(stream.sent.values())
        stream.sent.clear()
        was_open = self._stream is stream
        if was_open:
            self._stream = None
        stream.wake.set()  # lets its writer see it is over
        if failure is not None:
            queued: list[Item] = [*self._acquires, *self._releases] if was_open else []
            if was_open:
                self._acquires.clear()
                self._releases.clear()
            resend = self._worth_resending([*unanswered, *queued], failure)
            sent_again = {item.id for item in resend}
            self._fail([i.id for i in [*unanswered, *queued] if i.id not in sent_again], failure)
            if resend:  # a moment later: by then the channel knows the replica is gone
                delay = RESEND_DELAYS[max(self._resent[i.id] for i in resend) - 1]
                asyncio.get_running_loop().call_later(delay, self._send_again, resend)
            return
        self._send_again([item for item in unanswered if not self._given_up(item.id)])

    def _send_again(self, resend: list[Item]) -> None:
        resend = [item for item in resend if not self._given_up(item.id)]
        self._acquires[:0] = [i for i in resend if isinstance(i, pb.BatchedAcquire)]
        self._releases[:0] = [i for i in resend if isinstance(i, pb.BatchedRelease)]
        if (self._acquires or self._releases) and not self._closing:
            (self._stream or self._open()).wake.set()

    def _worth_resending(self, items: list[Item], failure: errors.PoolError) -> list[Item]:
        """The items of a broken stream to send again: the pool was unreachable (not this
        client closing), the caller still waits, and the item has resends left."""
        if self._closing or not isinstance(failure, errors.PoolUnavailable):
            return []
        again = [i for i in items if self._resent[i.id] < RESENDS and not self._given_up(i.id)]
        self._resent.update(item.id for item in again)
        return again

    def _fail(self, item_ids: list[int], failure: errors.PoolError) -> None:
        for item_id in item_ids:
            self._resent.pop(item_id, None)
            future = self._waiting.pop(item_id, None)
            if future is not None and not future.done():
                future.set_exception(failure)

    def _answer_acquire(self, answer: pb.AcquireAnswer) -> None:
        self._resent.pop(answer.id, None)
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
        self._resent.pop(answer.id, None)
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


def _consume(future: asyncio.Future[pb.AcquireAnswer | None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, errors.PoolError):
        future.result()
