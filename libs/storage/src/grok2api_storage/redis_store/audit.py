"""The admin audit log in the Redis store: one sorted set scored by insertion sequence."""

from __future__ import annotations

import json
from datetime import datetime

from redis.asyncio import Redis

from .. import records, translate, urls
from .keys import Keys


class RedisAuditStore:
    def __init__(self, *, redis: Redis, keys: Keys, location: urls.StoreLocation) -> None:
        self._redis = redis
        self._keys = keys
        self._location = location

    async def add(self, entry: records.AuditEntry) -> None:
        async with translate.driver_errors(self._location):
            # The sequence orders entries as they were added, across replicas, and makes
            # every member unique even when two entries are otherwise identical.
            seq = int(await self._redis.incr(self._keys.audit_seq))
            member = json.dumps(
                {
                    "seq": seq,
                    "at": entry.at.isoformat(),
                    "action": entry.action,
                    "target": entry.target,
                    "actor": entry.actor,
                    "client": entry.client,
                    "detail": dict(entry.detail),
                }
            )
            await self._redis.zadd(self._keys.audit, {member: seq})

    async def list(self, *, offset: int = 0, limit: int = 50) -> records.AuditPage:
        async with translate.driver_errors(self._location):
            total = int(await self._redis.zcard(self._keys.audit))
            members = (
                await self._redis.zrevrange(self._keys.audit, offset, offset + limit - 1)
                if limit > 0
                else []
            )
        items = tuple(_decode(str(member)) for member in members)
        return records.AuditPage(items=items, total=total, offset=offset, limit=limit)


def _decode(member: str) -> records.AuditEntry:
    data = json.loads(member)
    return records.AuditEntry(
        at=datetime.fromisoformat(data["at"]),
        action=data["action"],
        target=data["target"],
        actor=data["actor"],
        client=data["client"],
        detail=data["detail"],
    )
