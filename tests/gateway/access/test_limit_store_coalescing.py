"""How ``RedisLimitStore`` coalesces calls: one script run per batch of admits and releases,
applied in arrival order. ``CountingStore`` records the operations of every run it sends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from gateway.access.limits import Admitted, Limit, Refused
from gateway.access.redis_limits import RedisLimitStore
from grok2api_storage.records import ClientKeyLimits, QuotaUnit
from redis import exceptions as redis_errors

NOW = 1_773_144_000.0  # 2026-03-10 12:00 UTC


class CountingStore(RedisLimitStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No grants unless asked: every admit goes to Redis, so its batching shows.
        kwargs.setdefault("grant_max", 1)
        super().__init__(*args, **kwargs)
        self.runs: list[list[str]] = []
        self.hold_run: int | None = None
        """The run (1 for the first) that, once answered, waits for ``gate``."""
        self.gate = asyncio.Event()
        self.holding = asyncio.Event()
        self.answered = asyncio.Event()
        """Set whenever a run was answered."""

    async def _run(self, ops: list[list[Any]]) -> list[Any]:
        self.runs.append([op[0] for op in ops])  # "a" for an admit, "r" for a release
        number = len(self.runs)
        answers = await super()._run(ops)
        self.answered.set()
        if number == self.hold_run:
            self.holding.set()
            await self.gate.wait()
        return answers


@pytest.fixture
async def store(redis_client: aioredis.Redis, redis_prefix: str) -> AsyncIterator[CountingStore]:
    backend = CountingStore(redis_client, prefix=redis_prefix, clock=lambda: NOW)
    try:
        yield backend
    finally:
        await backend.aclose()


HIGH = ClientKeyLimits(rate_limit_per_minute=1000, max_concurrent=1000, daily_quota=10**6)


async def test_an_admit_on_an_idle_store_goes_out_at_once_alone(store: CountingStore) -> None:
    first = await store.admit("key-a", HIGH, units=1)
    assert isinstance(first, Admitted)
    assert store.runs == [["a"]]  # sent and answered without waiting for company


async def test_a_release_rides_the_next_admits_round_trip(store: CountingStore) -> None:
    limits = ClientKeyLimits(max_concurrent=1, daily_quota=2, quota_unit=QuotaUnit.COST)
    first = await store.admit("key-a", limits, units=2)
    assert isinstance(first, Admitted)
    await store.release(first, refund=True)
    assert store.runs == [["a"]]  # release returned without a round trip of its own
    second = await store.admit("key-a", limits, units=2)
    # One run: the release first (slot and units back), then the admit that needs them.
    assert store.runs == [["a"], ["r", "a"]]
    assert isinstance(second, Admitted)
    counters = await store.counters("key-a")
    assert (counters.in_flight, counters.used_today) == (1, 2)


async def test_a_release_with_nothing_to_ride_goes_alone_after_its_linger(
    store: CountingStore,
) -> None:
    first = await store.admit("key-a", HIGH, units=1)
    assert isinstance(first, Admitted)
    await store.release(first)
    assert store.runs == [["a"]]
    store.answered.clear()
    async with asyncio.timeout(10):  # it waits RELEASE_LINGER_SECONDS, then goes by itself
        await store.answered.wait()
    assert store.runs == [["a"], ["r"]]
    assert await store._redis.zcard(f"{store._prefix}key-a:slots") == 0


async def test_flush_sends_the_lingering_releases_at_once(store: CountingStore) -> None:
    held = [await store.admit("key-a", HIGH, units=1) for _ in range(3)]
    for answer in held:
        assert isinstance(answer, Admitted)
        await store.release(answer)
    await store.flush()
    assert store.runs == [["a"], ["a"], ["a"], ["r", "r", "r"]]
    assert await store._redis.zcard(f"{store._prefix}key-a:slots") == 0


async def test_concurrent_admits_share_round_trips(store: CountingStore) -> None:
    answers = await asyncio.gather(*(store.admit("key-a", HIGH, units=1) for _ in range(50)))
    assert all(isinstance(answer, Admitted) for answer in answers)
    # The first went alone; the 49 made while it was in flight rode the next run together.
    assert [len(run) for run in store.runs] == [1, 49]
    counters = await store.counters("key-a")
    assert (counters.requests_last_minute, counters.in_flight, counters.used_today) == (50, 50, 50)
    slots = {answer.slot for answer in answers if isinstance(answer, Admitted)}
    assert len(slots) == 50


async def test_a_batch_holds_at_most_max_batch_ops(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = CountingStore(redis_client, prefix=redis_prefix, clock=lambda: NOW, max_batch_ops=16)
    try:
        answers = await asyncio.gather(*(store.admit("key-a", HIGH, units=1) for _ in range(50)))
        assert all(isinstance(answer, Admitted) for answer in answers)
        assert [len(run) for run in store.runs] == [1, 16, 16, 16, 1]
    finally:
        await store.aclose()


async def test_exactness_holds_inside_a_batch(store: CountingStore) -> None:
    limits = ClientKeyLimits(
        rate_limit_per_minute=30, max_concurrent=20, daily_quota=25, quota_unit=QuotaUnit.COST
    )
    answers = await asyncio.gather(*(store.admit("key-a", limits, units=1) for _ in range(40)))
    admitted = [answer for answer in answers if isinstance(answer, Admitted)]
    refused = [answer for answer in answers if isinstance(answer, Refused)]
    assert len(store.runs) == 2
    assert len(admitted) == 20  # in arrival order: the first 20, then the slots are gone
    assert answers[:20] == admitted
    assert {answer.limit for answer in refused} == {Limit.CONCURRENT_REQUESTS}
    counters = await store.counters("key-a")
    assert (counters.requests_last_minute, counters.in_flight, counters.used_today) == (20, 20, 20)


async def test_a_release_ahead_of_an_admit_in_one_batch_frees_its_slot_and_units(
    store: CountingStore,
) -> None:
    limits = ClientKeyLimits(max_concurrent=1, daily_quota=3, quota_unit=QuotaUnit.COST)
    held = await store.admit("key-a", limits, units=3)
    assert isinstance(held, Admitted)
    # The first call (another key) is sent alone; the release and the admit made while it is
    # in flight go together, in that order.
    _, _, after = await asyncio.gather(
        store.admit("key-z", limits, units=1),
        store.release(held, refund=True),
        store.admit("key-a", limits, units=3),
    )
    assert store.runs[1:] == [["a"], ["r", "a"]]
    assert isinstance(after, Admitted)
    counters = await store.counters("key-a")
    assert (counters.in_flight, counters.used_today) == (1, 3)


async def test_an_admit_ahead_of_a_release_in_one_batch_does_not_see_it(
    store: CountingStore,
) -> None:
    limits = ClientKeyLimits(max_concurrent=1)
    held = await store.admit("key-a", limits, units=1)
    assert isinstance(held, Admitted)
    _, before, _ = await asyncio.gather(
        store.admit("key-z", limits, units=1),
        store.admit("key-a", limits, units=1),
        store.release(held),
    )
    assert store.runs[1:] == [["a"], ["a", "r"]]
    assert before == Refused(Limit.CONCURRENT_REQUESTS, 1, 1.0)
    assert (await store.counters("key-a")).in_flight == 0


async def test_a_batch_mixing_two_keys_keeps_them_independent(store: CountingStore) -> None:
    tight = ClientKeyLimits(rate_limit_per_minute=2, daily_quota=100, quota_unit=QuotaUnit.COST)
    loose = ClientKeyLimits(max_concurrent=3, monthly_quota=10, quota_unit=QuotaUnit.COST)
    calls = [("key-z", tight, 1)]  # sent alone, so the rest share one batch
    for _ in range(4):
        calls += [("key-a", tight, 4), ("key-b", loose, 3)]
    answers = await asyncio.gather(*(store.admit(key, limits, units=n) for key, limits, n in calls))
    assert [len(run) for run in store.runs] == [1, 8]
    a_answers, b_answers = answers[1::2], answers[2::2]
    # key-a: two admits fill its rolling minute; the next two are refused by it.
    assert [type(answer) for answer in a_answers] == [Admitted, Admitted, Refused, Refused]
    assert {answer.limit for answer in a_answers if isinstance(answer, Refused)} == {
        Limit.REQUESTS_PER_MINUTE
    }
    # key-b: three slots of 3 units (9 of 10); the fourth is refused by slots and month at
    # once, reported as the month (it lifts last).
    assert [type(answer) for answer in b_answers] == [Admitted, Admitted, Admitted, Refused]
    assert isinstance(b_answers[3], Refused) and b_answers[3].limit is Limit.MONTHLY_QUOTA
    a, b = await store.counters("key-a"), await store.counters("key-b")
    assert (a.requests_last_minute, a.in_flight, a.used_today, a.used_this_month) == (2, 0, 8, 0)
    assert (b.requests_last_minute, b.in_flight, b.used_today, b.used_this_month) == (0, 3, 0, 9)


async def test_a_release_while_a_batch_is_in_flight_returns_at_once_and_rides_the_next(
    store: CountingStore,
) -> None:
    limits = ClientKeyLimits(max_concurrent=2)
    held = await store.admit("key-a", limits, units=1)
    assert isinstance(held, Admitted)
    in_flight = asyncio.create_task(store.admit("key-z", limits, units=1))
    await asyncio.sleep(0)  # its run is in flight
    await store.release(held)
    assert store.runs[1:] == [["a"]]  # the release returned before it was sent
    assert (await store.counters("key-a")).in_flight == 0  # counters waits for it to land
    assert store.runs[1:] == [["a"], ["r"]]
    assert isinstance(await in_flight, Admitted)


async def test_aclose_sends_the_releases_still_queued(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = CountingStore(redis_client, prefix=redis_prefix, clock=lambda: NOW)
    limits = ClientKeyLimits(max_concurrent=2)
    held = await store.admit("key-a", limits, units=1)
    assert isinstance(held, Admitted)
    in_flight = asyncio.create_task(store.admit("key-z", limits, units=1))
    await asyncio.sleep(0)
    await store.release(held)
    await store.aclose()
    assert store.runs[1:] == [["a"], ["r"]]
    assert await redis_client.zcard(f"{redis_prefix}key-a:slots") == 0
    assert isinstance(await in_flight, Admitted)


async def test_an_admit_cancelled_before_its_batch_is_sent_never_happens(
    store: CountingStore,
) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=10, max_concurrent=10)
    first = asyncio.create_task(store.admit("key-z", limits, units=1))
    await asyncio.sleep(0)
    dropped = asyncio.create_task(store.admit("key-a", limits, units=1))
    kept = asyncio.create_task(store.admit("key-a", limits, units=1))
    await asyncio.sleep(0)  # both queued behind the run in flight
    dropped.cancel()
    assert isinstance(await first, Admitted)
    assert isinstance(await kept, Admitted)
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert store.runs == [["a"], ["a"]]
    counters = await store.counters("key-a")
    assert (counters.requests_last_minute, counters.in_flight) == (1, 1)


async def test_an_admit_cancelled_after_its_batch_was_sent_gives_its_slot_back(
    store: CountingStore,
) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=10, max_concurrent=1)
    store.hold_run = 2
    first = asyncio.create_task(store.admit("key-z", limits, units=1))
    await asyncio.sleep(0)
    late = asyncio.create_task(store.admit("key-a", limits, units=1))
    assert isinstance(await first, Admitted)
    async with asyncio.timeout(10):
        await store.holding.wait()  # late's run was answered: the admit happened in Redis
    late.cancel()
    store.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await late
    counters = await store.counters("key-a")
    assert store.runs == [["a"], ["a"], ["r"]]
    # The slot came back in the next batch; the rolling-minute entry stays taken.
    assert (counters.requests_last_minute, counters.in_flight) == (1, 0)


async def test_a_failed_batch_raises_to_its_admits_and_only_logs_its_releases(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = RedisLimitStore(client, clock=lambda: NOW)
    held = Admitted(key_id="key-a", slot="s-1", units=2, day="2026-03-10", month="")
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.access.redis_limit_batches"):
            answers = await asyncio.gather(
                store.admit("key-a", ClientKeyLimits(max_concurrent=1), units=1),
                store.release(held, refund=True),
                store.admit("key-b", ClientKeyLimits(daily_quota=1), units=1),
                return_exceptions=True,
            )
            await store.aclose()
        assert isinstance(answers[0], redis_errors.ConnectionError)
        assert answers[1] is None  # the release was queued and returned
        assert isinstance(answers[2], redis_errors.ConnectionError)
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 1 and "key-a" in messages[0]
        assert "expires on its own" in messages[0]
    finally:
        await client.aclose()
