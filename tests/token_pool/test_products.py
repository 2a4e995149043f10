"""Product refusals and preferred tiers, run against both backends (memory, redis).

An account the upstream refuses a product (image: grok-imagine-1.0 and its edit model;
video: grok-imagine-1.0-video) is passed by for that product until its next usage refresh,
without counting as a failure; ``prefer_tier`` picks higher-tier accounts first.
"""

from __future__ import annotations

import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from pool_harness import Pool
from token_pool import service, usage

IMAGE, EDIT, VIDEO, CHAT = (
    "grok-imagine-1.0", "grok-imagine-1.0-edit", "grok-imagine-1.0-video", "grok-4"
)  # fmt: skip


def _cred(n: int) -> str:
    return f"product-credential-{n:04d}-" + "p" * 20


async def _two(svc: service.PoolService) -> tuple[str, str]:
    a = (await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)).account_id
    b = (await svc.upsert_account(credential=_cred(2), tier=Tier.BASIC)).account_id
    return a, b


async def _refuse(svc: service.PoolService, account_id: str, model: str, other: str) -> None:
    lease = await svc.acquire(model=model, exclude=[other])
    assert lease.account_id == account_id
    await svc.release(lease, outcome=Outcome.PRODUCT_REFUSED)


class FixedUsage:
    """A ``UsageReader`` that always reads the same full auto window."""

    async def read(self, credential: str) -> usage.Usage:
        figures = (QuotaFigures(mode="auto", remaining=20, total=20, window_seconds=72000),)
        return usage.Usage(figures=figures, tier=None)


async def test_a_refused_account_is_passed_by_for_that_product_only(pool: Pool) -> None:
    svc = await pool.replica()
    a, b = await _two(svc)
    await _refuse(svc, a, IMAGE, b)
    for _ in range(4):  # the image product, whichever of its models: only b
        for model in (IMAGE, EDIT):
            lease = await svc.acquire(model=model)
            assert lease.account_id == b
            await svc.release(lease, outcome=Outcome.SUCCESS)
    for model in (VIDEO, CHAT):  # chat and the other product still lease it
        lease = await svc.acquire(model=model, exclude=[b])
        assert lease.account_id == a
        await svc.release(lease, outcome=Outcome.SUCCESS)


async def test_a_refusal_refunds_and_blames_nobody(pool: Pool) -> None:
    svc = await pool.replica(fail_threshold=1, transient_fail_threshold=1)
    a, b = await _two(svc)
    await _refuse(svc, a, IMAGE, b)
    await _refuse(svc, a, VIDEO, b)
    view = await svc.get_account(a)
    assert view.status is AccountStatus.ACTIVE  # fail_threshold=1, yet not invalid
    assert (view.fail_count, view.inflight, view.cooling_until) == (0, 0, None)
    [window] = view.quota
    assert window.remaining == 80  # both reservations (4 each) refunded
    spent = await svc.acquire(model=CHAT, exclude=[a])
    await svc.release(spent, outcome=Outcome.SUCCESS)  # b: 79 left
    # no cooldown and no "recently failed" demotion: with the most quota left it comes first
    lease = await svc.acquire(model=CHAT)
    assert lease.account_id == a
    await svc.release(lease, outcome=Outcome.SUCCESS)


async def test_refused_products_are_shown_on_the_account(pool: Pool) -> None:
    svc = await pool.replica()
    a, b = await _two(svc)
    await _refuse(svc, a, VIDEO, b)
    await _refuse(svc, a, EDIT, b)
    assert (await svc.get_account(a)).refused_products == ("image", "video")
    page = await svc.list_accounts()
    shown = {acct.account_id: acct.refused_products for acct in page.accounts}
    assert shown == {a: ("image", "video"), b: ()}


async def test_refusing_the_same_product_twice_records_it_once(pool: Pool) -> None:
    svc = await pool.replica()
    a, b = await _two(svc)
    lease_one = await svc.acquire(model=IMAGE, exclude=[b])
    lease_two = await svc.acquire(model=EDIT, exclude=[b])
    await svc.release(lease_one, outcome=Outcome.PRODUCT_REFUSED)
    await svc.release(lease_two, outcome=Outcome.PRODUCT_REFUSED)
    await svc.release(lease_two, outcome=Outcome.PRODUCT_REFUSED)  # released twice: no-op
    view = await svc.get_account(a)
    assert view.refused_products == ("image",)
    assert (view.inflight, view.quota[0].remaining) == (0, 80)


