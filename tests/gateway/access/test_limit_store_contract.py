"""The per-key limit store's contract, run against both backends (in-process, Redis), on an
injected clock; then what only Redis does (slot expiry and refresh, a lost connection)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from gateway.access.limits import Admitted, KeyCounters, Limit, LimitStore, Refused
from gateway.access.memory_limits import MemoryLimitStore
from gateway.access.redis_limits import RedisLimitStore
from grok2api_storage.records import ClientKeyLimits, QuotaUnit
from redis import exceptions as redis_errors


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


T0 = at(2026, 3, 10, 12)


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest,
    clock: FakeClock,
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> AsyncIterator[LimitStore]:
    backend: LimitStore
    if request.param == "memory":
        backend = MemoryLimitStore(clock=clock)
    else:
        backend = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    try:
        yield backend
    finally:
        await backend.aclose()


async def admitted(store: LimitStore, limits: ClientKeyLimits, units: int = 1) -> Admitted:
    answer = await store.admit("key-a", limits, units=units)
    assert isinstance(answer, Admitted), answer
    return answer


async def refused(store: LimitStore, limits: ClientKeyLimits, units: int = 1) -> Refused:
    answer = await store.admit("key-a", limits, units=units)
    assert isinstance(answer, Refused), answer
    return answer


def counters(
    last_minute: int = 0, in_flight: int = 0, today: int = 0, month: int = 0
) -> KeyCounters:
    return KeyCounters(
        requests_last_minute=last_minute,
        in_flight=in_flight,
        used_today=today,
        used_this_month=month,
    )


# --- no limits -----------------------------------------------------------------------------


async def test_a_key_without_limits_is_always_admitted_and_holds_nothing(
    store: LimitStore,
) -> None:
    for _ in range(5):
        answer = await admitted(store, ClientKeyLimits(), units=7)
        assert answer == Admitted(key_id="key-a", slot="", units=7, day="", month="")
        await store.release(answer, refund=True)
    assert await store.counters("key-a") == counters()


async def test_an_unknown_key_has_zero_counters(store: LimitStore) -> None:
    assert await store.counters("never-seen") == counters()


async def test_negative_units_are_a_caller_error(store: LimitStore) -> None:
    with pytest.raises(ValueError):
        await store.admit("key-a", ClientKeyLimits(daily_quota=5), units=-1)


# --- requests per minute -------------------------------------------------------------------


async def test_rpm_admits_n_in_a_rolling_minute_and_says_when_the_oldest_leaves(
    store: LimitStore, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=3)
    for offset in (0, 10, 20):
        clock.now = T0 + offset
        await admitted(store, limits)
    clock.now = T0 + 30
    assert await refused(store, limits) == Refused(Limit.REQUESTS_PER_MINUTE, 3, 30.0)
    clock.now = T0 + 59.5
    assert (await refused(store, limits)).retry_after == 0.5
    clock.now = T0 + 60  # the first admission has left the window
    await admitted(store, limits)
    # The window is rolling, not a calendar minute: the one at T0+10 leaves next.
    assert await refused(store, limits) == Refused(Limit.REQUESTS_PER_MINUTE, 3, 10.0)
    assert await store.counters("key-a") == counters(last_minute=3)


async def test_rpm_counts_requests_not_units(store: LimitStore) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=2, quota_unit=QuotaUnit.COST)
    await admitted(store, limits, units=50)
    await admitted(store, limits, units=50)
    assert (await refused(store, limits, units=1)).limit is Limit.REQUESTS_PER_MINUTE


async def test_an_rpm_of_zero_refuses_for_a_whole_window(store: LimitStore) -> None:
    assert await refused(store, ClientKeyLimits(rate_limit_per_minute=0)) == Refused(
        Limit.REQUESTS_PER_MINUTE, 0, 60.0
    )


async def test_releasing_does_not_give_back_an_rpm_admission(store: LimitStore) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=1)
    await store.release(await admitted(store, limits), refund=True)
    assert (await refused(store, limits)).limit is Limit.REQUESTS_PER_MINUTE


# --- concurrency ---------------------------------------------------------------------------


async def test_concurrency_admits_c_in_flight_and_a_release_frees_one(store: LimitStore) -> None:
    limits = ClientKeyLimits(max_concurrent=2)
    first = await admitted(store, limits)
    second = await admitted(store, limits)
    assert first.slot and second.slot and first.slot != second.slot
    assert await refused(store, limits) == Refused(Limit.CONCURRENT_REQUESTS, 2, 1.0)
    assert (await store.counters("key-a")).in_flight == 2
    await store.release(first)
    third = await admitted(store, limits)
    assert await refused(store, limits) == Refused(Limit.CONCURRENT_REQUESTS, 2, 1.0)
    await store.release(second)
    await store.release(third)
    assert await store.counters("key-a") == counters()


async def test_a_request_in_flight_holds_its_slot_however_long_it_runs_when_refreshed(
    store: LimitStore, clock: FakeClock
) -> None:
    """Time alone never frees a slot of a live store (Redis: the refresher's job, done here
    by hand; in memory: slots have no expiry)."""
    limits = ClientKeyLimits(max_concurrent=1)
    held = await admitted(store, limits)
    for _ in range(10):
        clock.now += 20
        if isinstance(store, RedisLimitStore):
            assert await store.refresh_slots() == 1
        assert (await refused(store, limits)).limit is Limit.CONCURRENT_REQUESTS
    await store.release(held)
    await admitted(store, limits)


# --- daily and monthly quotas --------------------------------------------------------------


async def test_a_daily_quota_counts_units_and_refuses_until_the_next_utc_day(
    store: LimitStore, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(daily_quota=10, quota_unit=QuotaUnit.COST)
    await admitted(store, limits, units=4)
    await admitted(store, limits, units=4)
    # 12:00 UTC: twelve hours to the next day.
    assert await refused(store, limits, units=3) == Refused(Limit.DAILY_QUOTA, 10, 12 * 3600.0)
    await admitted(store, limits, units=2)  # exactly fills it
    assert await store.counters("key-a") == counters(today=10)
    assert (await refused(store, limits, units=1)).limit is Limit.DAILY_QUOTA
    await admitted(store, limits, units=0)  # a free request still passes a full quota


async def test_a_daily_quota_renews_at_utc_midnight(store: LimitStore, clock: FakeClock) -> None:
    limits = ClientKeyLimits(daily_quota=1)
    clock.now = at(2026, 3, 10, 23, 59, 59) + 0.5
    await admitted(store, limits)
    assert await refused(store, limits) == Refused(Limit.DAILY_QUOTA, 1, 0.5)
    clock.now = at(2026, 3, 11)
    await admitted(store, limits)
    assert await store.counters("key-a") == counters(today=1)


async def test_a_monthly_quota_refuses_until_the_next_utc_month(
    store: LimitStore, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(monthly_quota=5)
    clock.now = at(2026, 2, 28, 23, 59, 58)
    await admitted(store, limits, units=5)
    assert await refused(store, limits) == Refused(Limit.MONTHLY_QUOTA, 5, 2.0)
    clock.now = at(2026, 3, 1)
    await admitted(store, limits, units=5)
    assert await store.counters("key-a") == counters(month=5)
    # Mid-month: the answer is the whole way to the 1st of April.
    clock.now = at(2026, 3, 15)
    assert await refused(store, limits) == Refused(
        Limit.MONTHLY_QUOTA, 5, at(2026, 4, 1) - at(2026, 3, 15)
    )


async def test_the_december_month_ends_at_the_new_year(store: LimitStore, clock: FakeClock) -> None:
    limits = ClientKeyLimits(monthly_quota=1)
    clock.now = at(2026, 12, 31, 23)
    await admitted(store, limits)
    assert await refused(store, limits) == Refused(Limit.MONTHLY_QUOTA, 1, 3600.0)
    clock.now = at(2027, 1, 1)
    await admitted(store, limits)


async def test_a_refund_gives_the_units_back(store: LimitStore) -> None:
    limits = ClientKeyLimits(daily_quota=10, monthly_quota=100, quota_unit=QuotaUnit.COST)
    spent = await admitted(store, limits, units=4)
    assert await store.counters("key-a") == counters(today=4, month=4)
    await store.release(spent, refund=True)
    assert await store.counters("key-a") == counters()
    await admitted(store, limits, units=10)


async def test_a_release_without_refund_keeps_the_units_spent(store: LimitStore) -> None:
    limits = ClientKeyLimits(daily_quota=10)
    await store.release(await admitted(store, limits, units=4))
    assert await store.counters("key-a") == counters(today=4)


async def test_a_refund_after_midnight_lands_in_the_day_it_was_charged_to(
    store: LimitStore, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(daily_quota=10, quota_unit=QuotaUnit.COST)
    clock.now = at(2026, 3, 10, 23, 59, 50)
    yesterday = await admitted(store, limits, units=6)
    assert yesterday.day == "2026-03-10"
    clock.now = at(2026, 3, 11, 0, 0, 10)
    today = await admitted(store, limits, units=10)
    assert today.day == "2026-03-11"
    await store.release(yesterday, refund=True)
    # Today stays full: the refund went to the 10th.
    assert (await refused(store, limits)).limit is Limit.DAILY_QUOTA
    assert await store.counters("key-a") == counters(today=10)
    clock.now = at(2026, 3, 10, 23, 59, 55)  # looking back at the 10th: nothing left used
    assert await store.counters("key-a") == counters(today=0)


async def test_a_refund_after_the_month_ended_lands_in_the_month_charged(
    store: LimitStore, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(daily_quota=100, monthly_quota=10, quota_unit=QuotaUnit.COST)
    clock.now = at(2026, 3, 31, 23, 59, 59)
    march = await admitted(store, limits, units=3)
    assert (march.day, march.month) == ("2026-03-31", "2026-03")
    clock.now = at(2026, 4, 1, 0, 1)
    april = await admitted(store, limits, units=10)
    await store.release(march, refund=True)
    assert (await refused(store, limits)).limit is Limit.MONTHLY_QUOTA
    assert await store.counters("key-a") == counters(today=10, month=10)
    await store.release(april, refund=True)
    assert await store.counters("key-a") == counters()


async def test_a_refund_never_leaves_a_counter_below_zero(store: LimitStore) -> None:
    limits = ClientKeyLimits(daily_quota=10)
    spent = await admitted(store, limits, units=3)
    await store.release(spent, refund=True)
    await store.release(spent, refund=True)  # a caller bug: refunded twice
    assert await store.counters("key-a") == counters()
    await admitted(store, limits, units=10)
    assert (await refused(store, limits)).limit is Limit.DAILY_QUOTA


async def test_the_admission_names_the_periods_it_charged_and_only_those(
    store: LimitStore, clock: FakeClock
) -> None:
    clock.now = at(2026, 12, 7, 8)
    both = await admitted(store, ClientKeyLimits(daily_quota=5, monthly_quota=50))
    assert (both.day, both.month, both.slot) == ("2026-12-07", "2026-12", "")
    daily_only = await admitted(store, ClientKeyLimits(daily_quota=5, rate_limit_per_minute=9))
    assert (daily_only.day, daily_only.month) == ("2026-12-07", "")


# --- all or nothing ------------------------------------------------------------------------

EVERYTHING = ClientKeyLimits(
    rate_limit_per_minute=3,
    max_concurrent=3,
    daily_quota=10,
    monthly_quota=100,
    quota_unit=QuotaUnit.COST,
)


async def test_a_quota_refusal_takes_nothing_from_the_other_limits(store: LimitStore) -> None:
    await admitted(store, EVERYTHING, units=4)
    await admitted(store, EVERYTHING, units=4)
    assert (await refused(store, EVERYTHING, units=3)).limit is Limit.DAILY_QUOTA
    assert await store.counters("key-a") == counters(last_minute=2, in_flight=2, today=8, month=8)
    await admitted(store, EVERYTHING, units=2)  # rpm and concurrency still had room for one


async def test_an_rpm_refusal_takes_nothing_from_the_other_limits(
    store: LimitStore, clock: FakeClock
) -> None:
    for _ in range(3):
        await store.release(await admitted(store, EVERYTHING, units=1))
    assert (await refused(store, EVERYTHING, units=1)).limit is Limit.REQUESTS_PER_MINUTE
    assert await store.counters("key-a") == counters(last_minute=3, today=3, month=3)


async def test_a_concurrency_refusal_takes_nothing_from_the_other_limits(
    store: LimitStore,
) -> None:
    limits = ClientKeyLimits(
        rate_limit_per_minute=10, max_concurrent=1, daily_quota=10, monthly_quota=10
    )
    await admitted(store, limits, units=2)
    assert (await refused(store, limits, units=2)).limit is Limit.CONCURRENT_REQUESTS
    assert await store.counters("key-a") == counters(last_minute=1, in_flight=1, today=2, month=2)


async def test_when_several_limits_refuse_the_answer_is_the_one_lifting_last(
    store: LimitStore, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(
        rate_limit_per_minute=1, max_concurrent=1, daily_quota=1, monthly_quota=1
    )
    clock.now = at(2026, 3, 31, 23, 0)
    await admitted(store, limits)
    # All four refuse; the month ends at the same moment as the day, and is listed last.
    assert await refused(store, limits) == Refused(Limit.DAILY_QUOTA, 1, 3600.0)
    # Half a minute before midnight the day lifts first, so the rolling minute is the answer.
    rpm_and_day = ClientKeyLimits(rate_limit_per_minute=1, daily_quota=1)
    clock.now = at(2026, 3, 31, 23, 59, 30)
    assert isinstance(await store.admit("key-b", rpm_and_day, units=1), Admitted)
    answer = await store.admit("key-b", rpm_and_day, units=1)
    assert answer == Refused(Limit.REQUESTS_PER_MINUTE, 1, 60.0)


async def test_keys_are_independent(store: LimitStore) -> None:
    limits = ClientKeyLimits(rate_limit_per_minute=1, max_concurrent=1, daily_quota=1)
    await admitted(store, limits)
    assert isinstance(await store.admit("key-a", limits, units=1), Refused)
    other = await store.admit("key-b", limits, units=1)
    assert isinstance(other, Admitted)
    assert await store.counters("key-b") == counters(last_minute=1, in_flight=1, today=1)
    await store.release(other, refund=True)
    assert await store.counters("key-a") == counters(last_minute=1, in_flight=1, today=1)


# --- Redis only ----------------------------------------------------------------------------


async def keys_under(redis_client: aioredis.Redis, prefix: str) -> set[str]:
    return {key.decode() async for key in redis_client.scan_iter(match=f"{prefix}*")}


async def test_redis_touches_only_the_limits_a_key_has(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    store = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    await store.release(await admitted(store, ClientKeyLimits(), units=3), refund=True)
    assert await keys_under(redis_client, redis_prefix) == set()
    await store.admit("key-a", ClientKeyLimits(daily_quota=5), units=1)
    assert await keys_under(redis_client, redis_prefix) == {f"{redis_prefix}key-a:d:2026-03-10"}
    await store.admit("key-b", ClientKeyLimits(rate_limit_per_minute=5), units=1)
    assert f"{redis_prefix}key-b:rpm" in await keys_under(redis_client, redis_prefix)
    assert len(await keys_under(redis_client, redis_prefix)) == 2
    await store.aclose()


async def test_redis_counters_expire_after_their_period_with_a_grace(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    store = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    clock.now = at(2026, 3, 10, 23)
    await admitted(store, ClientKeyLimits(daily_quota=5, monthly_quota=50))
    day_ttl = await redis_client.ttl(f"{redis_prefix}key-a:d:2026-03-10")
    month_ttl = await redis_client.ttl(f"{redis_prefix}key-a:m:2026-03")
    assert 3600 + 86_400 - 5 <= day_ttl <= 3600 + 86_400
    remaining_march = int(at(2026, 4, 1) - clock.now)
    assert remaining_march + 86_400 - 5 <= month_ttl <= remaining_march + 86_400
    await store.aclose()


async def test_a_dead_gateways_slot_is_reclaimed_after_slot_ttl(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(max_concurrent=1)
    live = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock, slot_ttl=30)
    dead = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock, slot_ttl=30)
    try:
        await admitted(dead, limits)
        await dead.aclose()  # the gateway dies with its request in flight, never releasing
        assert (await refused(live, limits)).limit is Limit.CONCURRENT_REQUESTS
        clock.now = T0 + 29.5
        assert (await refused(live, limits)).limit is Limit.CONCURRENT_REQUESTS
        assert (await live.counters("key-a")).in_flight == 1
        clock.now = T0 + 30
        assert (await live.counters("key-a")).in_flight == 0
        mine = await admitted(live, limits)
        assert await redis_client.zcard(f"{redis_prefix}key-a:slots") == 1  # the dead one is gone
        await live.release(mine)
    finally:
        await live.aclose()


async def test_a_refresh_does_not_bring_back_a_slot_already_reclaimed(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    limits = ClientKeyLimits(max_concurrent=1)
    stalled = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock, slot_ttl=30)
    other = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock, slot_ttl=30)
    try:
        await admitted(stalled, limits)
        clock.now = T0 + 31  # the stalled gateway missed its refreshes
        await admitted(other, limits)
        assert await stalled.refresh_slots() == 1
        assert await redis_client.zcard(f"{redis_prefix}key-a:slots") == 1
        assert (await refused(other, limits)).limit is Limit.CONCURRENT_REQUESTS
    finally:
        await stalled.aclose()
        await other.aclose()


async def test_the_background_refresher_keeps_live_slots_past_slot_ttl(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    # slot_ttl is in the injected clock's seconds; the refresher sleeps slot_ttl/3 real
    # seconds between refreshes, so it is small here. Binary fractions keep sums exact.
    limits = ClientKeyLimits(max_concurrent=1)
    live = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock, slot_ttl=0.375)
    other = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock, slot_ttl=0.375)
    slots = f"{redis_prefix}key-a:slots"
    try:
        held = await admitted(live, limits)
        assert await redis_client.zscore(slots, held.slot) == T0 + 0.375
        clock.now = T0 + 0.25
        async with asyncio.timeout(10):  # wait for a refresh (the store refreshes unprompted)
            while True:
                if await redis_client.zscore(slots, held.slot) == T0 + 0.625:
                    break
                await asyncio.sleep(0.01)
        clock.now = T0 + 0.5  # past the expiry the slot was admitted with
        assert (await refused(other, limits)).limit is Limit.CONCURRENT_REQUESTS
        await live.release(held)
        await live.flush()  # a release lands within RELEASE_LINGER_SECONDS; now, here
        await admitted(other, limits)
    finally:
        await live.aclose()
        await other.aclose()
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "limit-slot-refresher"]


async def test_a_store_without_concurrency_limits_runs_no_refresher(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    store = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    await admitted(store, ClientKeyLimits(rate_limit_per_minute=5, daily_quota=5))
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "limit-slot-refresher"]
    await store.aclose()


async def test_another_replica_sees_the_same_limits(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    second_client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    one = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    two = RedisLimitStore(second_client, prefix=redis_prefix, clock=clock)
    try:
        first = await admitted(one, EVERYTHING, units=4)
        assert await two.counters("key-a") == counters(last_minute=1, in_flight=1, today=4, month=4)
        await two.release(first, refund=True)  # any replica may release
        await two.flush()
        assert await one.counters("key-a") == counters(last_minute=1)
    finally:
        await one.aclose()
        await two.aclose()
        await second_client.aclose()


async def test_admit_on_an_unreachable_redis_raises_and_release_only_logs(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = RedisLimitStore(client, clock=clock)
    try:
        with pytest.raises(redis_errors.ConnectionError):
            await store.admit("key-a", ClientKeyLimits(max_concurrent=1), units=1)
        # No limits: no round trip, so Redis being away does not matter.
        assert isinstance(await store.admit("key-a", ClientKeyLimits(), units=1), Admitted)
        held = Admitted(key_id="key-a", slot="s-1", units=2, day="2026-03-10", month="2026-03")
        with caplog.at_level(logging.WARNING, logger="gateway.access.redis_limit_batches"):
            await store.release(held)
            await store.release(held, refund=True)
            await store.flush()
        assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
        assert "expires on its own" in caplog.records[0].getMessage()
    finally:
        await store.aclose()
        await client.aclose()


async def test_the_redis_store_reconnects_when_its_connection_was_cut(
    redis_client: aioredis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    # The store keeps one connection for its script runs; a Redis restart or a proxy timeout
    # cuts it. The next run reconnects (the client's retry policy), like any other command.
    store = RedisLimitStore(redis_client, prefix=redis_prefix, clock=clock)
    try:
        await admitted(store, EVERYTHING)
        held = store._wire.connection
        assert held is not None
        await held.send_command("CLIENT", "ID")
        connection_id = await held.read_response()
        assert await redis_client.client_kill_filter(_id=connection_id) == 1
        await redis_client.ping()  # by its answer, the loop has seen the cut connection close
        await admitted(store, EVERYTHING)
        assert (await store.counters("key-a")).in_flight == 2
    finally:
        await store.aclose()
