"""The hot-state contract, run against both backends (memory, redis) through PoolService."""

from __future__ import annotations

import asyncio

import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, QuotaSource
from grok2api_poolclient.leases import Lease, Outcome, QuotaFigures, Tier
from pool_harness import Pool
from token_pool import leasing, service


def _cred(n: int) -> str:
    return f"credential-{n:04d}-" + "x" * 24


async def test_acquire_reserves_cost_and_release_success_keeps_it(pool: Pool) -> None:
    svc = await pool.replica()
    added = await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)
    lease = await svc.acquire(model="grok-4")
    assert lease.account_id == added.account_id
    assert lease.credential == _cred(1)
    assert (lease.mode, lease.cost, lease.tier) == ("auto", 1, Tier.BASIC)
    during = await svc.get_account(added.account_id)
    assert during.inflight == 1
    [window] = during.quota
    assert (window.remaining, window.total, window.source) == (79, 80, QuotaSource.DEFAULT)
    await svc.release(lease, outcome=Outcome.SUCCESS)
    after = await svc.get_account(added.account_id)
    assert after.inflight == 0 and after.quota[0].remaining == 79


async def test_prefers_the_account_with_most_remaining_quota(pool: Pool) -> None:
    svc = await pool.replica()
    a = await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)
    b = await svc.upsert_account(credential=_cred(2), tier=Tier.BASIC)
    first = await svc.acquire(model="grok-4.1-thinking")  # cost 4 in the expert window
    second = await svc.acquire(model="grok-4.1-thinking")
    assert {first.account_id, second.account_id} == {a.account_id, b.account_id}


async def test_falls_back_to_a_higher_tier_when_no_basic_account_is_free(pool: Pool) -> None:
    svc = await pool.replica(max_inflight_per_account=1)
    await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)
    sup = await svc.upsert_account(credential=_cred(2), tier=Tier.SUPER)
    first = await svc.acquire(model="grok-4")
    assert first.tier is Tier.BASIC
    second = await svc.acquire(model="grok-4")
    assert second.account_id == sup.account_id and second.tier is Tier.SUPER


async def test_super_only_model_never_uses_a_basic_account(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4-heavy")
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_OF_TIER


async def test_unknown_model_is_an_invalid_request(pool: Pool) -> None:
    svc = await pool.replica()
    with pytest.raises(errors.InvalidRequest):
        await svc.acquire(model="no-such-model")


async def test_excluded_accounts_are_not_leased(pool: Pool) -> None:
    svc = await pool.replica()
    a = await svc.upsert_account(credential=_cred(1))
    b = await svc.upsert_account(credential=_cred(2))
    lease = await svc.acquire(model="grok-4", exclude=[a.account_id])
    assert lease.account_id == b.account_id


async def test_concurrency_cap_reports_all_busy(pool: Pool) -> None:
    svc = await pool.replica(max_inflight_per_account=2)
    await svc.upsert_account(credential=_cred(1))
    await svc.acquire(model="grok-4")
    await svc.acquire(model="grok-4")
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.ALL_BUSY


async def test_cools_the_account_until_retry_after(pool: Pool) -> None:
    svc = await pool.replica()
    acct = await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.RATE_LIMITED, retry_after=120)
    cooled = await svc.get_account(acct.account_id)
    assert cooled.status is AccountStatus.COOLING
    assert cooled.cooling_until == pytest.approx(pool.clock.now + 120)
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.ALL_COOLING
    assert caught.value.retry_at == pytest.approx(pool.clock.now + 120)
    pool.clock.advance(121)
    again = await svc.acquire(model="grok-4")
    assert again.account_id == acct.account_id


async def test_rate_limit_without_retry_after_cools_until_window_reset(pool: Pool) -> None:
    svc = await pool.replica()
    acct = await svc.upsert_account(credential=_cred(1), tier=Tier.SUPER)
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.RATE_LIMITED)
    cooled = await svc.get_account(acct.account_id)
    assert cooled.cooling_until == pytest.approx(pool.clock.now + 7200)


