"""Accounts bound to egresses through the pool (both hot-state backends): spread over the
least bound, sticky, restricted by tags, moved off an egress that is disabled, removed,
unreachable, and back onto one whose cooldown ended; leases carry the bound egress."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from egress_harness import EgressPool, egress_settings
from grok2api_poolclient import egresses, errors
from grok2api_poolclient.accounts import AccountStatus
from grok2api_poolclient.leases import Outcome
from token_pool import service


def _cred(n: int) -> str:
    return f"egress-credential-{n:04d}-" + "x" * 24


async def _accounts(svc: service.PoolService, n: int, **fields: object) -> list[str]:
    return [
        (await svc.upsert_account(credential=_cred(i), **fields)).account_id  # type: ignore[arg-type]
        for i in range(n)
    ]


async def _bound(svc: service.PoolService) -> dict[str, int]:
    return {e.name: e.bound_accounts for e in await svc.list_egresses()}


async def _egress_of(svc: service.PoolService, account_id: str) -> str:
    lease = await svc.acquire(model="grok-4", account_id=account_id)
    await svc.release(lease, outcome=Outcome.CANCELLED)
    assert lease.egress is not None
    return lease.egress.name


async def test_accounts_spread_over_the_least_bound_egresses(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a")
    await svc.add_egress(name="b")
    await _accounts(svc, 6)
    assert await _bound(svc) == {"a": 3, "b": 3}


async def test_bindings_are_sticky_when_an_egress_is_added(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a")
    ids = await _accounts(svc, 4)
    await svc.add_egress(name="b")
    assert await _bound(svc) == {"a": 4, "b": 0}
    assert {await _egress_of(svc, i) for i in ids} == {"a"}
    later = (await svc.upsert_account(credential=_cred(99))).account_id
    assert await _egress_of(svc, later) == "b"  # the least bound


async def test_a_tagged_egress_serves_only_accounts_with_its_tags(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="eu-only", tags=["eu"])
    await svc.add_egress(name="any")
    plain = await _accounts(svc, 3)
    assert {await _egress_of(svc, i) for i in plain} == {"any"}
    european = (await svc.upsert_account(credential=_cred(50), tags=["eu"])).account_id
    assert await _egress_of(svc, european) == "eu-only"  # both serve it: the least bound

    # retagged away from "eu": its egress no longer serves it, so it moves
    await svc.upsert_account(account_id=european, tags=["us"])
    assert await _egress_of(svc, european) == "any"


async def test_an_account_no_egress_serves_is_not_leased(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="eu-only", tags=["eu"])
    (account,) = await _accounts(svc, 1)
    page = await svc.list_accounts()
    assert page.accounts[0].status is AccountStatus.ACTIVE
    with pytest.raises(errors.PoolExhausted):  # its only account has no egress
        await svc.acquire(model="grok-4")
    await svc.upsert_account(account_id=account, tags=["eu"])
    assert await _egress_of(svc, account) == "eu-only"


async def test_disabling_or_removing_an_egress_moves_its_accounts(
    egress_pool: EgressPool,
) -> None:
    svc = await egress_pool.replica()
    a = await svc.add_egress(name="a")
    await svc.add_egress(name="b")
    await svc.add_egress(name="c")
    ids = await _accounts(svc, 6)
    await svc.update_egress("a", enabled=False)
    assert await _bound(svc) == {"a": 0, "b": 3, "c": 3}
    await svc.remove_egress("b")
    assert await _bound(svc) == {"a": 0, "c": 6}
    stored = await egress_pool.store.egresses.bindings()
    assert Counter(stored[i] for i in ids) == {(await _id_of(svc, "c")): 6}
    await svc.update_egress(a.id, enabled=True)
    assert await _bound(svc) == {"a": 0, "c": 6}  # sticky: nothing moves back


async def _id_of(svc: service.PoolService, name: str) -> str:
    return next(e.id for e in await svc.list_egresses() if e.name == name)


async def test_an_unreachable_egress_loses_its_accounts_and_gets_new_ones_after_cooling(
    egress_pool: EgressPool,
) -> None:
    egress_pool.settings = egress_settings(
        egress={"unreachable_threshold": 2, "challenge_cooldown_seconds": 60}
    )
    svc = await egress_pool.replica()
    await svc.add_egress(name="a")
    await svc.add_egress(name="b")
    ids = await _accounts(svc, 4)
    on_a = [i for i in ids if await _egress_of(svc, i) == "a"]
    for account in on_a[:2]:  # two accounts: the egress's streak, not one account's
        lease = await svc.acquire(model="grok-4", account_id=account)
        await svc.release(lease, outcome=Outcome.TRANSIENT)
    listed = {e.name: e for e in await svc.list_egresses()}
    assert listed["a"].state is egresses.EgressState.UNREACHABLE
    assert (listed["a"].bound_accounts, listed["b"].bound_accounts) == (0, 4)
    assert listed["a"].last_error

    # every egress down: a new account has none until a cooldown ends
    await svc.update_egress("b", enabled=False)
    newcomer = (await svc.upsert_account(credential=_cred(77))).account_id
    assert await _bound(svc) == {"a": 0, "b": 0}
    egress_pool.clock.advance(61)
    assert await svc.egress.binder.rebind_if_changed() > 0
    assert await _egress_of(svc, newcomer) == "a"
    assert await svc.egress.binder.rebind_if_changed() == 0  # nothing changed since


async def test_a_challenge_counts_against_the_egress_never_the_account(
    egress_pool: EgressPool,
) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a")
    (account,) = await _accounts(svc, 1)
    for _ in range(5):
        lease = await svc.acquire(model="grok-4")
        await svc.release(lease, outcome=Outcome.CHALLENGE)
    view = await svc.get_account(account)
    assert view.status is AccountStatus.ACTIVE and view.fail_count == 0
    (listed,) = await svc.list_egresses()
    assert (listed.calls, listed.challenges, listed.challenge_rate) == (5, 5, 1.0)


async def test_a_lease_carries_its_egress_route(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    added = await svc.add_egress(
        name="eu", proxy_url="socks5h://u:p@127.0.0.3:1080", browser="chrome131",
        user_agent="UA-egress", clearance_cookies="cf_clearance=abc; __cf_bm=def",
    )  # fmt: skip
    await _accounts(svc, 1)
    lease = await svc.acquire(model="grok-4")
    route = lease.egress
    assert route is not None
    assert (route.egress_id, route.name, route.proxy_url, route.browser) == (
        added.id, "eu", "socks5h://u:p@127.0.0.3:1080", "chrome131",
    )  # fmt: skip
    assert route.clearance_cookies == "cf_clearance=abc; __cf_bm=def"
    assert route.user_agent == "UA-egress"  # the clearance was pasted for it
    # a new clearance obtained with another user agent: the route follows it
    await svc.update_egress("eu", clearance_cookies="cf_clearance=new", user_agent="UA-2")
    await svc.release(lease, outcome=Outcome.SUCCESS)
    again = await svc.acquire(model="grok-4")
    assert again.egress is not None and again.egress.user_agent == "UA-2"
    assert again.egress.clearance_cookies == "cf_clearance=new"


async def test_without_egresses_leases_carry_none(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await _accounts(svc, 1)
    assert await svc.list_egresses() == ()
    assert (await svc.acquire(model="grok-4")).egress is None


async def test_another_replica_applies_a_change_on_the_notice(egress_pool: EgressPool) -> None:
    first = await egress_pool.replica(background=True)
    second = await egress_pool.replica(background=True)
    reloaded = asyncio.Event()
    reload = second.egress.reload

    async def reload_and_tell() -> None:
        await reload()
        reloaded.set()

    second.egress.reload = reload_and_tell  # type: ignore[method-assign]
    await first.add_egress(name="a")
    await _accounts(first, 2)
    added = await first.add_egress(name="b")
    await first.update_egress("a", enabled=False)
    # the second replica reloads on each notice
    while second.egress.registry.get(added.id) is None or any(
        e.enabled for e in second.egress.registry.all() if e.name == "a"
    ):
        await reloaded.wait()
        reloaded.clear()
    lease = await second.acquire(model="grok-4")
    assert lease.egress is not None and lease.egress.name == "b"


async def test_a_replica_that_has_not_heard_of_an_egress_yet_loads_it_for_the_lease(
    egress_pool: EgressPool,
) -> None:
    first = await egress_pool.replica()
    second = await egress_pool.replica()  # no background work: it never hears the notice
    await first.add_egress(name="late", proxy_url="http://127.0.0.5:3128")
    await _accounts(first, 1)
    lease = await second.acquire(model="grok-4")
    assert lease.egress is not None and lease.egress.name == "late"
    assert lease.egress.proxy_url == "http://127.0.0.5:3128"
    await first.add_egress(name="later")
    refreshed = await second.refresh_clearance("later")  # found by name all the same
    assert refreshed.result is egresses.RefreshResult.NO_SOLVER


async def test_releasing_a_lease_twice_counts_one_call_through_its_egress(
    egress_pool: EgressPool,
) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a")
    await _accounts(svc, 1)
    lease = await svc.acquire(model="grok-4")
    for _ in range(2):
        await svc.release(lease, outcome=Outcome.CHALLENGE)
    (listed,) = await svc.list_egresses()
    assert (listed.calls, listed.challenges) == (1, 1)


async def test_retagging_an_egress_moves_the_accounts_it_no_longer_serves(
    egress_pool: EgressPool,
) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a")
    await svc.add_egress(name="b")
    plain = await _accounts(svc, 2)
    european = (await svc.upsert_account(credential=_cred(60), tags=["eu"])).account_id
    await svc.update_egress("a", tags=["eu"])
    await svc.update_egress("b", tags=["us"])
    assert await _egress_of(svc, european) == "a"
    with pytest.raises(errors.PoolExhausted):  # neither serves untagged accounts now
        await svc.acquire(model="grok-4", account_id=plain[0])


async def test_an_egress_cap_limits_the_leases_through_it(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a", max_inflight=1)
    await _accounts(svc, 2)
    held = await svc.acquire(model="grok-4")
    with pytest.raises(errors.PoolExhausted) as refused:
        await svc.acquire(model="grok-4")
    assert refused.value.reason is errors.ExhaustedReason.ALL_BUSY
    await svc.update_egress("a", max_inflight=0)  # no cap: the other account is leased
    other = await svc.acquire(model="grok-4")
    assert other.account_id != held.account_id


async def test_a_new_proxy_forgets_the_clearance_it_had(egress_pool: EgressPool) -> None:
    svc = await egress_pool.replica()
    await svc.add_egress(name="a", proxy_url="http://127.0.0.5:1", clearance_cookies="abc")
    (listed,) = await svc.list_egresses()
    assert listed.clearance is not None and listed.state is egresses.EgressState.HEALTHY
    moved = await svc.update_egress("a", proxy_url="http://127.0.0.6:1")
    assert moved.clearance is None and moved.state is egresses.EgressState.NO_CLEARANCE


async def test_a_live_settings_change_rebuilds_the_settings_egress(
    egress_pool: EgressPool,
) -> None:
    svc = await egress_pool.replica()
    (account,) = await _accounts(svc, 1)
    assert await svc.list_egresses() == ()
    egress_pool.settings = egress_settings(network={"base_proxy_url": "http://127.0.0.7:3128"})
    await svc.egress.maintain()
    (legacy,) = await svc.list_egresses()
    assert (legacy.name, legacy.from_settings, legacy.bound_accounts) == ("default", True, 1)
    assert legacy.proxy_masked == "http://127.0.0.7:3128"
    lease = await svc.acquire(model="grok-4", account_id=account)
    assert lease.egress is not None and lease.egress.proxy_url == "http://127.0.0.7:3128"
