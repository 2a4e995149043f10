"""Usage records in the Redis store.

``{p}usage-records`` maps each record id to its JSON; ``{p}usage-by-time`` holds the ids
scored by timestamp in whole UTC microseconds (exact in a double until the year 2255).
Equal scores are ordered by id, bytewise, as the SQL stores order them. A batch is
written in one MULTI: ``ZADD NX`` counts the new ids and ``HSETNX`` never overwrites, so
writing a batch twice, or two overlapping batches at once, stores each record once.
Filters other than time, and summaries, are computed here over the time range.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from .. import errors, records, translate, urls
from .. import usage_common as common
from .keys import Keys

PAGE = 1000
# KEYS: by-time zset, records hash; ARGV: cutoff score (exclusive), chunk size.
_PURGE_CHUNK = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
if #ids > 0 then
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('HDEL', KEYS[2], unpack(ids))
end
return #ids
"""


class RedisUsageStore:
    def __init__(self, *, redis: Redis, keys: Keys, location: urls.StoreLocation) -> None:
        self._redis = redis
        self._keys = keys
        self._location = location

    async def add_many(self, entries: Iterable[records.UsageRecord]) -> int:
        batch = common.checked_batch(entries)
        added = 0
        async with translate.driver_errors(self._location):
            for start in range(0, len(batch), common.BATCH):
                chunk = batch[start : start + common.BATCH]
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.zadd(
                        self._keys.usage_by_time,
                        {entry.id: _score(entry.timestamp) for entry in chunk},
                        nx=True,
                    )
                    for entry in chunk:
                        pipe.hsetnx(self._keys.usage_records, entry.id, _encode(entry))
                    results = await pipe.execute()
                added += int(results[0])
        return added

    async def list(
        self,
        *,
        filters: records.UsageFilter = records.UsageFilter(),
        limit: int = 1000,
        before_id: str | None = None,
    ) -> tuple[records.UsageRecord, ...]:
        if limit <= 0:
            return ()
        low, high = _range(filters)
        anchor: float | None = None
        async with translate.driver_errors(self._location):
            if before_id is not None:
                anchor = await self._redis.zscore(self._keys.usage_by_time, before_id)
                if anchor is None:
                    raise errors.NotFoundError(f"no usage record {before_id!r} to page from")
                if filters.until is None or anchor < _score(filters.until):
                    high = anchor  # inclusive: equal scores are then cut by id below
            found: list[records.UsageRecord] = []
            offset = 0
            while len(found) < limit:
                members: Any = await self._redis.zrevrangebyscore(
                    self._keys.usage_by_time, high, low, start=offset, num=PAGE, withscores=True
                )
                offset += len(members)
                ids = [
                    str(member)
                    for member, score in members
                    if anchor is None or score < anchor or str(member) < str(before_id)
                ]
                for entry in await self._fetch(ids):
                    if common.matches(entry, filters):
                        found.append(entry)
                if len(members) < PAGE:
                    break
        return tuple(found[:limit])

    async def summary(
        self,
        *,
        filters: records.UsageFilter = records.UsageFilter(),
        group_by: Sequence[records.UsageGrouping] = (),
    ) -> tuple[records.UsageBucket, ...]:
        grouping = common.checked_grouping(group_by)
        low, high = _range(filters)
        selected: list[records.UsageRecord] = []
        async with translate.driver_errors(self._location):
            offset = 0
            while True:
                ids = await self._redis.zrangebyscore(
                    self._keys.usage_by_time, low, high, start=offset, num=PAGE
                )
                offset += len(ids)
                selected.extend(
                    entry
                    for entry in await self._fetch([str(i) for i in ids])
                    if common.matches(entry, filters)
                )
                if len(ids) < PAGE:
                    break
        return common.aggregate(selected, grouping)

    async def purge_before(self, cutoff: datetime) -> int:
        removed = 0
        async with translate.driver_errors(self._location):
            while True:
                count = int(
                    await self._redis.eval(  # type: ignore[misc]
                        _PURGE_CHUNK,
                        2,
                        self._keys.usage_by_time,
                        self._keys.usage_records,
                        str(_score(cutoff)),
                        str(PAGE),
                    )
                )
                removed += count
                if count < PAGE:
                    return removed

    async def _fetch(self, ids: Sequence[str]) -> tuple[records.UsageRecord, ...]:
        if not ids:
            return ()
        values = await self._redis.hmget(self._keys.usage_records, ids)
        # A record purged between the range read and this one is simply gone.
        return tuple(_decode(str(value)) for value in values if value is not None)


def _score(stamp: datetime) -> int:
    delta = stamp.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _range(filters: records.UsageFilter) -> tuple[Any, Any]:
    low: Any = _score(filters.since) if filters.since is not None else "-inf"
    high: Any = f"({_score(filters.until)}" if filters.until is not None else "+inf"
    return low, high


def _encode(entry: records.UsageRecord) -> str:
    data = dataclasses.asdict(entry)
    data["timestamp"] = entry.timestamp.astimezone(UTC).isoformat()
    return json.dumps(data, separators=(",", ":"))


def _decode(text: str) -> records.UsageRecord:
    data = json.loads(text)
    data["timestamp"] = datetime.fromisoformat(data["timestamp"]).astimezone(UTC)
    return records.UsageRecord(**data)