async def test_marks_invalid_after_fail_threshold_consecutive_failures(pool: Pool) -> None:
    svc = await pool.replica(fail_threshold=3)
    acct = await svc.upsert_account(credential=_cred(1))
    for _ in range(2):
        lease = await svc.acquire(model="grok-4")
        await svc.release(lease, outcome=Outcome.INVALID_CREDENTIAL)
    assert (await svc.get_account(acct.account_id)).status is AccountStatus.ACTIVE
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.INVALID_CREDENTIAL)
    assert (await svc.get_account(acct.account_id)).status is AccountStatus.INVALID
    stored = await pool.store.accounts.get(acct.account_id)
    assert stored is not None and stored.status.value == "invalid"
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model="grok-4")


async def test_success_resets_the_failure_count(pool: Pool) -> None:
    svc = await pool.replica(fail_threshold=2)
    acct = await svc.upsert_account(credential=_cred(1))
    for outcome in (Outcome.INVALID_CREDENTIAL, Outcome.SUCCESS, Outcome.INVALID_CREDENTIAL):
        lease = await svc.acquire(model="grok-4")
        await svc.release(lease, outcome=outcome)
    view = await svc.get_account(acct.account_id)
    assert view.status is AccountStatus.ACTIVE and view.fail_count == 1


async def test_challenge_never_blames_the_account_and_refunds_the_cost(pool: Pool) -> None:
    svc = await pool.replica(fail_threshold=1)
    acct = await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.CHALLENGE)
    view = await svc.get_account(acct.account_id)
    assert view.status is AccountStatus.ACTIVE and view.fail_count == 0
    assert view.quota[0].remaining == 80


async def _lease_on(svc: service.PoolService, account_id: str, others: list[str]) -> Lease:
    lease = await svc.acquire(model="grok-4", exclude=[o for o in others if o != account_id])
    assert lease.account_id == account_id
    return lease


async def test_cools_an_account_after_transient_failures_in_a_row_while_others_answer(
    pool: Pool,
) -> None:
    svc = await pool.replica(transient_fail_threshold=3, transient_cooldown_seconds=45)
    bad = (await svc.upsert_account(credential=_cred(1))).account_id
    good = (await svc.upsert_account(credential=_cred(2))).account_id
    ids = [bad, good]
    for n in range(3):
        lease = await _lease_on(svc, bad, ids)
        await svc.release(lease, outcome=Outcome.TRANSIENT)
        if n < 2:
            assert (await svc.get_account(bad)).status is AccountStatus.ACTIVE
        await svc.release(await _lease_on(svc, good, ids), outcome=Outcome.SUCCESS)
    cooled = await svc.get_account(bad)
    assert cooled.status is AccountStatus.COOLING
    assert cooled.cooling_until == pytest.approx(pool.clock.now + 45)
    assert cooled.fail_count == 0 and cooled.quota[0].remaining == 80  # refunded, not invalid
    for _ in range(4):  # only the healthy one is picked while it cools
        lease = await svc.acquire(model="grok-4")
        assert lease.account_id == good
        await svc.release(lease, outcome=Outcome.SUCCESS)
    pool.clock.advance(46)
    lease = await _lease_on(svc, bad, ids)  # one more failure in a row: cools twice as long
    await svc.release(lease, outcome=Outcome.TRANSIENT)
    again = await svc.get_account(bad)
    assert again.status is AccountStatus.COOLING
    assert again.cooling_until == pytest.approx(pool.clock.now + 90)


async def test_one_transient_failure_cools_an_account_by_default(pool: Pool) -> None:
    svc = await pool.replica()
    bad = (await svc.upsert_account(credential=_cred(1))).account_id
    good = (await svc.upsert_account(credential=_cred(2))).account_id
    await svc.release(await _lease_on(svc, bad, [bad, good]), outcome=Outcome.TRANSIENT)
    view = await svc.get_account(bad)
    assert view.status is AccountStatus.COOLING
    assert view.cooling_until == pytest.approx(pool.clock.now + 10)
    assert (await svc.acquire(model="grok-4")).account_id == good


async def test_a_success_resets_the_transient_streak(pool: Pool) -> None:
    svc = await pool.replica(transient_fail_threshold=2)
    acct = (await svc.upsert_account(credential=_cred(1))).account_id
    for outcome in (Outcome.TRANSIENT, Outcome.SUCCESS, Outcome.TRANSIENT):
        await svc.release(await svc.acquire(model="grok-4"), outcome=outcome)
    assert (await svc.get_account(acct)).status is AccountStatus.ACTIVE


