"""The pool survives replica restarts and loss of the hot state (durable store is the truth)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from grok2api_poolclient.accounts import AccountStatus
from grok2api_poolclient.leases import Outcome, Tier
from pool_harness import Pool


@pytest.mark.parametrize("backend", ["redis"])  # only Redis loses data under a live replica
async def test_hot_state_is_rebuilt_after_the_redis_prefix_is_flushed(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    svc = await pool.replica(fail_threshold=1)
    keep = await svc.upsert_account(credential="c" * 30, tier=Tier.SUPER, tags=["a"])
    bad = await svc.upsert_account(credential="d" * 30)
    lease = await svc.acquire(model="grok-4", exclude=[keep.account_id])
    await svc.release(lease, outcome=Outcome.INVALID_CREDENTIAL)
    keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}:*")]
    await redis_client.delete(*keys)

    lease = await svc.acquire(model="grok-4")
    assert lease.account_id == keep.account_id and lease.tier is Tier.SUPER
    assert (await svc.get_account(bad.account_id)).status is AccountStatus.INVALID
    assert (await svc.stats()).total_accounts == 2


async def test_a_restarted_replica_sees_every_account(pool: Pool) -> None:
    first = await pool.replica()
    for n in range(3):
        await first.upsert_account(credential=f"restart-{n}-" + "z" * 20)
    await first.aclose()
    second = await pool.replica()
    page = await second.list_accounts()
    assert page.total == 3
    assert (await second.acquire(model="grok-4")).credential.startswith("restart-")


async def test_a_replica_sees_accounts_added_by_another(pool: Pool) -> None:
    one, two = await pool.replica(), await pool.replica()
    added = await one.upsert_account(credential="shared-" + "q" * 24)
    lease = await two.acquire(model="grok-4")
    assert (lease.account_id, lease.credential) == (added.account_id, "shared-" + "q" * 24)


async def test_unreachable_redis_is_reported_as_pool_unavailable(store) -> None:  # type: ignore[no-untyped-def]
    from grok2api_poolclient import errors
    from pool_harness import make_settings
    from token_pool import service
    from token_pool.hot import redis_state

    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    svc = service.PoolService(
        settings=make_settings,
        repo=store.accounts,
        hot=redis_state.RedisHotState(dead, prefix="test:dead"),
    )
    try:
        with pytest.raises(errors.PoolUnavailable):
            await svc.acquire(model="grok-4")
        with pytest.raises(errors.PoolUnavailable):
            await svc.stats()
    finally:
        await dead.aclose()


async def test_a_changed_credential_reaches_every_replica(pool: Pool) -> None:
    one = await pool.replica(background=True)
    two = await pool.replica(background=True)
    added = await one.upsert_account(credential="old-" + "o" * 24)
    await two.release(await two.acquire(model="grok-4"), outcome=Outcome.SUCCESS)  # cached
    await one.upsert_account(account_id=added.account_id, credential="new-" + "n" * 24)
    for _ in range(50):
        lease = await two.acquire(model="grok-4")
        await two.release(lease, outcome=Outcome.SUCCESS)
        if lease.credential.startswith("new-"):
            break
        await asyncio.sleep(0.05)
    assert lease.credential == "new-" + "n" * 24
