"""Clearance through real proxies: the simulator's Cloudflare front sees each tinyproxy as its
own exit address, and the simulator's FlareSolverr-compatible solver obtains clearances
through them. Run on both hot-state backends (two replicas share one Redis for the
one-solver-call test)."""

from __future__ import annotations

import asyncio

import pytest
from egress_harness import EgressPool, egress_settings
from egress_proxies import Credentials, RunningProxy
from grok2api_poolclient import egresses, errors
from grok2api_poolclient.egress import grok_egress
from grok2api_poolclient.leases import Outcome
from grok_sim.solver import SOLVER_USER_AGENT
from grok_sim.testing import SimHandle, SolverHandle
from grok_web import client as grok_client
from grok_web import options as grok_options
from token_pool import service

CREDENTIALS = Credentials(username="egress-user", password="pr0xy-s3cret")
ACCOUNT = "sim-egress-account-" + "t" * 24


def _settings(sim: SimHandle, solver: SolverHandle | None, **egress: object):  # type: ignore[no-untyped-def]
    sections: dict[str, object] = {"network": {"base_url": sim.base_url}}
    sections["egress"] = {"solver_url": solver.base_url if solver else "", **egress}
    return egress_settings(**sections)


def _solves(solver: SolverHandle, proxy: RunningProxy) -> int:
    return int(solver.stats()["solves"].get(proxy.url(with_credentials=False), 0))


async def _test_one(svc: service.PoolService, name: str) -> egresses.EgressTest:
    results = [r async for r in svc.test_egresses([name])]
    assert results[-1].finished and results[-1].total == 1
    return results[0]


async def test_a_challenge_refreshes_the_clearance_through_the_egress_on_demand(
    egress_pool: EgressPool, sim: SimHandle, solver: SolverHandle, start_tinyproxy
) -> None:
    sim.add_account(ACCOUNT)
    sim.require_clearance()
    proxy = start_tinyproxy("127.0.0.21", credentials=CREDENTIALS)
    egress_pool.settings = _settings(sim, solver)
    svc = await egress_pool.replica()
    await svc.add_egress(name="px", proxy_url=proxy.url())

    before = await _test_one(svc, "px")
    assert (before.ok, before.challenged, before.status) == (False, True, 403)
    assert "grok2api egress refresh px" in before.message

    await svc.upsert_account(credential=ACCOUNT)
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.CHALLENGE)  # as a gateway reports it
    await svc.egress.clearance.settled()

    assert sim.clearances_issued("127.0.0.21") == 1
    (listed,) = await svc.list_egresses()
    assert listed.clearance is not None and listed.clearance.source == "solver"
    assert listed.clearance.user_agent == SOLVER_USER_AGENT
    assert listed.state is egresses.EgressState.HEALTHY

    after = await _test_one(svc, "px")
    assert (after.ok, after.challenged, after.status) == (True, False, 200), after.message
    assert (await svc.list_egresses())[0].latency_ms > 0

    # a call under a lease leaves through the proxy with the clearance's user agent
    lease = await svc.acquire(model="grok-4")
    assert lease.egress is not None and lease.egress.user_agent == SOLVER_USER_AGENT
    options = grok_options.ClientOptions.from_settings(egress_pool.settings)
    async with grok_client.GrokClient(options=options) as grok:
        limits = await grok.rate_limits(credential=ACCOUNT, mode="auto", egress=grok_egress(lease))
    assert limits.remaining >= 0
    await svc.release(lease, outcome=Outcome.SUCCESS)
    seen = sim.requests("/rest/rate-limits")[-1]
    assert seen["client"] == "127.0.0.21"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    major = SOLVER_USER_AGENT.split("Chrome/")[1].split(".")[0]
    assert headers["user-agent"] == SOLVER_USER_AGENT  # the clearance's, hints to match
    assert f'v="{major}"' in headers["sec-ch-ua"] and headers["x-statsig-id"]


async def test_two_replicas_refreshing_one_egress_at_once_ask_the_solver_once(
    egress_pool: EgressPool, sim: SimHandle, solver: SolverHandle, start_tinyproxy
) -> None:
    proxy = start_tinyproxy("127.0.0.22")
    egress_pool.settings = _settings(sim, solver)
    first = await egress_pool.replica()
    second = await egress_pool.replica()
    await first.add_egress(name="px", proxy_url=proxy.url())
    await second.egress.reload()  # as the notice would make it
    solves = _solves(solver, proxy)

    answers = await asyncio.gather(first.refresh_clearance("px"), second.refresh_clearance("px"))

    assert sorted(a.result for a in answers) == [
        egresses.RefreshResult.FRESH, egresses.RefreshResult.REFRESHED,
    ]  # fmt: skip
    assert _solves(solver, proxy) == solves + 1
    assert sim.clearances_issued("127.0.0.22") == 1