async def test_failures_on_half_the_pool_in_a_row_are_the_upstreams_and_cool_nobody(
    pool: Pool,
) -> None:
    svc = await pool.replica()
    ids = [(await svc.upsert_account(credential=_cred(n))).account_id for n in range(4)]
    await svc.release(await _lease_on(svc, ids[0], ids), outcome=Outcome.TRANSIENT)
    assert (await svc.get_account(ids[0])).status is AccountStatus.COOLING
    # the second account of four failing with no success between: the upstream's bad minute
    await svc.release(await _lease_on(svc, ids[1], ids), outcome=Outcome.TRANSIENT)
    for _ in range(3):
        for account_id in ids:
            await svc.release(await _lease_on(svc, account_id, ids), outcome=Outcome.TRANSIENT)
    views = [await svc.get_account(account_id) for account_id in ids]
    assert [view.status for view in views] == [AccountStatus.ACTIVE] * 4
    await svc.release(await _lease_on(svc, ids[0], ids), outcome=Outcome.SUCCESS)
    # it answers again: an account that fails now is blamed, from a fresh streak
    await svc.release(await _lease_on(svc, ids[2], ids), outcome=Outcome.TRANSIENT)
    view = await svc.get_account(ids[2])
    assert view.status is AccountStatus.COOLING
    assert view.cooling_until == pytest.approx(pool.clock.now + 10)


async def test_releasing_twice_never_double_counts(pool: Pool) -> None:
    svc = await pool.replica(fail_threshold=2)
    acct = await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.INVALID_CREDENTIAL)
    await svc.release(lease, outcome=Outcome.INVALID_CREDENTIAL)
    view = await svc.get_account(acct.account_id)
    assert (view.fail_count, view.inflight, view.quota[0].remaining) == (1, 0, 80)


async def test_upstream_quota_figures_correct_the_window(pool: Pool) -> None:
    svc = await pool.replica()
    acct = await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    figures = [QuotaFigures(mode="auto", remaining=12, total=20, window_seconds=72000)]
    await svc.release(lease, outcome=Outcome.SUCCESS, quota=figures)
    [window] = (await svc.get_account(acct.account_id)).quota
    assert (window.remaining, window.total, window.window_seconds) == (12, 20, 72000)
    assert window.source is QuotaSource.REAL
    await svc.release(await svc.acquire(model="grok-4"), outcome=Outcome.SUCCESS)
    [window] = (await svc.get_account(acct.account_id)).quota
    assert (window.remaining, window.source) == (11, QuotaSource.ESTIMATED)


async def test_no_quota_reports_the_window_reset_time(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    figures = [QuotaFigures(mode="auto", remaining=0, total=20, window_seconds=600)]
    await svc.release(lease, outcome=Outcome.SUCCESS, quota=figures)
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.NO_QUOTA
    assert caught.value.retry_at == pytest.approx(pool.clock.now + 600)
    pool.clock.advance(601)
    assert (await svc.acquire(model="grok-4")).mode == "auto"


async def test_expired_lease_is_reclaimed_after_the_ttl(pool: Pool) -> None:
    svc = await pool.replica(max_inflight_per_account=1, lease_ttl_seconds=5)
    acct = await svc.upsert_account(credential=_cred(1))
    await svc.acquire(model="grok-4")  # the holder "crashes": never released
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model="grok-4")
    pool.clock.advance(6)
    lease = await svc.acquire(model="grok-4")
    assert lease.account_id == acct.account_id
    assert (await svc.get_account(acct.account_id)).inflight == 1


async def test_a_renewed_lease_outlives_its_first_expiry(pool: Pool) -> None:
    svc = await pool.replica(max_inflight_per_account=1, lease_ttl_seconds=5)
    acct = await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    pool.clock.advance(4)
    assert await svc.renew(lease) == pytest.approx(pool.clock.now + 5)
    pool.clock.advance(4)  # 8 s after the acquire: past the first expiry, not the renewed one
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model="grok-4")
    pool.clock.advance(2)  # now past the renewed expiry too
    assert (await svc.acquire(model="grok-4")).account_id == acct.account_id
    assert await svc.renew(lease) is None  # reclaimed: gone for good, nothing extended
    assert (await svc.get_account(acct.account_id)).inflight == 1


async def test_a_released_lease_cannot_be_renewed(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.SUCCESS)
    assert await svc.renew(lease) is None
    assert (await svc.stats()).leases_in_flight == 0


