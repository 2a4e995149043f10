"""Proxy credentials and clearance cookies never leave the pool in a view, a repr, an error,
a test result or a log line; the egress metrics the metrics loop shows."""

from __future__ import annotations

import logging

import pytest
from egress_harness import EgressPool, egress_settings
from egress_proxies import Credentials
from grok2api_poolclient import errors
from grok2api_poolclient.leases import Outcome
from grok_sim.testing import SimHandle, SolverHandle
from prometheus_client import CollectorRegistry

PASSWORD = "pr0xy-s3cret-value"
COOKIE_VALUE = "clearance-cookie-secret-42"
CREDENTIALS = Credentials(username="egress-user", password=PASSWORD)


async def test_secrets_stay_out_of_views_results_errors_and_logs(
    egress_pool: EgressPool,
    sim: SimHandle,
    solver: SolverHandle,
    start_tinyproxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.require_clearance()
    proxy = start_tinyproxy("127.0.0.31", credentials=CREDENTIALS)
    egress_pool.settings = egress_settings(
        network={"base_url": sim.base_url}, egress={"solver_url": solver.base_url}
    )
    svc = await egress_pool.replica()
    shown: list[object] = []
    shown.append(await svc.add_egress(
        name="px", proxy_url=proxy.url(), clearance_cookies=f"cf_clearance={COOKIE_VALUE}",
    ))  # fmt: skip
    shown.append(await svc.add_egress(
        name="down", proxy_url=f"socks5h://user:{PASSWORD}@127.0.0.1:9",
    ))  # fmt: skip
    shown.extend(await svc.list_egresses())
    shown.extend([r async for r in svc.test_egresses(all_egresses=True)])
    shown.append(await svc.refresh_clearance("down"))  # the solver cannot reach it
    await svc.upsert_account(credential="secret-egress-account-" + "z" * 24)
    lease = await svc.acquire(model="grok-4")
    await svc.release(lease, outcome=Outcome.CHALLENGE)
    await svc.egress.clearance.settled()
    shown.extend(await svc.list_egresses())
    with pytest.raises(errors.InvalidRequest) as bad_url:
        await svc.add_egress(name="bad", proxy_url=f"ftp://user:{PASSWORD}@host:21")
    shown.append(bad_url.value)
    await svc.update_egress("down", proxy_url=f"http://user:{PASSWORD}@127.0.0.1:10")
    assert "egress_updated egress=down fields=proxy_url" in caplog.text

    text = " ".join(repr(s) for s in shown) + " " + caplog.text
    assert "egress_clearance_failed egress=down" in caplog.text  # the logs were captured
    assert f"egress_added egress=px proxy=http://127.0.0.1:{proxy.port}" in caplog.text
    for secret in (PASSWORD, COOKIE_VALUE):
        assert secret not in text
    down = next(s for s in shown if getattr(s, "name", "") == "down" and hasattr(s, "ok"))
    assert not down.ok and "127.0.0.1" not in down.message  # type: ignore[attr-defined]


async def test_the_metrics_loop_shows_bound_accounts_inflight_state_and_calls(
    egress_pool: EgressPool,
) -> None:
    registry = CollectorRegistry()
    svc = await egress_pool.replica(registry=registry)
    await svc.add_egress(name="a")
    await svc.add_egress(name="b", enabled=False)
    for n in range(3):
        await svc.upsert_account(credential=f"metrics-egress-account-{n}-" + "m" * 24)
    held = await svc.acquire(model="grok-4")
    done = await svc.acquire(model="grok-4")
    await svc.release(done, outcome=Outcome.CHALLENGE)

    assert await svc.report_metrics()

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("grok2api_pool_egress_bound_accounts", egress="a") == 3
    assert value("grok2api_pool_egress_bound_accounts", egress="b") == 0
    assert value("grok2api_pool_egress_inflight", egress="a") == 1
    assert value("grok2api_pool_egress_state", egress="a", state="no_clearance") == 1
    assert value("grok2api_pool_egress_state", egress="b", state="disabled") == 1
    assert value("grok2api_pool_egress_calls_total", egress="a", outcome="challenge") == 1
    assert value("grok2api_pool_egress_challenges_total", egress="a") == 1
    await svc.release(held, outcome=Outcome.SUCCESS)
    await svc.aclose()
    assert value("grok2api_pool_egress_bound_accounts", egress="a") is None  # handed over
