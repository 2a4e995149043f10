"""Acquires restricted to account tags (``account_tags``): only accounts carrying one of them
are ever leased, on both backends (memory, redis) and every transport (in-process, gRPC
unary, gRPC LeaseBatches)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from grok2api_poolclient import client, errors, explain, leasing
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Lease, Outcome, QuotaFigures, Tier
from grok2api_storage import protocols
from grok_web import errors as grok_errors
from pool_harness import Clock, Pool
from token_pool import grpc_server
from token_pool.hot import base, redis_state


def _cred(n: int) -> str:
    return f"tagged-credential-{n:04d}-" + "t" * 24


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


async def _set_remaining(caller: client.PoolClient, account_id: str, remaining: int) -> None:
    lease = await caller.acquire(model="grok-4", account_id=account_id)
    figures = [QuotaFigures(mode="auto", remaining=remaining, total=80, window_seconds=600)]
    await caller.release(lease, outcome=Outcome.SUCCESS, quota=figures)


async def _team_and_other(caller: client.PoolClient) -> tuple[str, str]:
    """A ``team-a`` account with little quota left, and an untagged one with much more
    (the one an unrestricted acquire picks)."""
    team = await caller.upsert_account(credential=_cred(1), tier=Tier.BASIC, tags=["team-a"])
    other = await caller.upsert_account(credential=_cred(2), tier=Tier.BASIC)
    await _set_remaining(caller, team.account_id, 5)
    return team.account_id, other.account_id


async def test_only_a_tagged_account_is_leased(caller: client.PoolClient) -> None:
    team, other = await _team_and_other(caller)
    assert (await caller.acquire(model="grok-4")).account_id == other
    lease = await caller.acquire(model="grok-4", account_tags=["team-a"])
    assert lease.account_id == team and lease.credential == _cred(1)


async def test_any_of_several_tags_is_enough(caller: client.PoolClient) -> None:
    team, _ = await _team_and_other(caller)
    lease = await caller.acquire(model="grok-4", account_tags=["team-b", " team-a "])
    assert lease.account_id == team


async def test_a_busy_team_is_all_busy_never_another_account(caller: client.PoolClient) -> None:
    await _team_and_other(caller)
    await caller.acquire(model="grok-4", account_tags=["team-a"])  # its one slot (cap 1)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_tags=["team-a"])
    assert caught.value.reason is errors.ExhaustedReason.ALL_BUSY
    assert "no account tagged team-a is available" in str(caught.value)
    assert caught.value.account_tags == ("team-a",)


async def test_a_team_out_of_quota_is_no_quota_with_its_reset(
    caller: client.PoolClient, pool: Pool
) -> None:
    team, other = await _team_and_other(caller)
    await _set_remaining(caller, team, 0)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_tags=["team-a"])
    assert caught.value.reason is errors.ExhaustedReason.NO_QUOTA
    assert caught.value.retry_at == pytest.approx(pool.clock.now + 600)
    assert "no account tagged team-a is available" in str(caught.value)
    assert (await caller.acquire(model="grok-4")).account_id == other  # the pool has more


async def test_a_tag_no_account_carries_says_what_to_do(caller: client.PoolClient) -> None:
    await _team_and_other(caller)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_tags=["team-z"])
    assert caught.value.reason is errors.ExhaustedReason.NO_TAGGED_ACCOUNT
    assert "no account carries the tag team-z" in str(caught.value)
    assert "tag accounts" in str(caught.value)
    assert caught.value.retry_at is None
    explained = explain.pool_exhausted(caught.value)
    assert explained.status == 429 and "the tags team-z" in explained.message


async def test_a_pinned_untagged_account_is_refused(caller: client.PoolClient) -> None:
    team, other = await _team_and_other(caller)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_id=other, account_tags=["team-a"])
    assert caught.value.reason is errors.ExhaustedReason.NO_TAGGED_ACCOUNT
    assert f"account {other} carries none of the tags team-a" in str(caught.value)
    pinned = await caller.acquire(model="grok-4", account_id=team, account_tags=["team-a"])
    assert pinned.account_id == team


async def test_a_pinned_unknown_account_with_tags_is_not_found(
    caller: client.PoolClient,
) -> None:
    await _team_and_other(caller)
    with pytest.raises(errors.AccountNotFound):
        await caller.acquire(model="grok-4", account_id="no-such", account_tags=["team-a"])


async def test_tag_changes_apply_to_the_next_acquire(caller: client.PoolClient) -> None:
    team, other = await _team_and_other(caller)
    await caller.upsert_account(account_id=other, tags=["team-a", "ops"])
    lease = await caller.acquire(model="grok-4", account_tags=["team-a"])
    assert lease.account_id == other  # now tagged, and it has the most quota
    await caller.upsert_account(account_id=other, tags=[])
    await caller.upsert_account(account_id=team, tags=["team-b"])
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_tags=["team-a"])
    assert caught.value.reason is errors.ExhaustedReason.NO_TAGGED_ACCOUNT
    assert (await caller.acquire(model="grok-4", account_tags=["team-b"])).account_id == team


async def test_a_tier_change_keeps_the_tags(caller: client.PoolClient) -> None:
    team, _ = await _team_and_other(caller)
    await caller.upsert_account(account_id=team, tier=Tier.SUPER)
    assert (await caller.acquire(model="grok-4", account_tags=["team-a"])).account_id == team


async def test_a_removed_account_leaves_the_team(caller: client.PoolClient) -> None:
    team, _ = await _team_and_other(caller)
    await caller.remove_account(team)
    with pytest.raises(errors.PoolExhausted) as caught:
        await caller.acquire(model="grok-4", account_tags=["team-a"])
    assert caught.value.reason is errors.ExhaustedReason.NO_TAGGED_ACCOUNT


async def test_a_blank_tag_is_invalid_not_unrestricted(caller: client.PoolClient) -> None:
    await _team_and_other(caller)
    with pytest.raises(errors.InvalidRequest):
        await caller.acquire(model="grok-4", account_tags=["  "])


async def test_a_team_larger_than_the_sample_is_searched_whole(pool: Pool) -> None:
    svc = await pool.replica(max_inflight_per_account=1)
    size = base.SAMPLE_SIZE + 4
    team: set[str] = set()
    for n in range(size):
        account = await svc.upsert_account(credential=_cred(100 + n), tags=["big"])
        team.add(account.account_id)
    for n in range(size):  # untagged accounts, each with more quota than any tagged one
        await svc.upsert_account(credential=_cred(200 + n))
    for account_id in team:
        await _set_remaining(svc, account_id, 10)
    leased = [await svc.acquire(model="grok-4", account_tags=["big"]) for _ in range(size)]
    assert {lease.account_id for lease in leased} == team  # every slot of the team, once
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4", account_tags=["big"])
    assert caught.value.reason is errors.ExhaustedReason.ALL_BUSY


async def test_a_redis_state_built_before_the_tag_index_is_rebuilt(
    store: protocols.Store, redis_client: aioredis.Redis, redis_prefix: str, clock: Clock
) -> None:
    async def hot() -> base.HotState:
        return redis_state.RedisHotState(redis_client, prefix=redis_prefix)

    pool = Pool(store=store, hot_factory=hot, clock=clock)
    try:
        first = await pool.replica()
        team = await first.upsert_account(credential=_cred(1), tags=["team-a"])
        # what an older pool left behind: no tag index, ready marked "1"
        stale = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}:tt:*")]
        await redis_client.delete(*stale)
        await redis_client.hdel(f"{redis_prefix}:a:{team.account_id}", "tg")
        await redis_client.set(f"{redis_prefix}:ready", "1")
        second = await pool.replica()  # starting rebuilds the hot state from the store
        lease = await second.acquire(model="grok-4", account_tags=["team-a"])
        assert lease.account_id == team.account_id
        assert await redis_client.get(f"{redis_prefix}:ready") == b"2"
    finally:
        await pool.close()


async def test_leased_stream_keeps_every_retry_within_the_team(pool: Pool) -> None:
    svc = await pool.replica()
    first = await svc.upsert_account(credential=_cred(1), tags=["team-a"])
    second = await svc.upsert_account(credential=_cred(2), tags=["team-a"])
    await svc.upsert_account(credential=_cred(3))  # untagged, the most quota
    await _set_remaining(svc, first.account_id, 20)
    await _set_remaining(svc, second.account_id, 10)
    tried: list[str] = []

    async def opener(lease: Lease) -> AsyncIterator[str]:
        tried.append(lease.account_id)
        raise grok_errors.InvalidCredential("401")
        yield ""  # an async generator

    async def no_wait(seconds: float) -> None:
        return None

    stream = leasing.leased_stream(
        pool=svc, policy=leasing.RetryPolicy(max_retry=5), model="grok-4", opener=opener,
        account_tags=["team-a"], sleep=no_wait,
    )  # fmt: skip
    with pytest.raises(leasing.UpstreamFailed) as caught:
        async for _ in stream:
            pass
    # both team accounts rejected the call; the untagged one was never leased, however
    # many retries were left
    assert tried == [first.account_id, second.account_id]
    assert caught.value.accounts == 2
