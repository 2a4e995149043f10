"""The batched ``LeaseBatches`` path: ``GrpcPoolClient``'s default acquire and release."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

import pytest
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_poolclient import errors
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome, QuotaFigures
from pool_harness import Pool, make_settings
from token_pool import grpc_server, leasing, service


def _cred(n: int) -> str:
    return f"batched-credential-{n:04d}-" + "z" * 24


class GatedPool:
    """A pool whose answers to batches with acquires wait at a gate the test opens: the
    leases are granted at once, their delivery waits (stream timing under control)."""

    def __init__(self, svc: service.PoolService) -> None:
        self.svc = svc
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def lease_batch(
        self,
        *,
        acquires: Sequence[leasing.AcquireOrder] = (),
        releases: Sequence[leasing.ReleaseOrder] = (),
    ) -> Any:
        answers = await self.svc.lease_batch(acquires=acquires, releases=releases)
        if acquires:
            self.entered.set()
            await self.gate.wait()
        return answers


@pytest.fixture
async def serve(pool: Pool) -> AsyncIterator[Callable[..., Any]]:
    """Start a gRPC server for a pool (a service or a stand-in); all stop at the end."""
    started: list[grpc_server.ServingPool] = []

    async def start(target: Any, *, address: str = "127.0.0.1:0") -> grpc_server.ServingPool:
        serving = await grpc_server.create_server(cast(Any, target), address=address)
        started.append(serving)
        return serving

    yield start
    for serving in started:
        await serving.stop(grace=0.2)


async def _settled_inflight(svc: service.PoolService, account_id: str) -> int:
    """The account's in-flight count once pending stream work had a chance to land."""
    for _ in range(200):
        view = await svc.get_account(account_id)
        if view.inflight == 0:
            return 0
        await asyncio.sleep(0.02)
    return (await svc.get_account(account_id)).inflight