async def test_an_egress_challenged_again_after_a_fresh_clearance_cools_and_its_accounts_move(
    egress_pool: EgressPool, sim: SimHandle, solver: SolverHandle, start_tinyproxy
) -> None:
    flagged = start_tinyproxy("127.0.0.23")
    spare = start_tinyproxy("127.0.0.24")
    egress_pool.settings = _settings(sim, solver, challenge_limit=2)
    svc = await egress_pool.replica()
    await svc.add_egress(name="flagged", proxy_url=flagged.url())
    for n in range(4):
        await svc.upsert_account(credential=f"{ACCOUNT}-{n}")
    await svc.add_egress(name="spare", proxy_url=spare.url())  # sticky: takes none yet
    assert (await svc.refresh_clearance("flagged")).result is egresses.RefreshResult.REFRESHED
    solves = _solves(solver, flagged)

    for _ in range(2):  # the fresh clearance does not help: the address is flagged
        lease = await svc.acquire(model="grok-4")
        assert lease.egress is not None and lease.egress.name == "flagged"
        await svc.release(lease, outcome=Outcome.CHALLENGE)
    await svc.egress.clearance.settled()

    listed = {e.name: e for e in await svc.list_egresses()}
    assert listed["flagged"].state is egresses.EgressState.COOLING
    assert (listed["flagged"].bound_accounts, listed["spare"].bound_accounts) == (0, 4)
    assert _solves(solver, flagged) == solves  # a clearance that fresh is not asked again
    lease = await svc.acquire(model="grok-4")
    assert lease.egress is not None and lease.egress.name == "spare"


async def test_a_failing_solver_keeps_the_old_clearance_and_says_why(
    egress_pool: EgressPool, sim: SimHandle, solver: SolverHandle, start_tinyproxy
) -> None:
    proxy = start_tinyproxy("127.0.0.25")
    egress_pool.settings = _settings(sim, solver)
    svc = await egress_pool.replica()
    await svc.add_egress(name="px", proxy_url=proxy.url(), clearance_cookies="cf_clearance=old")
    egress_pool.clock.advance(60)  # the pasted clearance is no longer fresh
    solver.fail_next(message="Challenge not solved")

    done = await svc.refresh_clearance("px")

    assert done.result is egresses.RefreshResult.FAILED and "Challenge not solved" in done.message
    (listed,) = await svc.list_egresses()
    assert listed.clearance is not None and listed.clearance.source == "manual"
    assert "Challenge not solved" in listed.last_error


async def test_the_settings_proxy_and_clearance_form_a_read_only_egress_until_one_is_added(
    egress_pool: EgressPool, sim: SimHandle, solver: SolverHandle, start_tinyproxy
) -> None:
    sim.require_clearance()
    proxy = start_tinyproxy("127.0.0.26")
    settings = _settings(sim, solver)
    egress_pool.settings = settings.model_copy(update={
        "network": settings.network.model_copy(update={"base_proxy_url": proxy.url()}),
        "security": settings.security.model_copy(update={"cf_clearance": "pasted-value"}),
    })  # fmt: skip
    svc = await egress_pool.replica()
    await svc.upsert_account(credential=ACCOUNT)

    (legacy,) = await svc.list_egresses()
    assert (legacy.id, legacy.name, legacy.from_settings) == ("settings", "default", True)
    assert legacy.proxy_masked == proxy.url() and legacy.bound_accounts == 1
    assert legacy.clearance is not None and legacy.clearance.source == "settings"
    lease = await svc.acquire(model="grok-4")
    assert lease.egress is not None and lease.egress.proxy_url == proxy.url()
    assert lease.egress.clearance_cookies == "cf_clearance=pasted-value"
    await svc.release(lease, outcome=Outcome.SUCCESS)
    for change in (svc.update_egress("default", enabled=False), svc.remove_egress("settings")):
        with pytest.raises(errors.InvalidRequest, match="settings"):
            await change

    # the solver works for it too (kept by each replica, as the settings are)
    assert (await svc.refresh_clearance("default")).result is egresses.RefreshResult.REFRESHED
    assert (await _test_one(svc, "default")).ok

    added = await svc.add_egress(name="stored")
    (only,) = await svc.list_egresses()
    assert (only.id, only.from_settings, only.bound_accounts) == (added.id, False, 1)
