"""Usage refresh against the upstream simulator: figures, tier inference, locks, on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, QuotaSource
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from grok2api_settings import Settings
from grok_web import client as grok_client
from grok_web import options as grok_options
from pool_harness import Pool
from token_pool import usage

CRED = "refresh-credential-" + "r" * 24


@pytest.fixture(params=["redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def reader(sim) -> AsyncIterator[usage.UsageReader]:  # type: ignore[no-untyped-def]
    settings = Settings.model_validate({"network": {"base_url": sim.base_url}})
    upstream = grok_client.GrokClient(options=grok_options.ClientOptions.from_settings(settings))
    yield usage.GrokUsageReader(upstream)
    await upstream.aclose()


async def test_refresh_reads_real_windows_and_infers_the_tier(pool: Pool, sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.add_account(CRED, tier="super", quotas={"auto": {"total": 50, "remaining": 31}})
    svc = await pool.replica(reader=reader)
    acct = await svc.upsert_account(credential=CRED)
    assert acct.tier is Tier.BASIC  # unknown until refreshed
    events = [p async for p in svc.refresh_usage([acct.account_id])]
    assert [(e.account_id, e.ok, e.finished) for e in events] == [
        (acct.account_id, True, False),
        ("", True, True),
    ]
    refreshed = await svc.get_account(acct.account_id)
    assert refreshed.tier is Tier.SUPER
    auto = next(w for w in refreshed.quota if w.mode == "auto")
    assert (auto.remaining, auto.total, auto.source) == (31, 50, QuotaSource.REAL)
    stored = await pool.store.accounts.get(acct.account_id)
    assert stored is not None and stored.tier is not None and stored.tier.value == "super"
    assert stored.quota["auto"].remaining == 31


async def test_rejected_credential_makes_the_account_invalid(pool: Pool, sim, reader) -> None:  # type: ignore[no-untyped-def]
    svc = await pool.replica(reader=reader)
    acct = await svc.upsert_account(credential=CRED)  # the simulator does not know it
    events = [p async for p in svc.refresh_usage(all_accounts=True)]
    assert events[0].ok is False and events[-1].finished
    assert (await svc.get_account(acct.account_id)).status is AccountStatus.INVALID


async def test_one_replica_refreshes_an_account_at_a_time(pool: Pool, sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.add_account(CRED, tier="basic")
    one, two = await pool.replica(reader=reader), await pool.replica(reader=reader)
    acct = await one.upsert_account(credential=CRED)
    hot = one._hot  # the shared hot state: hold the lock as a busy replica would
    token = await hot.try_lock(f"refresh:{acct.account_id}", ttl_seconds=30)
    assert token is not None
    events = [p async for p in two.refresh_usage([acct.account_id])]
    assert events[0].skipped and not events[0].ok
    await hot.unlock(f"refresh:{acct.account_id}", token)
    events = [p async for p in two.refresh_usage([acct.account_id])]
    assert events[0].ok


async def test_acquire_refreshes_on_demand_when_nothing_is_left(pool: Pool, sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.add_account(CRED, tier="basic", quotas={"auto": {"total": 20, "remaining": 20}})
    svc = await pool.replica(reader=reader)
    acct = await svc.upsert_account(credential=CRED, tier=Tier.BASIC)
    lease = await svc.acquire(model="grok-4")
    stale = [QuotaFigures(mode="auto", remaining=0, total=20, window_seconds=72000)]
    await svc.release(lease, outcome=Outcome.SUCCESS, quota=stale)
    lease = await svc.acquire(model="grok-4")  # local view empty; the upstream has 20 left
    assert lease.account_id == acct.account_id


async def test_no_on_demand_refresh_without_an_upstream_reader(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=CRED)
    lease = await svc.acquire(model="grok-4")
    stale = [QuotaFigures(mode="auto", remaining=0, total=20, window_seconds=72000)]
    await svc.release(lease, outcome=Outcome.SUCCESS, quota=stale)
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.NO_QUOTA


async def test_accounts_fall_due_after_their_tier_interval(pool: Pool, sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.add_account(CRED, tier="basic")
    sim.add_account(CRED + "s", tier="super")
    svc = await pool.replica(
        reader=reader, refresh_interval_hours=8, super_refresh_interval_hours=2
    )
    basic = await svc.upsert_account(credential=CRED, tier=Tier.BASIC)
    sup = await svc.upsert_account(credential=CRED + "s", tier=Tier.SUPER)
    assert sorted(await svc.refresher.due()) == sorted([basic.account_id, sup.account_id])
    [_ async for _ in svc.refresh_usage(all_accounts=True)]
    assert await svc.refresher.due() == []
    pool.clock.advance(3 * 3600)
    assert await svc.refresher.due() == [sup.account_id]
    pool.clock.advance(6 * 3600)
    assert sorted(await svc.refresher.due()) == sorted([basic.account_id, sup.account_id])