async def test_replicas_over_batches_never_over_commit_quota_or_exceed_the_cap(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    replicas = [await pool.replica(max_inflight_per_account=3) for _ in range(2)]
    accounts = [await replicas[0].upsert_account(credential=_cred(n)) for n in range(5)]
    figures = [QuotaFigures(mode="auto", remaining=20, total=20, window_seconds=7200)]
    for acct in accounts:
        others = [a.account_id for a in accounts if a is not acct]
        lease = await replicas[0].acquire(model="grok-4", exclude=others)
        await replicas[0].release(lease, outcome=Outcome.SUCCESS, quota=figures)
    servers = [await serve(r) for r in replicas]
    clients = [GrpcPoolClient(f"127.0.0.1:{s.port}") for s in servers]

    async def attempt(i: int) -> str | None:
        try:
            return (await clients[i % 2].acquire(model="grok-4")).account_id
        except errors.PoolExhausted:
            return None

    try:
        held = [a for a in await asyncio.gather(*(attempt(i) for i in range(200))) if a]
        assert len(held) == 5 * 3
        assert all(held.count(a.account_id) == 3 for a in accounts)
        pool.settings = make_settings(max_inflight_per_account=1000)
        more = [a for a in await asyncio.gather(*(attempt(i) for i in range(300))) if a]
        assert len(held) + len(more) == 5 * 20
    finally:
        for client in clients:
            await client.aclose()
    page = await replicas[1].list_accounts()
    assert all(a.quota[0].remaining == 0 for a in page.accounts)
    assert sum(a.inflight for a in page.accounts) == 100


async def test_each_item_of_a_batch_gets_its_own_answer(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    svc = await pool.replica(max_inflight_per_account=1)
    acct = await svc.upsert_account(credential=_cred(1))
    serving = await serve(svc)
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as client:
        # Started together, so they travel in one message and one hot-state batch.
        answers = await asyncio.gather(
            client.acquire(model="grok-4"),
            client.acquire(model="no-such-model"),
            client.acquire(model="grok-4"),
            return_exceptions=True,
        )
        leases = [a for a in answers if not isinstance(a, BaseException)]
        assert [lease.account_id for lease in leases] == [acct.account_id]
        assert isinstance(answers[1], errors.InvalidRequest)
        [busy] = [a for a in answers if isinstance(a, errors.PoolExhausted)]
        assert busy.reason is errors.ExhaustedReason.ALL_BUSY
        await client.release(leases[0], outcome=Outcome.RATE_LIMITED, retry_after=60)
        with pytest.raises(errors.PoolExhausted) as cooling:
            await client.acquire(model="grok-4")
    assert cooling.value.reason is errors.ExhaustedReason.ALL_COOLING
    assert cooling.value.retry_at == pytest.approx(pool.clock.now + 60)
    assert (await svc.get_account(acct.account_id)).inflight == 0


async def test_a_release_without_an_outcome_is_refused_alone(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1))
    serving = await serve(svc)
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as client:
        lease = await client.acquire(model="grok-4")
        stream = client._leasing
        assert stream is not None
        bad = pb.ReleaseRequest(lease=pb.Lease(lease_id=lease.lease_id))  # outcome unspecified
        with pytest.raises(errors.InvalidRequest):
            await stream.release(bad)
        await client.release(lease, outcome=Outcome.SUCCESS)
    assert (await svc.get_account(lease.account_id)).inflight == 0


async def test_a_broken_stream_fails_items_in_flight_and_the_next_call_reconnects(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    svc = await pool.replica()
    acct = await svc.upsert_account(credential=_cred(1))
    gated = GatedPool(svc)
    first = await serve(gated)
    async with GrpcPoolClient(f"127.0.0.1:{first.port}") as client:
        waiting = asyncio.create_task(client.acquire(model="grok-4"))
        await gated.entered.wait()
        await first.server.stop(grace=None)  # the stream breaks with the acquire in flight
        with pytest.raises(errors.PoolUnavailable):
            await waiting
        gated.gate.set()  # the server-side batch completes after its stream is gone
        assert await _settled_inflight(svc, acct.account_id) == 0  # ... and gives back
        await serve(svc, address=f"127.0.0.1:{first.port}")
        lease = await client.acquire(model="grok-4")
        await client.release(lease, outcome=Outcome.SUCCESS)
    assert lease.account_id == acct.account_id


async def test_an_acquire_on_a_replica_that_dies_is_sent_again_to_another(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    one, two = await pool.replica(), await pool.replica()
    await one.upsert_account(credential=_cred(1))
    gated = [GatedPool(one), GatedPool(two)]
    servers = [await serve(g) for g in gated]
    target = "ipv4:" + ",".join(f"127.0.0.1:{s.port}" for s in servers)
    async with GrpcPoolClient(target) as client:
        waiting = asyncio.create_task(client.acquire(model="grok-4"))
        entered = asyncio.create_task(gated[0].entered.wait())
        await asyncio.wait([entered, asyncio.create_task(gated[1].entered.wait())],
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        dying = 0 if entered.done() else 1
        gated[1 - dying].gate.set()
        await servers[dying].server.stop(grace=None)  # killed with the acquire in flight
        lease = await waiting  # answered by the other replica
        await client.release(lease, outcome=Outcome.SUCCESS)
        gated[dying].gate.set()


async def test_a_lease_granted_after_its_caller_gave_up_is_released(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    svc = await pool.replica(max_inflight_per_account=1)
    acct = await svc.upsert_account(credential=_cred(1))
    gated = GatedPool(svc)
    serving = await serve(gated)
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as client:
        caller = asyncio.create_task(client.acquire(model="grok-4"))
        await gated.entered.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        gated.gate.set()  # the pool grants the lease nobody waits for any more
        assert await _settled_inflight(svc, acct.account_id) == 0
        lease = await client.acquire(model="grok-4")  # the cap of 1 is free again
        await client.release(lease, outcome=Outcome.SUCCESS)


async def test_a_caller_that_times_out_gets_pool_unavailable_and_no_lease(
    pool: Pool, serve: Callable[..., Any]
) -> None:
    svc = await pool.replica()
    acct = await svc.upsert_account(credential=_cred(1))
    gated = GatedPool(svc)
    serving = await serve(gated)
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}", timeout=0.2) as client:
        with pytest.raises(errors.PoolUnavailable):
            await client.acquire(model="grok-4")
        gated.gate.set()
        assert await _settled_inflight(svc, acct.account_id) == 0
