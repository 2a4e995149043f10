"""Lease streams across pool replicas: spread by round robin, moved by rotation, and
carried over when a replica stops (rolling updates lose no acquire or release)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome
from pool_harness import Pool
from token_pool import grpc_server, leasing, service


def _cred(n: int) -> str:
    return f"replica-credential-{n:04d}-" + "r" * 24


class CountingPool:
    """Serves through a real replica and counts the items it answered; ``hold`` makes
    batches with acquires wait at a gate (a stopping replica's work in progress)."""

    def __init__(self, svc: service.PoolService) -> None:
        self.svc = svc
        self.items: Counter[str] = Counter()
        self.hold = False
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def lease_batch(
        self,
        *,
        acquires: Sequence[leasing.AcquireOrder] = (),
        releases: Sequence[leasing.ReleaseOrder] = (),
    ) -> Any:
        self.items["acquire"] += len(acquires)
        self.items["release"] += len(releases)
        answers = await self.svc.lease_batch(acquires=acquires, releases=releases)
        if acquires and self.hold:
            self.entered.set()
            await self.gate.wait()
        return answers


@pytest.fixture
async def replicas(pool: Pool) -> AsyncIterator[Callable[..., Any]]:
    started: list[grpc_server.ServingPool] = []

    async def start(count: int) -> tuple[list[CountingPool], list[grpc_server.ServingPool]]:
        counted = [CountingPool(await pool.replica()) for _ in range(count)]
        serving = [
            await grpc_server.create_server(cast(Any, c), address="127.0.0.1:0") for c in counted
        ]
        started.extend(serving)
        return counted, serving

    yield start
    for serving in started:
        await serving.stop(grace=0.2)


def _target(serving: list[grpc_server.ServingPool]) -> str:
    """One name for every replica, as a headless Service's DNS name is."""
    return "ipv4:" + ",".join(f"127.0.0.1:{s.port}" for s in serving)


async def _draining(serving: grpc_server.ServingPool) -> None:
    """Until the replica has stopped reading its lease streams."""
    for _ in range(500):
        if serving.servicer._draining:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the replica never started draining")


async def test_rotated_streams_spread_over_every_replica_and_lose_nothing(
    replicas: Callable[..., Any],
) -> None:
    counted, serving = await replicas(2)
    account = await counted[0].svc.upsert_account(credential=_cred(1))
    async with GrpcPoolClient(_target(serving), rotate_seconds=0) as client:
        for _ in range(40):
            lease = await client.acquire(model="grok-4")
            await client.release(lease, outcome=Outcome.SUCCESS)
    # Each replica answered part of the work, and nothing was answered twice.
    assert all(c.items.total() > 0 for c in counted), [c.items for c in counted]
    assert sum(c.items["acquire"] for c in counted) == 40
    assert sum(c.items["release"] for c in counted) == 40
    assert (await counted[0].svc.get_account(account.account_id)).inflight == 0


async def test_a_stopping_replica_answers_what_it_read_and_the_rest_moves_on(
    replicas: Callable[..., Any],
) -> None:
    counted, serving = await replicas(2)
    stopping, staying = counted
    await stopping.svc.upsert_account(credential=_cred(1))
    await stopping.svc.upsert_account(credential=_cred(2))
    stopping.hold = True
    # Only the replica that will stop is named at first, so the stream surely lands there.
    async with GrpcPoolClient(_target(serving[:1])) as client:
        read_first = asyncio.create_task(client.acquire(model="grok-4"))
        await stopping.entered.wait()
        stop = asyncio.create_task(serving[0].stop(grace=10))
        await _draining(serving[0])
        # Sent on the draining stream after the replica stopped reading it.
        sent_late = asyncio.create_task(client.acquire(model="grok-4"))
        await asyncio.sleep(0.1)
        stopping.gate.set()
        first = await read_first  # read before the stop: answered by the stopping replica
        with pytest.raises(errors.PoolUnavailable):
            await sent_late  # nowhere else to go: that replica was the only one named
        await stop
    assert stopping.items["acquire"] == 1
    await stopping.svc.release(first, outcome=Outcome.SUCCESS)
    assert staying.items["acquire"] == 0


async def test_rolling_a_replica_fails_no_call_while_another_serves(
    replicas: Callable[..., Any],
) -> None:
    counted, serving = await replicas(2)
    for n in range(4):
        await counted[0].svc.upsert_account(credential=_cred(n))
    for c in counted:
        c.hold = True
    async with GrpcPoolClient(_target(serving)) as client:
        first = asyncio.create_task(client.acquire(model="grok-4"))
        entered = {asyncio.create_task(c.entered.wait()): i for i, c in enumerate(counted)}
        done, pending = await asyncio.wait(entered, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        # The replica the stream landed on is the one rolled.
        index = entered[done.pop()]
        stopping, staying = counted[index], counted[1 - index]
        staying.hold = False
        stop = asyncio.create_task(serving[index].stop(grace=10))
        await _draining(serving[index])
        late = [asyncio.create_task(client.acquire(model="grok-4")) for _ in range(2)]
        await asyncio.sleep(0.1)
        stopping.gate.set()
        leases = [await first, *[await t for t in late]]  # none fails
        await stop
        for lease in leases:
            await client.release(lease, outcome=Outcome.SUCCESS)
    assert stopping.items["acquire"] == 1
    assert staying.items["acquire"] == 2
    assert staying.items["release"] == 3
