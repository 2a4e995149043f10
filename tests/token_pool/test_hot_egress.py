"""Egress binding and per-egress caps in the hot state, on both backends (hot/base.py)."""

from __future__ import annotations

from grok2api_poolclient import errors
from grok2api_poolclient.leases import Outcome, Tier
from pool_harness import HotFactory
from token_pool import quotas
from token_pool.hot import base

NOW = 1_000_000.0


def acquire(n: int, *, exclude: frozenset[str] = frozenset()) -> base.AcquireParams:
    return base.AcquireParams(
        tiers=(Tier.BASIC,), mode="auto", cost=1, exclude=exclude, lease_id=f"lease-{n}",
        now=NOW, expires_at=NOW + 60, max_inflight=10, policy="most_remaining",
        defaults=quotas.DEFAULT_WINDOWS,
    )  # fmt: skip


def release(lease_id: str, account_id: str) -> base.ReleaseParams:
    return base.ReleaseParams(
        lease_id=lease_id, account_id=account_id, mode="auto", cost=1,
        outcome=Outcome.SUCCESS, now=NOW, retry_after=None, figures=(), fail_threshold=3,
        default_window_seconds=7200,
    )  # fmt: skip


async def ready_hot(hot_factory: HotFactory, accounts: int) -> base.HotState:
    hot = await hot_factory()
    for n in range(accounts):
        await hot.put(base.AccountSeed(account_id=f"a{n}", tier=Tier.BASIC, base_status="active"))
    await hot.mark_ready()
    return hot


async def test_binds_accounts_evenly_and_keeps_them_where_they_are(
    hot_factory: HotFactory,
) -> None:
    hot = await ready_hot(hot_factory, 6)
    bound = [await hot.bind_egress(f"a{n}", candidates=["e1", "e2", "e3"]) for n in range(6)]
    assert sorted(bound) == ["e1", "e1", "e2", "e2", "e3", "e3"]  # type: ignore[type-var]
    # a new egress does not pull accounts away from healthy ones
    again = [await hot.bind_egress(f"a{n}", candidates=["e1", "e2", "e3", "e4"]) for n in range(6)]
    assert again == bound
    loads = await hot.egress_loads()
    assert {e: load.bound for e, load in loads.items()} == {"e1": 2, "e2": 2, "e3": 2}


async def test_moves_only_the_accounts_of_an_egress_that_left_the_candidates(
    hot_factory: HotFactory,
) -> None:
    hot = await ready_hot(hot_factory, 4)
    before = {f"a{n}": await hot.bind_egress(f"a{n}", candidates=["e1", "e2"]) for n in range(4)}
    after = {f"a{n}": await hot.bind_egress(f"a{n}", candidates=["e2", "e3"]) for n in range(4)}
    for account, egress in before.items():
        if egress == "e2":
            assert after[account] == "e2"
        else:
            assert after[account] == "e3"
    loads = await hot.egress_loads()
    assert loads["e1"].bound == 0 and loads["e2"].bound + loads["e3"].bound == 4


async def test_a_stored_binding_is_preferred_for_an_unbound_account(
    hot_factory: HotFactory,
) -> None:
    hot = await ready_hot(hot_factory, 2)
    assert await hot.bind_egress("a0", candidates=["e1", "e2"]) == "e1"
    assert await hot.bind_egress("a1", candidates=["e1", "e2"], prefer="e1") == "e1"
    assert await hot.bind_egress("nobody", candidates=["e1"]) is None


async def test_an_account_no_egress_serves_is_never_leased(hot_factory: HotFactory) -> None:
    hot = await ready_hot(hot_factory, 1)
    assert await hot.bind_egress("a0", candidates=[]) == base.NO_EGRESS
    [answer] = (await hot.run_batch(releases=(), acquires=[acquire(1)])).acquired
    assert isinstance(answer, errors.PoolExhausted)
    assert answer.reason is errors.ExhaustedReason.ALL_BUSY
    # a pool without egresses: the account leaves without one
    assert await hot.bind_egress("a0", candidates=[""]) == ""
    [answer] = (await hot.run_batch(releases=(), acquires=[acquire(2)])).acquired
    assert isinstance(answer, base.Reservation) and answer.egress_id == ""


async def test_a_lease_carries_the_egress_and_its_cap_makes_the_accounts_busy(
    hot_factory: HotFactory,
) -> None:
    hot = await ready_hot(hot_factory, 4)
    for n in range(4):
        await hot.bind_egress(f"a{n}", candidates=["e1", "e2"])
    await hot.set_egress_caps({"e1": 1, "e2": 2})
    result = await hot.run_batch(releases=(), acquires=[acquire(n) for n in range(4)])
    got = [a for a in result.acquired if isinstance(a, base.Reservation)]
    assert sorted(r.egress_id for r in got) == ["e1", "e2", "e2"]
    [refused] = [a for a in result.acquired if not isinstance(a, base.Reservation)]
    assert isinstance(refused, errors.PoolExhausted)
    assert refused.reason is errors.ExhaustedReason.ALL_BUSY
    loads = await hot.egress_loads()
    assert (loads["e1"].inflight, loads["e2"].inflight) == (1, 2)
    e1 = next(r for r in got if r.egress_id == "e1")
    await hot.run_batch(releases=[release("lease-" + _lease_of(result, e1), e1.account_id)],
                        acquires=())  # fmt: skip
    assert (await hot.egress_loads())["e1"].inflight == 0
    [again] = (await hot.run_batch(releases=(), acquires=[acquire(9)])).acquired
    assert isinstance(again, base.Reservation) and again.egress_id == "e1"


async def test_a_reclaimed_lease_gives_its_egress_slot_back(hot_factory: HotFactory) -> None:
    hot = await ready_hot(hot_factory, 1)
    await hot.bind_egress("a0", candidates=["e1"])
    await hot.set_egress_caps({"e1": 1})
    await hot.run_batch(releases=(), acquires=[acquire(1)])
    assert (await hot.egress_loads())["e1"].inflight == 1
    assert await hot.reclaim(now=NOW + 61) == 1
    assert (await hot.egress_loads())["e1"].inflight == 0


async def test_the_slot_goes_back_to_the_egress_it_was_taken_from(
    hot_factory: HotFactory,
) -> None:
    hot = await ready_hot(hot_factory, 1)
    await hot.bind_egress("a0", candidates=["e1"])
    [lease] = (await hot.run_batch(releases=(), acquires=[acquire(1)])).acquired
    assert isinstance(lease, base.Reservation)
    await hot.bind_egress("a0", candidates=["e2"])  # moved while the call runs
    await hot.run_batch(releases=[release("lease-1", "a0")], acquires=())
    loads = await hot.egress_loads()
    assert loads["e1"].inflight == 0 and loads.get("e2", base.EgressLoad(bound=1, inflight=0)) == (
        base.EgressLoad(bound=1, inflight=0)
    )
    assert (await hot.accounts(["a0"]))["a0"].egress_id == "e2"


async def test_removing_an_account_unbinds_it(hot_factory: HotFactory) -> None:
    hot = await ready_hot(hot_factory, 2)
    for n in range(2):
        await hot.bind_egress(f"a{n}", candidates=["e1"])
    await hot.remove("a0")
    assert (await hot.egress_loads())["e1"].bound == 1


def _lease_of(result: base.BatchResult, reservation: base.Reservation) -> str:
    return str(result.acquired.index(reservation))