async def test_reaper_reclaims_leases_of_a_vanished_holder(pool: Pool) -> None:
    holder = await pool.replica(lease_ttl_seconds=0.2)
    acct = await holder.upsert_account(credential=_cred(1))
    await holder.acquire(model="grok-4")
    await holder.aclose()
    watcher = await pool.replica(background=True, lease_ttl_seconds=0.2)
    pool.clock.advance(1)
    for _ in range(100):
        if (await watcher.get_account(acct.account_id)).inflight == 0:
            break
        await asyncio.sleep(0.05)
    assert (await watcher.get_account(acct.account_id)).inflight == 0
    assert (await watcher.stats()).leases_in_flight == 0


async def test_replicas_never_over_commit_quota_or_exceed_the_cap(pool: Pool) -> None:
    from pool_harness import make_settings

    replicas = [await pool.replica(max_inflight_per_account=3) for _ in range(4)]
    accounts = [await replicas[0].upsert_account(credential=_cred(n)) for n in range(5)]
    figures = [QuotaFigures(mode="auto", remaining=20, total=20, window_seconds=7200)]
    for acct in accounts:
        others = [a.account_id for a in accounts if a is not acct]
        lease = await replicas[0].acquire(model="grok-4", exclude=others)
        await replicas[0].release(lease, outcome=Outcome.SUCCESS, quota=figures)

    async def attempt(i: int) -> str | None:
        try:
            return (await replicas[i % 4].acquire(model="grok-4")).account_id
        except errors.PoolExhausted:
            return None

    held = [a for a in await asyncio.gather(*(attempt(i) for i in range(200))) if a]
    assert len(held) == 5 * 3  # the cap binds: 3 per account, never more
    assert all(held.count(a.account_id) == 3 for a in accounts)

    pool.settings = make_settings(max_inflight_per_account=1000)
    more = [a for a in await asyncio.gather(*(attempt(i) for i in range(300))) if a]
    assert len(held) + len(more) == 5 * 20  # quota binds: every unit granted exactly once
    page = await replicas[1].list_accounts()
    assert all(a.quota[0].remaining == 0 for a in page.accounts)
    assert sum(a.inflight for a in page.accounts) == 100


async def test_finds_the_one_eligible_account_in_a_large_tier(pool: Pool) -> None:
    svc = await pool.replica()
    accounts = [await svc.upsert_account(credential=_cred(n)) for n in range(40)]
    empty = [QuotaFigures(mode="auto", remaining=0, total=20, window_seconds=7200)]
    for acct in accounts[1:]:
        others = [a.account_id for a in accounts if a is not acct]
        lease = await svc.acquire(model="grok-4", exclude=others)
        await svc.release(lease, outcome=Outcome.SUCCESS, quota=empty)
    for _ in range(5):
        lease = await svc.acquire(model="grok-4")
        assert lease.account_id == accounts[0].account_id
        await svc.release(lease, outcome=Outcome.SUCCESS)


async def test_pool_metrics_use_the_documented_names(pool: Pool) -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    svc = await pool.replica(registry=registry)
    await svc.upsert_account(credential=_cred(1), tier=Tier.SUPER)
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.SUCCESS)
    assert await svc.report_metrics()
    labels = {"tier": "super", "status": "active"}
    assert registry.get_sample_value("grok2api_pool_accounts", labels) == 1
    assert registry.get_sample_value("grok2api_pool_leases_in_flight") == 0
    assert registry.get_sample_value(
        "grok2api_pool_outcomes_total", {"outcome": "success", "tier": "super"}
    )
    assert registry.get_sample_value(
        "grok2api_pool_acquire_duration_seconds_count", {"result": "ok"}
    )


async def test_a_late_release_of_a_reclaimed_lease_frees_no_second_slot(pool: Pool) -> None:
    svc = await pool.replica(lease_ttl_seconds=5, max_inflight_per_account=2)
    acct = await svc.upsert_account(credential=_cred(1))
    stale = await svc.acquire(model="grok-4")
    pool.clock.advance(6)
    fresh = await svc.acquire(model="grok-4")  # reclaims the stale lease on the way
    await svc.release(stale, outcome=Outcome.SUCCESS)
    view = await svc.get_account(acct.account_id)
    assert view.inflight == 1
    await svc.release(fresh, outcome=Outcome.SUCCESS)
    assert (await svc.get_account(acct.account_id)).inflight == 0


