"""Grants: a ``RedisLimitStore`` serving a key far from its limits admits most requests from
admissions it took from Redis in advance, without a round trip, and the limits still hold
exactly across replicas. ``RunCounting`` records the operations of every script run."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from gateway.access.limits import Admitted, KeyCounters, Limit, Refused
from gateway.access.redis_grants import GRANT_MAX, GRANT_SECONDS
from gateway.access.redis_limits import RedisLimitStore
from grok2api_storage.records import ClientKeyLimits, QuotaUnit

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()
FAR = ClientKeyLimits(rate_limit_per_minute=1000, max_concurrent=1000, daily_quota=10**6)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class RunCounting(RedisLimitStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[list[str]] = []
        self.hold_run: int | None = None
        """The run (1 for the first) that, once answered, waits for ``gate``."""
        self.gate = asyncio.Event()
        self.holding = asyncio.Event()

    async def _run(self, ops: list[list[Any]]) -> list[Any]:
        self.runs.append([op[0] for op in ops])  # "a" admit, "r" release, "g" grant return
        number = len(self.runs)
        answers = await super()._run(ops)
        if number == self.hold_run:
            self.holding.set()
            await self.gate.wait()
        return answers


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _replica(
    redis_client: aioredis.Redis, redis_prefix: str, clock: Clock
) -> AsyncIterator[RunCounting]:
    backend = RunCounting(redis_client, prefix=redis_prefix, clock=clock)
    try:
        yield backend
    finally:
        await backend.aclose()


store = pytest.fixture(_replica, name="store")
other = pytest.fixture(_replica, name="other")  # a second replica on the same Redis and prefix


async def admitted(store: RedisLimitStore, limits: ClientKeyLimits, units: int = 1) -> Admitted:
    answer = await store.admit("key-a", limits, units=units)
    assert isinstance(answer, Admitted), answer
    return answer


def counters(last_minute: int, in_flight: int, today: int, month: int = 0) -> KeyCounters:
    return KeyCounters(
        requests_last_minute=last_minute,
        in_flight=in_flight,
        used_today=today,
        used_this_month=month,
    )


async def test_a_key_far_from_its_limits_is_admitted_locally_after_the_first_admit(
    store: RunCounting, other: RunCounting
) -> None:
    held = [await admitted(store, FAR) for _ in range(GRANT_MAX)]
    assert store.runs == [["a"]]  # the first admit brought 31 more with it
    assert len({answer.slot for answer in held}) == GRANT_MAX
    await admitted(store, FAR)  # the grant is used up: to Redis again (and a new grant)
    assert store.runs == [["a"], ["a"]]
    # Another replica sees the whole grant as taken; this one counts only what it lent.
    assert await other.counters("key-a") == counters(2 * GRANT_MAX, 2 * GRANT_MAX, 2 * GRANT_MAX)
    assert await store.counters("key-a") == counters(GRANT_MAX + 1, GRANT_MAX + 1, GRANT_MAX + 1)


async def test_a_slot_released_while_its_grant_lives_is_lent_again_without_redis(
    store: RunCounting,
) -> None:
    limits = ClientKeyLimits(max_concurrent=1000)
    await admitted(store, limits)
    for _ in range(100):
        await store.release(await admitted(store, limits))
    await store.flush()
    assert store.runs == [["a"]]
    assert (await store.counters("key-a")).in_flight == 1


async def test_a_key_near_its_limit_gets_no_grant_and_refuses_exactly_at_n(
    store: RunCounting,
) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=40)
    went_to_redis = []
    for _ in range(40):
        runs = len(store.runs)
        await admitted(store, limits)
        went_to_redis.append(len(store.runs) > runs)
    assert not all(went_to_redis)  # far from the limit, grants served some
    # Fewer than 8 left (1/GRANT_SHARE of what remains would be below one): each of the last
    # seven admissions, and the refusal, went to Redis.
    assert went_to_redis[-7:] == [True] * 7
    runs = len(store.runs)
    assert await store.admit("key-a", limits, units=1) == Refused(
        Limit.REQUESTS_PER_MINUTE, 40, 60.0
    )
    assert len(store.runs) == runs + 1
    assert (await store.counters("key-a")).requests_last_minute == 40


async def test_a_small_limit_never_gets_a_grant(store: RunCounting) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=8, max_concurrent=8, daily_quota=8)
    for _ in range(8):
        await admitted(store, limits)
    assert isinstance(await store.admit("key-a", limits, units=1), Refused)
    assert store.runs == [["a"]] * 9


async def test_a_burst_refused_by_redis_is_served_by_the_stores_own_grant(
    store: RunCounting,
) -> None:
    """The grant taken by the first admit holds slots the others, queued behind it, could
    not get from Redis; they are this store's, so it lends them."""
    limits = ClientKeyLimits(max_concurrent=20)
    answers = await asyncio.gather(*(store.admit("key-a", limits, units=1) for _ in range(40)))
    assert [isinstance(answer, Admitted) for answer in answers] == [True] * 20 + [False] * 20
    assert (await store.counters("key-a")).in_flight == 20