async def test_only_refused_accounts_left_is_its_own_exhaustion_reason(pool: Pool) -> None:
    svc = await pool.replica()
    a, b = await _two(svc)
    await _refuse(svc, a, VIDEO, b)
    await _refuse(svc, b, VIDEO, a)
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model=VIDEO)
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_FOR_PRODUCT
    assert caught.value.retry_at is None
    # an account that comes back by itself (cooling) is the better story
    c = (await svc.upsert_account(credential=_cred(3))).account_id
    lease = await svc.acquire(model=CHAT, exclude=[a, b])
    assert lease.account_id == c
    await svc.release(lease, outcome=Outcome.RATE_LIMITED, retry_after=60)
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model=VIDEO)
    assert caught.value.reason is errors.ExhaustedReason.ALL_COOLING


async def test_a_usage_refresh_clears_the_refusals(pool: Pool) -> None:
    svc = await pool.replica(reader=FixedUsage())
    a, b = await _two(svc)
    await _refuse(svc, a, IMAGE, b)
    await _refuse(svc, a, VIDEO, b)
    [_ async for _ in svc.refresh_usage([b])]  # another account's refresh changes nothing
    assert (await svc.get_account(a)).refused_products == ("image", "video")
    events = [p async for p in svc.refresh_usage([a])]
    assert events[0].ok
    assert (await svc.get_account(a)).refused_products == ()
    lease = await svc.acquire(model=IMAGE, exclude=[b])
    assert lease.account_id == a


async def test_an_operator_edit_clears_the_refusals(pool: Pool) -> None:
    svc = await pool.replica()
    a, b = await _two(svc)
    await _refuse(svc, a, IMAGE, b)
    await svc.upsert_account(account_id=a, tier=Tier.SUPER)  # e.g. the account was upgraded
    view = await svc.get_account(a)
    assert (view.refused_products, view.tier) == ((), Tier.SUPER)
    assert (await svc.acquire(model=IMAGE, exclude=[b])).account_id == a


async def test_prefer_tier_picks_a_higher_tier_first(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)
    sup = (await svc.upsert_account(credential=_cred(2), tier=Tier.SUPER)).account_id
    heavy = (await svc.upsert_account(credential=_cred(3), tier=Tier.HEAVY)).account_id
    plain = await svc.acquire(model=VIDEO)  # fallback order starts at basic
    assert plain.tier is Tier.BASIC
    await svc.release(plain, outcome=Outcome.SUCCESS)
    for _ in range(3):
        lease = await svc.acquire(model=VIDEO, prefer_tier="super")
        assert lease.account_id == sup  # super before heavy: the fallback order within
        await svc.release(lease, outcome=Outcome.SUCCESS)
    lease = await svc.acquire(model=VIDEO, prefer_tier="super", exclude=[sup])
    assert lease.account_id == heavy


async def test_prefer_tier_falls_back_to_a_lower_tier(pool: Pool) -> None:
    svc = await pool.replica(max_inflight_per_account=1)
    basic = (await svc.upsert_account(credential=_cred(1), tier=Tier.BASIC)).account_id
    sup = (await svc.upsert_account(credential=_cred(2), tier=Tier.SUPER)).account_id
    held = await svc.acquire(model=VIDEO, prefer_tier="super")
    assert held.account_id == sup
    fallback = await svc.acquire(model=VIDEO, prefer_tier="super")  # super is at its cap
    assert fallback.account_id == basic
    await svc.release(held, outcome=Outcome.PRODUCT_REFUSED)
    await svc.release(fallback, outcome=Outcome.SUCCESS)
    lease = await svc.acquire(model=VIDEO, prefer_tier="super")  # super refused video
    assert lease.account_id == basic


async def test_an_unknown_preferred_tier_is_an_invalid_request(pool: Pool) -> None:
    svc = await pool.replica()
    await svc.upsert_account(credential=_cred(1))
    with pytest.raises(errors.InvalidRequest):
        await svc.acquire(model=VIDEO, prefer_tier="ultra")
