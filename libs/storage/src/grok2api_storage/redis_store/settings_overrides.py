"""Runtime settings overrides in the Redis store: one hash, one JSON value per key."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from .. import overrides_common, records, translate, urls
from .keys import Keys


class RedisSettingsOverrideStore:
    def __init__(self, *, redis: Redis, keys: Keys, location: urls.StoreLocation) -> None:
        self._redis = redis
        self._keys = keys
        self._location = location

    async def get_all(self) -> dict[str, records.SettingOverride]:
        async with translate.driver_errors(self._location):
            stored = await self._redis.hgetall(self._keys.settings_overrides)
        result = {}
        for key, raw in stored.items():
            entry = json.loads(raw)
            result[str(key)] = records.SettingOverride(
                key=str(key),
                value=entry["value"],
                updated_at=datetime.fromisoformat(entry["updated_at"]),
                updated_by=entry["updated_by"],
            )
        return result

    async def set_many(self, values: Mapping[str, Any], *, updated_by: str) -> None:
        values = overrides_common.checked(values, updated_by=updated_by)
        if not values:
            return
        now = records.utcnow().isoformat()
        mapping = {
            key: json.dumps({"value": value, "updated_at": now, "updated_by": updated_by})
            for key, value in values.items()
        }
        async with translate.driver_errors(self._location):
            # One HSET is atomic: every key of the batch changes together.
            await self._redis.hset(self._keys.settings_overrides, mapping=mapping)  # type: ignore[arg-type]

    async def delete(self, keys: Iterable[str]) -> int:
        wanted = [key.strip() for key in keys]
        if not wanted:
            return 0
        async with translate.driver_errors(self._location):
            return int(await self._redis.hdel(self._keys.settings_overrides, *wanted))