async def test_the_grant_returns_unused_entries_slots_and_units_when_it_ends(
    store: RunCounting, other: RunCounting
) -> None:
    first = await admitted(store, FAR)
    lent = await admitted(store, FAR)
    assert await other.counters("key-a") == counters(GRANT_MAX, GRANT_MAX, GRANT_MAX)
    # An idle key's grant goes back by itself, GRANT_SECONDS after it was taken.
    async with asyncio.timeout(GRANT_SECONDS + 5):
        while (await other.counters("key-a")).in_flight != 2:  # noqa: ASYNC110 (Redis, no event)
            await asyncio.sleep(0.05)
    assert await other.counters("key-a") == counters(2, 2, 2)
    # A slot lent before the end is an ordinary slot now, released in Redis.
    await store.release(lent)
    await store.release(first)
    await store.flush()
    assert await other.counters("key-a") == counters(2, 0, 2)


async def test_aclose_returns_the_grants(
    redis_client: aioredis.Redis, redis_prefix: str, clock: Clock, other: RunCounting
) -> None:
    closing = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    held = await admitted(closing, FAR, units=3)
    await closing.aclose()
    assert held.slot
    assert await other.counters("key-a") == counters(1, 1, 3)


async def test_a_grant_expired_by_the_clock_is_not_used(store: RunCounting, clock: Clock) -> None:
    await admitted(store, FAR)
    clock.now += GRANT_SECONDS
    await admitted(store, FAR)
    # The expired grant went back in the same run as the admit that replaced it.
    assert store.runs == [["a"], ["g", "a"]]
    assert await store.counters("key-a") == counters(2, 2, 2)


async def test_a_changed_limit_drops_the_grant(store: RunCounting, other: RunCounting) -> None:
    await admitted(store, FAR)
    await admitted(store, FAR)
    lowered = ClientKeyLimits(rate_limit_per_minute=40, max_concurrent=1000, daily_quota=10**6)
    await admitted(store, lowered)
    assert store.runs == [["a"], ["g", "a"]]
    assert await other.counters("key-a") == counters(3 + 4, 3 + 4, 3 + 4)  # the new grant: 4


async def test_day_rollover_does_not_use_a_grant_of_the_previous_day(
    store: RunCounting, other: RunCounting, clock: Clock
) -> None:
    limits = ClientKeyLimits(daily_quota=10**6, quota_unit=QuotaUnit.COST)
    clock.now = datetime(2026, 3, 11, tzinfo=UTC).timestamp() - GRANT_SECONDS / 2
    before = await admitted(store, limits, units=2)
    clock.now += GRANT_SECONDS * 3 / 4  # the grant still lives, but a new day began
    after = await admitted(store, limits, units=2)
    assert (before.day, after.day) == ("2026-03-10", "2026-03-11")
    assert store.runs == [["a"], ["g", "a"]]
    assert (await store.counters("key-a")).used_today == 2
    clock.now -= GRANT_SECONDS * 3 / 4
    assert (await other.counters("key-a")).used_today == 2  # the 10th got its units back


async def test_an_admit_cancelled_after_it_was_sent_returns_its_grant(
    store: RunCounting, other: RunCounting
) -> None:
    store.hold_run = 2
    first = asyncio.create_task(store.admit("key-z", FAR, units=1))  # sent alone
    await asyncio.sleep(0)
    late = asyncio.create_task(store.admit("key-a", FAR, units=1))  # queued behind it
    assert isinstance(await first, Admitted)
    async with asyncio.timeout(10):
        await store.holding.wait()  # late's run was answered: admitted, with a grant
    late.cancel()
    store.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await late
    await store.flush()
    # Slot and grant came back; the admission's own entry and units stay taken.
    assert await other.counters("key-a") == counters(1, 0, 1)


