"""Split deployment: ``UsageLog`` → ``RedisUsageQueue`` (real Redis) → ``UsageDrainer`` →
a SQL store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from gateway.usage_log import (
    Backoff,
    RedisUsageQueue,
    UsageDrainer,
    UsageKeys,
    UsageLog,
    codec,
    metrics,
    usage_pipeline,
)
from grok2api_storage import protocols
from usage_support import (
    CountingStore,
    TcpForwarder,
    eventually,
    live_settings,
    make_record,
    metric,
    newest_per_key,
    storage_support,
    stored,
)


@pytest.fixture
def keys(redis_prefix: str) -> UsageKeys:
    return UsageKeys(prefix=redis_prefix)


async def _backlog(redis: aioredis.Redis, keys: UsageKeys) -> int:
    return int(await redis.llen(keys.pending))  # type: ignore[misc]


async def test_records_go_through_redis_into_the_store(
    sql_store_any: protocols.Store,
    redis_client: aioredis.Redis,
    keys: UsageKeys,
    tmp_path: Path,
) -> None:
    store = sql_store_any
    key_id = (await store.client_keys.create(name="k")).record.id
    settings = live_settings(tmp_path)
    usage_log = UsageLog(RedisUsageQueue(redis_client, keys=keys), settings=settings)
    drainer = UsageDrainer(redis_client, store, settings=settings, keys=keys, batch_size=200)
    records = [make_record(n, key_id=key_id if n % 2 else None) for n in range(777)]
    usage_log.start()
    drainer.start()
    try:
        for record in records:
            usage_log.record(record)

        async def drained() -> bool:
            return await _backlog(redis_client, keys) == 0 and len(await stored(store)) == len(
                records
            )

        await eventually(drained, what="every record drained into the store")
    finally:
        await usage_log.aclose()
        await drainer.aclose()
    assert await _backlog(redis_client, keys) == 0
    assert sorted(await stored(store), key=lambda r: r.id) == sorted(records, key=lambda r: r.id)
    key = await store.client_keys.get(key_id)
    assert key is not None and key.last_used_at == newest_per_key(records)[key_id]
    assert await redis_client.exists(keys.drain_lock) == 0


class SimulatedCrash(Exception):
    pass


async def test_a_drainer_dying_between_write_and_trim_leaves_the_batch_to_the_next(
    pg_store: protocols.Store, redis_client: aioredis.Redis, keys: UsageKeys, tmp_path: Path
) -> None:
    settings = live_settings(tmp_path)
    records = [make_record(n) for n in range(120)]
    await RedisUsageQueue(redis_client, keys=keys).write(records)
    first_store, second_store = CountingStore(pg_store), CountingStore(pg_store)
    dying = UsageDrainer(redis_client, first_store, settings=settings, keys=keys, lock_ttl=0.5)

    async def crash(**_: Any) -> int:
        raise SimulatedCrash

    async def vanish() -> None:  # a dead process releases nothing
        return None

    dying._trim = crash  # type: ignore[assignment]
    dying._lock.release = vanish  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        await dying.drain()
    assert len(await stored(pg_store)) == 120
    assert await _backlog(redis_client, keys) == 120

    written_before = metric(metrics.WRITTEN, "store")
    successor = UsageDrainer(redis_client, second_store, settings=settings, keys=keys)
    assert await successor.drain() == 0  # the dead drainer's lock has not expired yet
    taken = 0

    async def drained_after_expiry() -> bool:
        nonlocal taken
        taken += await successor.drain()
        return taken == 120

    await eventually(drained_after_expiry, what="the next drainer taking over after the TTL")
    assert await _backlog(redis_client, keys) == 0
    assert second_store.written == first_store.written  # every record written again...
    assert sorted(r.id for r in await stored(pg_store)) == sorted(r.id for r in records)
    assert metric(metrics.WRITTEN, "store") == written_before  # ...and stored only once


async def test_two_drainers_at_once_write_every_record_exactly_once(
    pg_store: protocols.Store, keys: UsageKeys, tmp_path: Path
) -> None:
    settings = live_settings(tmp_path, flush_interval_seconds=0.01)
    counting = CountingStore(pg_store)
    clients = [aioredis.Redis.from_url(storage_support.REDIS_URL) for _ in range(2)]
    logs = [
        UsageLog(RedisUsageQueue(c, keys=keys), settings=settings, batch_size=40) for c in clients
    ]
    drainers = [
        UsageDrainer(c, counting, settings=settings, keys=keys, batch_size=50, poll_interval=0.005)
        for c in clients
    ]
    records = [make_record(n) for n in range(3_000)]
    for usage_log in logs:
        usage_log.start()
    for drainer in drainers:
        drainer.start()
    try:
        for n, record in enumerate(records):
            logs[n % 2].record(record)
            if n % 100 == 0:
                await asyncio.sleep(0)

        async def drained() -> bool:
            return sum(counting.written.values()) >= len(records)

        await eventually(drained, what="every record drained")
    finally:
        for log_ in logs:
            await log_.aclose()
        for drainer in drainers:
            await drainer.aclose()
        for client in clients:
            await client.aclose()
    assert set(counting.written) == {r.id for r in records}
    assert set(counting.written.values()) == {1}
    assert len(await stored(pg_store)) == len(records)


async def test_store_unreachable_the_list_grows_then_drains(
    pg_store_via_forwarder: protocols.Store,
    forwarder: TcpForwarder,
    redis_client: aioredis.Redis,
    keys: UsageKeys,
    tmp_path: Path,
) -> None:
    store = pg_store_via_forwarder
    settings = live_settings(tmp_path)
    usage_log = UsageLog(RedisUsageQueue(redis_client, keys=keys), settings=settings)
    drainer = UsageDrainer(
        redis_client, store, settings=settings, keys=keys, batch_size=100,
        backoff=Backoff(initial=0.05, cap=0.2),
    )  # fmt: skip
    usage_log.start()
    drainer.start()
    records = [make_record(n) for n in range(500)]
    try:
        failures = metric(metrics.DRAIN_FAILURES, "store")
        forwarder.cut()
        for record in records:
            usage_log.record(record)

        async def piled_up() -> bool:
            return (
                await _backlog(redis_client, keys) == len(records)
                and metric(metrics.DRAIN_FAILURES, "store") >= failures + 2
            )

        await eventually(piled_up, what="the list holding every record while the store is away")
        assert usage_log.buffered == 0 and usage_log.dropped == 0
        forwarder.restore()

        async def drained() -> bool:
            return await _backlog(redis_client, keys) == 0

        await eventually(drained, what="the backlog drained once the store is back")
    finally:
        await usage_log.aclose()
        await drainer.aclose()
    assert sorted(r.id for r in await stored(store)) == sorted(r.id for r in records)


async def test_malformed_entries_are_skipped_and_counted(
    pg_store: protocols.Store, redis_client: aioredis.Redis, keys: UsageKeys, tmp_path: Path
) -> None:
    good = [make_record(n) for n in range(3)]
    await redis_client.rpush(  # type: ignore[misc]
        keys.pending, codec.encode(good[0]), b"{not json", b'{"id": "x"}',
        codec.encode(good[1]), codec.encode(good[2]),
    )  # fmt: skip
    before = metric(metrics.DROPPED, "malformed")
    drainer = UsageDrainer(redis_client, pg_store, settings=live_settings(tmp_path), keys=keys)
    assert await drainer.drain() == 5
    assert metric(metrics.DROPPED, "malformed") == before + 2
    assert sorted(r.id for r in await stored(pg_store)) == sorted(r.id for r in good)


@pytest.mark.parametrize("split", [False, True], ids=["single_process", "split"])
async def test_usage_pipeline_wires_either_mode(
    split: bool,
    pg_store: protocols.Store,
    redis_client: aioredis.Redis,
    keys: UsageKeys,
    tmp_path: Path,
) -> None:
    records = [make_record(n) for n in range(50)]
    async with usage_pipeline(
        live_settings(tmp_path, flush_interval_seconds=60),
        pg_store,
        redis=redis_client if split else None,
        keys=keys,
    ) as usage_log:
        for record in records:
            usage_log.record(record)
    # Closing wrote the buffer out: to the store, or to the list for the drainers.
    if split:
        assert await _backlog(redis_client, keys) == 50
        drainer = UsageDrainer(redis_client, pg_store, settings=live_settings(tmp_path), keys=keys)
        assert await drainer.drain() == 50
    assert sorted(r.id for r in await stored(pg_store)) == sorted(r.id for r in records)
