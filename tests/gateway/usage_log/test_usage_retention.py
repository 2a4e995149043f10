"""The hourly purge of usage records older than ``usage.retention_days`` (injected clock)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis
from gateway.usage_log import LocalGate, RetentionPurger, UsageDrainer, UsageKeys, write_to_store
from grok2api_storage import protocols
from usage_support import T0, live_settings, make_record, stored


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def _seed(store: protocols.Store) -> None:
    ages = {"d40": 40, "d31": 31, "d29": 29, "d0": 0}
    await write_to_store(
        store,
        [
            dataclasses.replace(make_record(n, at=T0 - timedelta(days=days)), request_id=name)
            for n, (name, days) in enumerate(ages.items())
        ],
    )


async def _names(store: protocols.Store) -> set[str]:
    return {r.request_id for r in await stored(store)}


async def test_one_drainer_per_hour_purges_what_is_older_than_the_retention(
    sql_store_any: protocols.Store,
    redis_client: aioredis.Redis,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    store = sql_store_any
    await _seed(store)
    clock = Clock()
    settings = live_settings(tmp_path, retention_days=30)
    keys = UsageKeys(prefix=redis_prefix)
    first, second = (
        UsageDrainer(redis_client, store, settings=settings, keys=keys, clock=clock)
        for _ in range(2)
    )
    assert await first.purger.purge_if_due() == 2
    assert await second.purger.purge_if_due() is None  # this hour's purge is done
    assert await _names(store) == {"d29", "d0"}

    clock.now = T0 + timedelta(minutes=59)
    assert await first.purger.purge_if_due() is None
    assert await second.purger.purge_if_due() is None
    clock.now = T0 + timedelta(days=1, hours=1)
    assert await second.purger.purge_if_due() == 1
    assert await first.purger.purge_if_due() is None
    assert await _names(store) == {"d0"}


async def test_single_process_purger_follows_the_live_retention(
    pg_store: protocols.Store, tmp_path: Path
) -> None:
    await _seed(pg_store)
    clock = Clock()
    settings = live_settings(tmp_path, retention_days=35)
    purger = RetentionPurger(pg_store.usage, settings=settings, gate=LocalGate(), clock=clock)
    assert await purger.purge_if_due() == 1
    assert await _names(pg_store) == {"d31", "d29", "d0"}
    settings.apply({"usage.retention_days": 30})
    assert await purger.purge_if_due() is None
    clock.now = T0 + timedelta(hours=1)
    assert await purger.purge_if_due() == 1
    assert await _names(pg_store) == {"d29", "d0"}