async def test_an_account_that_just_failed_comes_after_every_other_one(pool: Pool) -> None:
    svc = await pool.replica()
    ids = [(await svc.upsert_account(credential=_cred(n))).account_id for n in range(3)]
    # a challenge refunds the cost and blames nobody, so by quota alone it would come first
    await svc.release(await _lease_on(svc, ids[0], ids), outcome=Outcome.CHALLENGE)
    await svc.release(await _lease_on(svc, ids[1], ids), outcome=Outcome.SUCCESS)
    await svc.release(await _lease_on(svc, ids[2], ids), outcome=Outcome.SUCCESS)
    for _ in range(6):  # ids[0] has the most remaining quota, yet is picked last
        lease = await svc.acquire(model="grok-4")
        assert lease.account_id != ids[0]
        await svc.release(lease, outcome=Outcome.SUCCESS)
    busy = [await svc.acquire(model="grok-4", exclude=[ids[0]]) for _ in range(8)]
    assert (await svc.acquire(model="grok-4")).account_id == ids[0]  # still there when needed
    for lease in busy:
        await svc.release(lease, outcome=Outcome.SUCCESS)
    pool.clock.advance(121)  # the failure is old news: quota decides again
    assert (await svc.acquire(model="grok-4")).account_id == ids[0]


async def test_half_the_pool_means_half_of_the_accounts_that_can_be_leased(pool: Pool) -> None:
    svc = await pool.replica()
    ids = [(await svc.upsert_account(credential=_cred(n))).account_id for n in range(8)]
    for account_id in ids[4:]:  # expired or switched off: they can never be leased
        await svc.upsert_account(account_id=account_id, enabled=False)
    usable = ids[:4]
    await svc.release(await _lease_on(svc, usable[0], usable), outcome=Outcome.TRANSIENT)
    await svc.release(await _lease_on(svc, usable[1], usable), outcome=Outcome.TRANSIENT)
    # two of the four usable accounts failed with no success between: the upstream's minute
    views = [await svc.get_account(account_id) for account_id in usable]
    assert [view.status for view in views] == [AccountStatus.ACTIVE] * 4


async def test_an_acquire_sent_again_gets_its_first_lease_and_reserves_nothing_more(
    pool: Pool,
) -> None:
    svc = await pool.replica()
    ids = [(await svc.upsert_account(credential=_cred(n))).account_id for n in (1, 2)]
    order = leasing.AcquireOrder(model="grok-4", lease_id="ab" * 16)
    [first], _ = await svc.lease_batch(acquires=[order])
    assert isinstance(first, Lease) and first.lease_id == "ab" * 16
    spent = auto_remaining(await svc.get_account(first.account_id))
    [again], _ = await svc.lease_batch(acquires=[order])  # its stream broke: sent again
    assert isinstance(again, Lease)
    assert (again.lease_id, again.account_id) == (first.lease_id, first.account_id)
    account = await svc.get_account(first.account_id)
    assert (auto_remaining(account), account.inflight) == (spent, 1)
    await svc.release(again, outcome=Outcome.SUCCESS)
    assert (await svc.get_account(first.account_id)).inflight == 0
    before = [await svc.get_account(i) for i in ids]
    [fresh], _ = await svc.lease_batch(acquires=[order])  # released: granted anew
    after = [await svc.get_account(i) for i in ids]
    assert isinstance(fresh, Lease) and [a.inflight for a in after].count(1) == 1
    assert sum(map(total_remaining, before)) - sum(map(total_remaining, after)) == 1


async def test_a_proposed_lease_id_of_another_form_is_replaced(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1))
    order = leasing.AcquireOrder(model="grok-4", lease_id="not-a-lease-id")
    [lease], _ = await svc.lease_batch(acquires=[order])
    assert isinstance(lease, Lease) and lease.lease_id != "not-a-lease-id"
    assert len(lease.lease_id) == 32


def auto_remaining(account) -> int:  # type: ignore[no-untyped-def]
    return next(w.remaining for w in account.quota if w.mode == "auto")


def total_remaining(account) -> int:  # type: ignore[no-untyped-def]
    """The auto window's remaining units; an untouched account's default window is full."""
    return next((w.remaining for w in account.quota if w.mode == "auto"), 80)
