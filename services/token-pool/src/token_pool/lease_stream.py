"""The server side of ``LeaseBatches``: one caller's stream of batched acquires and releases.

Each incoming batch is served by ``PoolService.lease_batch`` in its own task (batches from
every stream and unary call merge again in the hot state's coalescer), and one writer sends
the answers, merging those that are ready together into one reply. When the stream ends
or breaks, leases granted but not delivered are released (``cancelled``) rather than left
to expire. ``drain`` ends a stream cleanly without reading further (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_poolclient import errors, grpc_codec, grpc_errors
from grok2api_poolclient.leases import Lease, Outcome
from grok2api_telemetry import tracing

from . import grpc_tracing
from .leasing import AcquireOrder, ReleaseOrder

log = logging.getLogger(__name__)


@runtime_checkable
class BatchPool(Protocol):
    async def lease_batch(
        self, *, acquires: list[AcquireOrder], releases: list[ReleaseOrder]
    ) -> tuple[list[Lease | errors.PoolError], list[errors.PoolError | None]]: ...


@dataclasses.dataclass
class _Ready:
    acquired: list[pb.AcquireAnswer]
    released: list[pb.ReleaseAnswer]
    granted: list[Lease]  # released again if the answer cannot be delivered


class LeaseSession:
    def __init__(self, pool: BatchPool, context: Any) -> None:
        self._pool = pool
        self._context = context
        self._ready: list[_Ready] = []
        self._wake = asyncio.Event()
        self._serving: set[asyncio.Task[None]] = set()
        self._open = True
        self._finishing = False
        self._reading: asyncio.Task[None] | None = None

    async def run(self, requests: AsyncIterator[pb.LeaseBatch]) -> None:
        writer = asyncio.create_task(self._write_loop())
        reading = self._reading = asyncio.create_task(self._read_all(requests))
        try:
            await asyncio.wait({reading})
            if not reading.cancelled():  # cancelled is ``drain``: end as if the caller had
                reading.result()
            while self._serving:  # the caller finished writing: answer what it sent
                await asyncio.gather(*self._serving)
            self._finishing = True
            self._wake.set()
            await writer
        finally:
            self._open = False
            reading.cancel()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._give_back_undelivered()

    def drain(self) -> None:
        """Stop reading: what was read is answered and the stream ends cleanly, so the
        caller sends what this replica never read to another one (a replica shutting down)."""
        if self._reading is not None:
            self._reading.cancel()

    async def _read_all(self, requests: AsyncIterator[pb.LeaseBatch]) -> None:
        async for batch in requests:
            task = asyncio.create_task(self._serve(batch))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _serve(self, batch: pb.LeaseBatch) -> None:
        if not tracing.enabled():
            await self._serve_batch(batch)
            return
        spans = grpc_tracing.ItemSpans(batch)
        try:
            ready = await self._serve_batch(batch)
            spans.answered(ready.acquired, ready.released)
        finally:
            spans.close()

    async def _serve_batch(self, batch: pb.LeaseBatch) -> _Ready:
        acquires = [_acquire_order(item.request) for item in batch.acquires]
        releases: list[ReleaseOrder] = []
        refused: list[pb.ReleaseAnswer] = []
        release_ids: list[int] = []
        for item in batch.releases:
            order = _release_order(item.request)
            if isinstance(order, errors.PoolError):
                refused.append(pb.ReleaseAnswer(id=item.id, error=grpc_errors.to_item_error(order)))
            else:
                releases.append(order)
                release_ids.append(item.id)
        work = asyncio.ensure_future(self._pool.lease_batch(acquires=acquires, releases=releases))
        try:
            # Shielded: grpc cancels this task when the stream dies, and whatever the pool
            # grants after that must still be handed back.
            leases, released = await asyncio.shield(work)
        except asyncio.CancelledError:
            work.add_done_callback(self._give_back_granted)
            raise
        except Exception as exc:  # every item must get an answer, never a silent wait
            if not isinstance(exc, errors.PoolError):
                log.exception("lease_batch_failed")
                exc = errors.PoolUnavailable(f"token pool failed: {type(exc).__name__}")
            leases = [exc] * len(acquires)
            released = [exc] * len(releases)
        ready = _Ready(acquired=[], released=refused, granted=[])
        for item, answer in zip(batch.acquires, leases, strict=True):
            if isinstance(answer, errors.PoolError):
                error = grpc_errors.to_item_error(answer)
                ready.acquired.append(pb.AcquireAnswer(id=item.id, error=error))
            else:
                ready.granted.append(answer)
                ready.acquired.append(
                    pb.AcquireAnswer(id=item.id, lease=grpc_codec.lease_to_pb(answer))
                )
        for item_id, failure in zip(release_ids, released, strict=True):
            answer = pb.ReleaseAnswer(id=item_id)
            if failure is not None:
                answer.error.CopyFrom(grpc_errors.to_item_error(failure))
            ready.released.append(answer)
        self._ready.append(ready)
        self._wake.set()
        if not self._open:
            self._give_back_undelivered()
        return ready

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ready:
                ready, self._ready = self._ready, []
                reply = pb.LeaseBatchReply(
                    acquired=[a for r in ready for a in r.acquired],
                    released=[a for r in ready for a in r.released],
                )
                try:
                    await self._context.write(reply)
                except BaseException:
                    self._ready[:0] = ready  # undelivered: their leases go back
                    raise
            if self._finishing:
                return

    def _give_back_undelivered(self) -> None:
        granted = [lease for ready in self._ready for lease in ready.granted]
        self._ready.clear()
        self._hand_back(granted)

    def _give_back_granted(
        self, work: asyncio.Future[tuple[list[Lease | errors.PoolError], Any]]
    ) -> None:
        if not work.cancelled() and work.exception() is None:
            self._hand_back([lease for lease in work.result()[0] if isinstance(lease, Lease)])

    def _hand_back(self, granted: list[Lease]) -> None:
        if not granted:
            return
        log.info("lease_stream_closed undelivered_leases=%d", len(granted))
        task = asyncio.create_task(self._give_back(granted))
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _give_back(self, granted: list[Lease]) -> None:
        orders = [ReleaseOrder(lease=lease, outcome=Outcome.CANCELLED) for lease in granted]
        try:
            await self._pool.lease_batch(acquires=[], releases=orders)
        except errors.PoolError:
            log.warning("lease_give_back_failed leases=%d (they expire)", len(granted))


def _acquire_order(request: pb.AcquireRequest) -> AcquireOrder:
    return AcquireOrder(
        model=request.model, cost=request.cost or None,
        exclude=tuple(request.exclude_account_ids), prefer_tier=request.prefer_tier,
        account_id=request.account_id, account_tags=tuple(request.account_tags),
        lease_id=request.lease_id,
    )  # fmt: skip


def _release_order(request: pb.ReleaseRequest) -> ReleaseOrder | errors.PoolError:
    outcome = grpc_codec.outcome_from_pb(request.outcome)
    if outcome is None:
        return errors.InvalidRequest("an outcome is required")
    return ReleaseOrder(
        lease=grpc_codec.lease_from_pb(request.lease),
        outcome=outcome,
        retry_after=request.retry_after if request.HasField("retry_after") else None,
        quota=tuple(grpc_codec.figures_from_pb(f) for f in request.quota),
    )
