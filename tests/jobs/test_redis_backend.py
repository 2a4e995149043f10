"""What only the Redis Streams backend does: key layout, expiry, failure translation, and
waking a ``wait`` for the terminal event alone."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import pytest
import redis.asyncio as aioredis
from grok2api_jobs import QueueUnavailableError, RedisJobQueue, events
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


async def test_event_keys_expire_after_the_events_ttl(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix, events_ttl=120)
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({}))
    await queue.publish_event(job_id, events.result({}))

    events_ttl = await redis_client.ttl(f"{redis_prefix}job:{{{job_id}}}:events")
    done_ttl = await redis_client.ttl(f"{redis_prefix}job:{{{job_id}}}:done")

    assert 0 < events_ttl <= 120
    assert 0 < done_ttl <= 120


async def test_an_acked_job_leaves_the_jobs_stream(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    await queue.submit("test.echo", {})
    assert await redis_client.xlen(f"{redis_prefix}jobs") == 1

    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)
    await queue.ack(delivery)

    assert await redis_client.xlen(f"{redis_prefix}jobs") == 0


async def test_two_queue_objects_on_one_prefix_share_the_jobs(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    gateway = RedisJobQueue(redis_client, prefix=redis_prefix)
    worker = RedisJobQueue(redis_client, prefix=redis_prefix)
    job_id = await gateway.submit("test.echo", {"a": 1})

    [delivery] = await worker.claim(consumer="w1", count=1, block_ms=0)
    await worker.publish_event(job_id, events.result({"ok": True}))

    assert delivery.job.id == job_id
    assert (await gateway.wait(job_id, timeout=5)).data == {"ok": True}


async def test_the_consumer_group_is_recreated_when_the_stream_was_deleted(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    assert await queue.claim(consumer="w1", count=1, block_ms=0) == []
    await redis_client.delete(f"{redis_prefix}jobs")

    job_id = await queue.submit("test.echo", {})
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)

    assert delivery.job.id == job_id


async def test_an_unreachable_redis_raises_queue_unavailable_with_the_cause_chained() -> None:
    client = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    queue = RedisJobQueue(client, prefix="test:unreachable:")
    try:
        with pytest.raises(QueueUnavailableError) as caught:
            await queue.submit("test.echo", {})
        with pytest.raises(QueueUnavailableError):
            await queue.claim(consumer="w1", count=1, block_ms=0)
    finally:
        await client.aclose()

    assert caught.value.__cause__ is not None


async def _consumers(redis_client: aioredis.Redis, prefix: str) -> dict[str, int]:
    rows = await redis_client.xinfo_consumers(f"{prefix}jobs", "media-workers")
    return {_name(row["name"]): int(row["pending"]) for row in rows}


def _name(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_a_retired_consumer_leaves_the_group_but_never_with_a_job(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    await queue.submit("test.echo", {})
    await queue.submit("test.echo", {})
    assert await queue.claim(consumer="idle", count=1, block_ms=0) != []  # keeps its job
    [done] = await queue.claim(consumer="spare", count=1, block_ms=0)
    await queue.ack(done)
    assert await _consumers(redis_client, redis_prefix) == {"idle": 1, "spare": 0}

    await queue.retire(consumer="spare")
    await queue.retire(consumer="idle")  # still owns the job: kept, the job stays pending
    assert await _consumers(redis_client, redis_prefix) == {"idle": 1}

    [reclaimed] = await queue.reclaim_stale(consumer="heir", min_idle_ms=0, count=1)
    assert await queue.prune_consumers(min_idle_ms=0) == 1  # "idle" owns nothing now
    assert await _consumers(redis_client, redis_prefix) == {"heir": 1}
    await queue.ack(reclaimed)
    await queue.retire(consumer="heir")
    assert await _consumers(redis_client, redis_prefix) == {}


async def test_pruning_spares_consumers_active_within_the_idle_time(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix)
    await queue.submit("test.echo", {})
    [done] = await queue.claim(consumer="w1", count=1, block_ms=0)
    await queue.ack(done)
    assert await queue.prune_consumers(min_idle_ms=60_000) == 0
    assert await _consumers(redis_client, redis_prefix) == {"w1": 0}


async def test_every_write_gives_the_record_events_and_done_marker_a_fresh_ttl(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix, events_ttl=120)
    job_id = await queue.submit("test.echo", {})
    record_key = f"{redis_prefix}job:{{{job_id}}}:record"
    index_key = f"{redis_prefix}jobs:kind:test.echo"
    assert 0 < await redis_client.ttl(record_key) <= 120
    assert 0 < await redis_client.ttl(index_key) <= 2 * 120

    await redis_client.expire(record_key, 5)
    await queue.publish_event(job_id, events.progress({"progress": 1}))
    assert 5 < await redis_client.ttl(record_key) <= 120

    await queue.cancel(job_id)
    for suffix in ("record", "events", "done"):
        assert 0 < await redis_client.ttl(f"{redis_prefix}job:{{{job_id}}}:{suffix}") <= 120


async def test_delete_removes_the_record_and_index_entry_and_leaves_the_rest_to_expire(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix, events_ttl=120)
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({}))

    assert await queue.delete(job_id)

    keys = {_name(key) async for key in redis_client.scan_iter(match=f"{redis_prefix}*")}
    done, stream = f"{redis_prefix}job:{{{job_id}}}:done", f"{redis_prefix}job:{{{job_id}}}:events"
    assert keys == {f"{redis_prefix}jobs", done, stream}  # readers may still be catching up
    assert 0 < await redis_client.ttl(stream) <= 120 and 0 < await redis_client.ttl(done) <= 120


async def test_a_follower_holds_no_redis_connection_while_it_waits(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    pool = aioredis.BlockingConnectionPool.from_url(
        "redis://127.0.0.1:6379/0", max_connections=4, timeout=5
    )
    small = aioredis.Redis(connection_pool=pool)
    queue = RedisJobQueue(small, prefix=redis_prefix)
    job_ids = [await queue.submit("test.echo", {}) for _ in range(20)]
    try:
        waiting = [asyncio.create_task(queue.wait(job_id, timeout=10)) for job_id in job_ids]
        await asyncio.sleep(0.2)  # all 20 following, on a pool of 4 connections
        for job_id in job_ids:
            await queue.publish_event(job_id, events.result({"id": job_id}))

        finals = await asyncio.gather(*waiting)
    finally:
        await queue.aclose()
        await small.aclose()

    assert [final.data["id"] for final in finals] == job_ids


class CountingRedis(aioredis.Redis):
    """A client that counts the commands it sends, by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: collections.Counter[str] = collections.Counter()

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent[str(args[0]).upper()] += 1
        return await super().execute_command(*args, **options)


