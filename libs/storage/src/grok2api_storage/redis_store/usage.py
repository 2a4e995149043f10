"""Usage records in the Redis store: one sorted set scored by timestamp."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from redis.asyncio import Redis

from .. import records, translate, urls
from .keys import Keys


class RedisUsageStore:
    def __init__(self, *, redis: Redis, keys: Keys, location: urls.StoreLocation) -> None:
        self._redis = redis
        self._keys = keys
        self._location = location

    async def add_many(self, entries: Iterable[records.UsageRecord]) -> None:
        mapping = {
            # The random id keeps two identical records from collapsing into one member.
            json.dumps(
                {
                    "uid": uuid.uuid4().hex,
                    "timestamp": entry.timestamp.isoformat(),
                    "account_id": entry.account_id,
                    "model": entry.model,
                    "outcome": entry.outcome,
                    "prompt_tokens": entry.prompt_tokens,
                    "completion_tokens": entry.completion_tokens,
                }
            ): entry.timestamp.timestamp()
            for entry in entries
        }
        if not mapping:
            return
        async with translate.driver_errors(self._location):
            await self._redis.zadd(self._keys.usage, mapping)  # type: ignore[arg-type]

    async def list(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> tuple[records.UsageRecord, ...]:
        high = f"({until.timestamp()}" if until is not None else "+inf"
        low = since.timestamp() if since is not None else "-inf"
        async with translate.driver_errors(self._location):
            members = await self._redis.zrevrangebyscore(
                self._keys.usage, high, low, start=0, num=limit
            )
        return tuple(_decode(str(member)) for member in members)

    async def purge_before(self, cutoff: datetime) -> int:
        async with translate.driver_errors(self._location):
            removed = await self._redis.zremrangebyscore(
                self._keys.usage, "-inf", f"({cutoff.timestamp()}"
            )
        return int(removed)


def _decode(member: str) -> records.UsageRecord:
    data = json.loads(member)
    return records.UsageRecord(
        timestamp=datetime.fromisoformat(data["timestamp"]),
        account_id=data["account_id"],
        model=data["model"],
        outcome=data["outcome"],
        prompt_tokens=data["prompt_tokens"],
        completion_tokens=data["completion_tokens"],
    )
