"""Quota spent by leases outlives the hot state: checkpoints to the durable store, a last one
at stop, and the upstream's figures re-read after a hot state lost while running."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from pool_harness import Clock, Pool, make_settings
from token_pool import service, usage
from token_pool.hot import memory

CRED = "checkpoint-" + "k" * 24
FULL = QuotaFigures(mode="auto", remaining=40, total=40, window_seconds=7200)


class CountingReader:
    """The upstream's usage: ``remaining`` per credential, every read counted."""

    def __init__(self, remaining: dict[str, int]) -> None:
        self.remaining = remaining
        self.reads: list[str] = []

    async def read(self, credential: str) -> usage.Usage:
        self.reads.append(credential)
        figures = QuotaFigures(mode="auto", remaining=self.remaining[credential], total=40,
                               window_seconds=7200)  # fmt: skip
        return usage.Usage(figures=(figures,), tier=None)


async def spend(svc: service.PoolService, times: int) -> None:
    for _ in range(times):
        lease = await svc.acquire(model="grok-4")
        await svc.release(lease, outcome=Outcome.SUCCESS)


def auto_remaining(windows) -> int:  # type: ignore[no-untyped-def]
    return next(w.remaining for w in windows if w.mode == "auto")


async def flush(client: aioredis.Redis, prefix: str) -> None:
    await client.delete(*[k async for k in client.scan_iter(match=f"{prefix}:*")])


@pytest.mark.parametrize("backend", ["redis"])
async def test_spent_quota_survives_a_flushed_hot_state(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    svc = await pool.replica(refresh_after_rebuild=False)
    acct = await svc.upsert_account(credential=CRED, tier=Tier.BASIC)
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.SUCCESS, quota=[FULL])  # the upstream's figures
    await spend(svc, 7)
    assert await svc.checkpoints.checkpoint() == 1
    stored = await pool.store.accounts.get(acct.account_id)
    assert stored is not None and stored.quota["auto"].remaining == 40 - 7
    assert stored.last_used_at is not None

    await flush(redis_client, redis_prefix)
    await spend(svc, 1)  # the first acquire finds the state empty and rebuilds it
    assert auto_remaining((await svc.get_account(acct.account_id)).quota) == 40 - 8


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_checkpoint_writes_only_accounts_leases_touched(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=CRED)
    await svc.upsert_account(credential=CRED + "-idle", tier=Tier.HEAVY)
    await spend(svc, 2)  # grok-4 on basic first: the heavy account stays idle
    assert await svc.checkpoints.checkpoint() == 1
    assert await svc.checkpoints.checkpoint() == 0  # nothing touched since


async def test_a_stopping_pool_writes_its_last_checkpoint(store) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()

    def replica() -> service.PoolService:
        return service.PoolService(settings=lambda: settings, repo=store.accounts,
                                   hot=memory.MemoryHotState(), clock=Clock())  # fmt: skip

    first = replica()
    await first.start(background=False)
    acct = await first.upsert_account(credential=CRED)
    await spend(first, 1)  # the first lease opens the default window
    before = auto_remaining((await first.get_account(acct.account_id)).quota)
    await spend(first, 3)
    await first.aclose()  # the single-process mode's memory hot state dies with it

    second = replica()
    await second.start(background=False)
    try:
        assert auto_remaining((await second.get_account(acct.account_id)).quota) == before - 3
    finally:
        await second.aclose()


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_hot_state_lost_while_running_is_re_read_from_the_upstream(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    creds = [f"{CRED}-{n}" for n in range(3)]
    reader = CountingReader({c: 40 - 5 * n for n, c in enumerate(creds)})
    svc = await pool.replica(reader=reader)
    ids = [(await svc.upsert_account(credential=c)).account_id for c in creds]
    disabled = await svc.upsert_account(credential=CRED + "-off", enabled=False)
    await spend(svc, 2)
    assert reader.reads == []  # the build at start re-reads nothing

    await flush(redis_client, redis_prefix)
    await spend(svc, 1)
    for _ in range(200):
        if len(reader.reads) == 3:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    assert sorted(reader.reads) == sorted(creds)  # every usable account, once
    for n, account_id in enumerate(ids):
        account = await svc.get_account(account_id)
        assert auto_remaining(account.quota) == 40 - 5 * n
    assert disabled.account_id not in reader.reads


@pytest.mark.parametrize("backend", ["redis"])
async def test_the_re_read_can_be_turned_off(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    reader = CountingReader({CRED: 1})
    svc = await pool.replica(reader=reader, refresh_after_rebuild=False)
    await svc.upsert_account(credential=CRED)
    await flush(redis_client, redis_prefix)
    await spend(svc, 1)
    await asyncio.sleep(0.2)
    assert reader.reads == []
