"""``grok2api_jobs.leadership``: one holder of a Redis lease among replicas, renewed while it
lives, handed over when it leaves or stops renewing."""

from __future__ import annotations

import redis.asyncio as aioredis
from grok2api_jobs import leadership


def _lease(redis: aioredis.Redis, prefix: str, ttl: float = 30.0) -> leadership.RedisLeadership:
    return leadership.RedisLeadership(redis, key=f"{prefix}leader", ttl_seconds=ttl)


async def test_only_one_replica_holds_the_lease(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    first, second = _lease(redis_client, redis_prefix), _lease(redis_client, redis_prefix)

    assert await first.hold()
    assert not await second.hold()
    assert await first.hold()  # renewed
    assert not await second.hold()


async def test_renewing_pushes_the_expiry_back(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    lease = _lease(redis_client, redis_prefix, ttl=30.0)
    assert await lease.hold()
    await redis_client.pexpire(f"{redis_prefix}leader", 500)  # most of its time used up

    assert await lease.hold()

    assert await redis_client.pttl(f"{redis_prefix}leader") > 25_000


async def test_a_released_lease_goes_to_the_next_replica_that_asks(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    first, second = _lease(redis_client, redis_prefix), _lease(redis_client, redis_prefix)
    assert await first.hold()

    await first.release()

    assert not first.held
    assert await second.hold()


async def test_a_holder_whose_lease_was_taken_over_learns_it_at_its_next_hold(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    stalled, other = _lease(redis_client, redis_prefix), _lease(redis_client, redis_prefix)
    assert await stalled.hold()
    await redis_client.delete(f"{redis_prefix}leader")  # expired while it was paused
    assert await other.hold()

    assert not await stalled.hold()
    await stalled.release()  # not its lease any more: the other keeps it
    assert await other.hold()


async def test_an_unreachable_redis_means_not_holding_it() -> None:
    unreachable = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        lease = leadership.RedisLeadership(unreachable, key="leader", ttl_seconds=30)
        assert not await lease.hold()
        await lease.release()  # nothing held, nothing to do
    finally:
        await unreachable.aclose()


async def test_the_sole_replica_always_holds_it() -> None:
    sole = leadership.SoleLeadership()
    assert await sole.hold()
    await sole.release()
    assert await sole.hold()
