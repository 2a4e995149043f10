"""A call that outlasts the lease TTL keeps its slot: ``leased_stream`` renews the lease
against a real pool (both backends, real clock, the reaper running)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from grok2api_poolclient import errors, leases, leasing
from pool_harness import Pool

TTL = 0.6


@pytest.fixture
def clock() -> Callable[[], float]:
    return time.time  # the reaper and the renewal timer both run on real time


async def test_a_long_call_keeps_its_slot_past_the_ttl(pool: Pool) -> None:
    svc = await pool.replica(background=True, lease_ttl_seconds=TTL, max_inflight_per_account=1)
    await svc.upsert_account(credential="renewal-credential-" + "r" * 24)
    go_on = asyncio.Event()

    def opener(lease: leases.Lease) -> AsyncIterator[str]:
        async def run() -> AsyncIterator[str]:
            yield "first"
            await go_on.wait()
            yield "last"
        return run()

    stream = leasing.leased_stream(pool=svc, policy=leasing.RetryPolicy(), model="grok-4",
                                   opener=opener)
    assert await anext(stream) == "first"
    await asyncio.sleep(TTL * 2.5)  # the reaper sweeps every TTL/4: unrenewed, it would be gone
    with pytest.raises(errors.PoolExhausted) as caught:
        await svc.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.ALL_BUSY
    assert (await svc.stats()).leases_in_flight == 1
    go_on.set()
    assert [item async for item in stream] == ["last"]
    assert (await svc.stats()).leases_in_flight == 0
    await svc.acquire(model="grok-4")