async def hammer(
    store: RedisLimitStore, limits: ClientKeyLimits, workers: int, seen: dict[str, int]
) -> dict[str, int]:
    """``workers`` loops of 20 admits each (1, 2, 3, 1, ... units), holding each admission
    a millisecond; ``seen`` counts admissions in flight across every store hammering."""
    result = {"admitted": 0, "refused": 0, "units": 0}

    async def worker() -> None:
        for index in range(20):
            units = 1 + index % 3
            answer = await store.admit("key-a", limits, units=units)
            if not isinstance(answer, Admitted):
                result["refused"] += 1
                await asyncio.sleep(0)
                continue
            result["admitted"] += 1
            result["units"] += units
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
            await asyncio.sleep(0.001)
            seen["now"] -= 1
            await store.release(answer)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return result


@pytest.mark.parametrize(
    ("limits", "workers"),
    [
        # 2 x 32 x 20 admits for 600 a minute and 1000 units (about 2 each) a day.
        (ClientKeyLimits(rate_limit_per_minute=600, max_concurrent=1000, daily_quota=1000), 32),
        # 2 x 48 workers for 64 slots.
        (ClientKeyLimits(rate_limit_per_minute=10**5, max_concurrent=64, daily_quota=10**6), 48),
    ],
    ids=["rpm-and-quota", "concurrency"],
)
async def test_two_replicas_with_grants_never_exceed_any_limit(
    redis_prefix: str, clock: Clock, limits: ClientKeyLimits, workers: int
) -> None:
    clients = [aioredis.Redis.from_url("redis://127.0.0.1:6379/0") for _ in range(2)]
    stores = [RunCounting(client, prefix=redis_prefix, clock=clock) for client in clients]
    seen = {"now": 0, "max": 0}
    try:
        results = await asyncio.gather(*(hammer(store, limits, workers, seen) for store in stores))
        for store in stores:
            await store.aclose()
        admissions = sum(result["admitted"] for result in results)
        spent = sum(result["units"] for result in results)
        assert limits.rate_limit_per_minute and limits.daily_quota and limits.max_concurrent
        assert admissions <= limits.rate_limit_per_minute and spent <= limits.daily_quota
        assert seen["max"] <= limits.max_concurrent
        refused = sum(result["refused"] for result in results)
        assert refused > 0 and all(result["admitted"] > 0 for result in results)
        sent = sum(run.count("a") for store in stores for run in store.runs)
        assert sent < admissions + refused  # some admissions were lent by grants
        # Every grant went back: Redis holds exactly what was admitted and spent.
        assert await RedisLimitStore(clients[0], prefix=redis_prefix, clock=clock).counters(
            "key-a"
        ) == counters(admissions, 0, spent)
    finally:
        for store in stores:
            await store.aclose()
        for client in clients:
            await client.aclose()


CRASHING = """
import asyncio, os, sys
sys.path.insert(0, sys.argv[1])
import limits_hammer  # noqa: F401  (loads the limit store without the storage package)
import redis.asyncio as aioredis
from gateway.access.redis_limits import RedisLimitStore
from grok2api_storage.records import ClientKeyLimits

async def main():
    client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    store = RedisLimitStore(client, prefix=sys.argv[2], clock=lambda: float(sys.argv[3]),
                            slot_ttl=30)
    limits = ClientKeyLimits(rate_limit_per_minute=1000, max_concurrent=1000,
                             daily_quota=10**6)
    for _ in range(3):
        await store.admit("key-a", limits, units=1)
    os._exit(0)  # dies holding its grant and three slots

asyncio.run(main())
"""


async def test_a_replica_dying_with_a_grant_leaves_only_stricter_state_and_its_slots_expire(
    other: RunCounting, redis_prefix: str, clock: Clock
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING, str(Path(__file__).parent), redis_prefix, repr(T0)
    )
    async with asyncio.timeout(60):
        assert await child.wait() == 0
    # The whole grant stays counted: more than the three admitted, never less.
    assert await other.counters("key-a") == counters(GRANT_MAX, GRANT_MAX, GRANT_MAX)
    clock.now = T0 + 30  # slot_ttl after the last refresh: every slot is reclaimed
    assert (await other.counters("key-a")).in_flight == 0
    clock.now = T0 + 60  # the admission has left the window, the grant's entries not yet
    assert (await other.counters("key-a")).requests_last_minute == GRANT_MAX - 1
    clock.now = T0 + GRANT_SECONDS + 60
    assert (await other.counters("key-a")).requests_last_minute == 0
    assert (await other.counters("key-a")).used_today == GRANT_MAX  # at most 31 units over
