"""The pool's background loops stop when the pool closes, even when a Redis call loses the
cancel (redis-py on Python 3.11 can return normally from a cancelled command; see
grok2api_jobs.cancellation)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from grok2api_storage import protocols
from pool_harness import Clock, Pool
from token_pool import background
from token_pool.hot import memory, redis_state


class LosesCancels(memory.MemoryHotState):
    """Every reclaim is slow, and a cancel that reaches it is swallowed."""

    def __init__(self) -> None:
        super().__init__()
        self.reclaims = 0
        self.reclaiming = asyncio.Event()

    async def reclaim(self, *, now: float) -> int:
        self.reclaims += 1
        self.reclaiming.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # as redis-py does when the answer raced the cancel
        return 0


async def test_closing_stops_a_loop_whose_redis_call_lost_the_cancel(
    store: protocols.Store,
) -> None:
    hot = LosesCancels()

    async def factory() -> memory.MemoryHotState:
        return hot

    pool = Pool(store=store, hot_factory=factory, clock=Clock())
    await pool.replica(background=True, lease_ttl_seconds=0.2)  # the reaper runs at once
    async with asyncio.timeout(5):
        await hot.reclaiming.wait()
    async with asyncio.timeout(5):
        await pool.close()
    assert hot.reclaims == 1  # the lost cancel stopped the reaper: no second round


class _ConfirmationRacesTheCancel:
    """A pub/sub whose read swallows a cancel and returns the subscribe confirmation that
    raced it (as redis-py can), then would wait for a notice that never comes."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def subscribe(self, channel: str) -> None:
        return None

    async def listen(self) -> AsyncIterator[dict[str, object]]:
        while True:
            self.reading.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass
            yield {"type": "subscribe", "data": 1}

    async def aclose(self) -> None:
        return None


async def test_a_notice_subscription_stops_when_its_read_lost_the_cancel() -> None:
    pubsub = _ConfirmationRacesTheCancel()

    class FakeRedis:
        def register_script(self, source: str) -> object:
            return object()

        def pubsub(self) -> _ConfirmationRacesTheCancel:
            return pubsub

    hot = redis_state.RedisHotState(FakeRedis(), prefix="test")  # type: ignore[arg-type]

    async def follow() -> None:
        async for _ in hot.subscribe():
            pass

    follower = asyncio.create_task(follow())
    await pubsub.reading.wait()
    follower.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await follower


async def test_a_one_off_job_runs_once_at_a_time_and_finished_ones_are_let_go() -> None:
    jobs = background.BackgroundJobs()
    runs = 0
    release = asyncio.Event()

    async def reread() -> None:
        nonlocal runs
        runs += 1
        await release.wait()

    jobs.start_once("reread", reread)
    jobs.start_once("reread", reread)  # still running: not started twice
    await asyncio.sleep(0)
    assert runs == 1
    release.set()
    for _ in range(50):  # each finishes before the next is asked for
        await asyncio.sleep(0)
        jobs.start_once("reread", reread)
    await asyncio.sleep(0)
    assert runs == 51
    assert len(jobs._tasks) <= 1  # a long-running pool does not keep every finished one
    await jobs.aclose()