async def test_wait_reads_nothing_for_progress_events_and_wakes_for_the_terminal_one(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    publisher = RedisJobQueue(redis_client, prefix=redis_prefix)
    counting = CountingRedis(host="127.0.0.1", port=6379, db=0)
    waiter = RedisJobQueue(counting, prefix=redis_prefix)
    job_id = await publisher.submit("test.echo", {})
    try:
        waiting = asyncio.create_task(waiter.wait(job_id, timeout=10))
        await asyncio.sleep(0.1)  # subscribed, and its first read found no terminal event
        reads_before = counting.sent.copy()
        for percent in range(50):
            await publisher.publish_event(job_id, events.progress({"percent": percent}))
        await asyncio.sleep(0.1)
        assert counting.sent == reads_before  # 50 progress events, no read
        assert not waiting.done()

        await publisher.publish_event(job_id, events.result({"ok": True}))
        final = await asyncio.wait_for(waiting, timeout=0.5)  # announced, not polled
    finally:
        await waiter.aclose()
        await counting.aclose()

    assert final.data == {"ok": True}


async def test_listing_prunes_the_index_entries_of_expired_jobs(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix, events_ttl=60)
    index_key = f"{redis_prefix}jobs:kind:test.echo"
    ids = [await queue.submit("test.echo", {}) for _ in range(3)]
    await redis_client.delete(f"{redis_prefix}job:{{{ids[1]}}}:record")  # as if expired

    listed = await queue.records("test.echo")

    assert [record.id for record in listed] == [ids[2], ids[0]]
    assert await _members(redis_client, index_key) == {ids[0], ids[2]}


async def test_a_submit_drops_index_entries_older_than_the_horizon(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    queue = RedisJobQueue(redis_client, prefix=redis_prefix, events_ttl=60)
    index_key = f"{redis_prefix}jobs:kind:test.echo"
    ancient = "0" * 32
    await redis_client.zadd(index_key, {ancient: 1.0})

    job_id = await queue.submit("test.echo", {})

    assert await _members(redis_client, index_key) == {job_id}


async def _members(redis_client: aioredis.Redis, key: str) -> set[str]:
    members: list[bytes] = await redis_client.zrange(key, 0, -1)  # type: ignore[assignment]
    return {_name(member) for member in members}
