"""A pinned acquire (``account_id``): that account or nothing, on both backends (memory,
redis) and every transport (in-process, gRPC unary, gRPC LeaseBatches)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from grok2api_poolclient import client, errors
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from pool_harness import Pool
from token_pool import grpc_server


def _cred(n: int) -> str:
    return f"pinned-credential-{n:04d}-" + "p" * 24


@pytest.fixture(params=["in_process", "unary", "batched"])
async def caller(pool: Pool, request: pytest.FixtureRequest) -> AsyncIterator[client.PoolClient]:
    svc = await pool.replica(max_inflight_per_account=1)
    if request.param == "in_process":
        yield svc
        return
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    address = f"127.0.0.1:{serving.port}"
    async with GrpcPoolClient(address, batched=request.param == "batched") as grpc_client:
        yield grpc_client
    await serving.stop(grace=0.5)


async def _two(caller: client.PoolClient) -> tuple[str, str]:
    low = await caller.upsert_account(credential=_cred(1), tier=Tier.BASIC)
    high = await caller.upsert_account(credential=_cred(2), tier=Tier.BASIC)
    # make the second the one an unpinned acquire would pick (most remaining)
    lease = await caller.acquire(model="grok-4", account_id=low.account_id)
    figures = [QuotaFigures(mode="auto", remaining=5, total=80, window_seconds=7200)]
    await caller.release(lease, outcome=Outcome.SUCCESS, quota=figures)
    return low.account_id, high.account_id


async def test_leases_the_pinned_account_over_a_better_one(caller: client.PoolClient) -> None:
    low, high = await _two(caller)
    assert (await caller.acquire(model="grok-4")).account_id == high
    pinned = await caller.acquire(model="grok-4", account_id=low)
    assert pinned.account_id == low and pinned.credential == _cred(1)


async def test_a_busy_pinned_account_is_all_busy_not_another(caller: client.PoolClient) -> None:
    low, _ = await _two(caller)
    await caller.acquire(model="grok-4", account_id=low)  # its one slot (cap 1)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_id=low)
    assert caught.value.reason is errors.ExhaustedReason.ALL_BUSY


async def test_a_cooling_pinned_account_says_when_it_comes_back(
    caller: client.PoolClient, pool: Pool
) -> None:
    low, _ = await _two(caller)
    lease = await caller.acquire(model="grok-4", account_id=low)
    await caller.release(lease, outcome=Outcome.RATE_LIMITED, retry_after=60)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_id=low)
    assert caught.value.reason is errors.ExhaustedReason.ALL_COOLING
    assert caught.value.retry_at == pytest.approx(pool.clock.now + 60)
    pool.clock.advance(61)
    assert (await caller.acquire(model="grok-4", account_id=low)).account_id == low


async def test_a_pinned_account_without_quota_is_no_quota(caller: client.PoolClient) -> None:
    low, _ = await _two(caller)
    lease = await caller.acquire(model="grok-4", account_id=low)
    figures = [QuotaFigures(mode="auto", remaining=0, total=80, window_seconds=600)]
    await caller.release(lease, outcome=Outcome.SUCCESS, quota=figures)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_id=low)
    assert caught.value.reason is errors.ExhaustedReason.NO_QUOTA


async def test_a_disabled_pinned_account_is_no_account_of_tier(caller: client.PoolClient) -> None:
    low, _ = await _two(caller)
    await caller.upsert_account(account_id=low, enabled=False)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_id=low)
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_OF_TIER


async def test_a_pinned_account_below_the_models_tier_is_never_leased(
    caller: client.PoolClient,
) -> None:
    low, _ = await _two(caller)
    await caller.upsert_account(credential=_cred(3), tier=Tier.SUPER)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4-heavy", account_id=low)
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_OF_TIER


async def test_an_unknown_pinned_account_is_not_found(caller: client.PoolClient) -> None:
    await _two(caller)
    with pytest.raises(errors.AccountNotFound):
        await caller.acquire(model="grok-4", account_id="no-such-account")


async def test_an_excluded_pinned_account_is_not_leased(caller: client.PoolClient) -> None:
    low, _ = await _two(caller)
    with pytest.raises(errors.PoolExhausted):
        await caller.acquire(model="grok-4", account_id=low, exclude=[low])


async def test_a_pinned_account_is_found_in_a_tier_larger_than_the_sample(
    caller: client.PoolClient,
) -> None:
    added = [await caller.upsert_account(credential=_cred(n)) for n in range(40)]
    wanted = added[17].account_id
    for _ in range(3):  # its cap is 1: release to lease it again
        lease = await caller.acquire(model="grok-4", account_id=wanted)
        assert lease.account_id == wanted
        await caller.release(lease, outcome=Outcome.SUCCESS)
