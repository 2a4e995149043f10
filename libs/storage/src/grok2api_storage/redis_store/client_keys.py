"""Client API keys in the Redis store (``ClientKeyRepository``).

One hash per key, all values strings. Fields added after layout 1 (``revoked_at`` and
the limits beyond the first two) may be absent from older hashes and read as defaults.
Times are written in one fixed-width UTC format, so that Lua can compare them as strings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from .. import client_keys_common as common
from .. import errors, records, translate, urls
from . import codec, transactions
from .keys import Keys

# KEYS: client-key hashes; ARGV: one time per key. Moves last_used_at forward only, and
# never creates a hash for a key that does not exist.
_MARK_USED = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local current = redis.call('HGET', key, 'last_used_at')
    if (not current) or current == '' or current < ARGV[i] then
      redis.call('HSET', key, 'last_used_at', ARGV[i])
    end
  end
end
return 0
"""
# KEYS[1]: the key's hash; ARGV[1]: now. Sets revoked_at once; 0 if the key is unknown.
_REVOKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.call('HGET', KEYS[1], 'revoked_at')
if (not current) or current == '' then
  redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1], 'enabled', '0')
end
return 1
"""


class RedisClientKeyStore:
    def __init__(self, *, redis: Redis, keys: Keys, location: urls.StoreLocation) -> None:
        self._redis = redis
        self._keys = keys
        self._location = location

    async def create(
        self,
        *,
        name: str,
        limits: records.ClientKeyLimits = records.ClientKeyLimits(),
        plain_key: str | None = None,
    ) -> records.CreatedClientKey:
        plain = common.checked_plain_key(plain_key)
        record = records.ClientKeyRecord(
            id=uuid.uuid4().hex,
            name=common.checked_name(name),
            prefix=common.display_prefix(plain),
            enabled=True,
            created_at=records.utcnow(),
            limits=common.checked_limits(limits),
        )
        key_hash = common.hash_key(plain)
        hash_key = self._keys.client_key_hash(key_hash)

        async def body(pipe: Pipeline) -> None:
            if await pipe.exists(hash_key):
                raise errors.DuplicateError("this client key already exists")
            pipe.multi()
            pipe.set(hash_key, record.id)
            pipe.hset(self._keys.client_key(record.id), mapping=_encode(record, key_hash))  # type: ignore[arg-type]
            pipe.zadd(self._keys.client_keys, {record.id: record.created_at.timestamp()})

        async with translate.driver_errors(self._location):
            await transactions.run(self._redis, watch=[hash_key], body=body)
        return records.CreatedClientKey(record=record, plain_key=plain)

    async def find(self, plain_key: str) -> records.ClientKeyRecord | None:
        digest = common.hash_key(plain_key)
        async with translate.driver_errors(self._location):
            key_id = codec.text_or_none(await self._redis.get(self._keys.client_key_hash(digest)))
            raw = await self._redis.hgetall(self._keys.client_key(key_id)) if key_id else {}
        stored = codec.hash_of(raw)
        if not common.same_hash(stored.get("key_hash"), digest):
            return None
        return _decode(stored)

    async def any_exist(self) -> bool:
        async with translate.driver_errors(self._location):
            return bool(await self._redis.zcard(self._keys.client_keys))

    async def get(self, key_id: str) -> records.ClientKeyRecord | None:
        async with translate.driver_errors(self._location):
            stored = codec.hash_of(await self._redis.hgetall(self._keys.client_key(key_id)))
        return _decode(stored) if stored else None

    async def list(self) -> tuple[records.ClientKeyRecord, ...]:
        async with translate.driver_errors(self._location):
            ids = codec.texts(await self._redis.zrange(self._keys.client_keys, 0, -1))
            async with self._redis.pipeline(transaction=False) as pipe:
                for key_id in ids:
                    pipe.hgetall(self._keys.client_key(key_id))
                hashes = await pipe.execute()
        return tuple(_decode(codec.hash_of(stored)) for stored in hashes if stored)

    async def update(self, key_id: str, patch: records.ClientKeyPatch) -> records.ClientKeyRecord:
        key = self._keys.client_key(key_id)

        async def body(pipe: Pipeline) -> records.ClientKeyRecord:
            stored = codec.hash_of(await pipe.hgetall(key))
            if not stored:
                raise errors.NotFoundError(f"no client key {key_id!r}")
            record = common.patched(_decode(stored), patch)
            pipe.multi()
            pipe.hset(key, mapping=_mutable_fields(record))  # type: ignore[arg-type]
            return record

        async with translate.driver_errors(self._location):
            return await transactions.run(self._redis, watch=[key], body=body)

    async def mark_used(self, last_used: Mapping[str, datetime]) -> None:
        if not last_used:
            return
        ordered = sorted(last_used.items())
        keys = [self._keys.client_key(key_id) for key_id, _ in ordered]
        times = [_time_text(when) for _, when in ordered]
        async with translate.driver_errors(self._location):
            await self._redis.eval(_MARK_USED, len(keys), *keys, *times)  # type: ignore[misc]

    async def revoke(self, key_id: str) -> records.ClientKeyRecord | None:
        async with translate.driver_errors(self._location):
            found = await self._redis.eval(  # type: ignore[misc]
                _REVOKE, 1, self._keys.client_key(key_id), _time_text(records.utcnow())
            )
        return await self.get(key_id) if found else None

    async def delete(self, key_id: str) -> bool:
        key = self._keys.client_key(key_id)

        async def body(pipe: Pipeline) -> bool:
            key_hash = codec.text_or_none(await pipe.hget(key, "key_hash"))
            pipe.multi()
            if key_hash is not None:
                pipe.delete(key, self._keys.client_key_hash(key_hash))
                pipe.zrem(self._keys.client_keys, key_id)
            return key_hash is not None

        async with translate.driver_errors(self._location):
            return await transactions.run(self._redis, watch=[key], body=body)


def _time_text(when: datetime) -> str:
    """Fixed width, so that string order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _optional_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _names(value: tuple[str, ...] | None) -> str:
    return json.dumps(None if value is None else list(value))


def _mutable_fields(record: records.ClientKeyRecord) -> dict[str, str]:
    limits = record.limits
    return {
        "name": record.name,
        "enabled": "1" if record.enabled else "0",
        "allowed_models": _names(limits.allowed_models),
        "rate_limit_per_minute": _optional_int(limits.rate_limit_per_minute),
        "max_concurrent": _optional_int(limits.max_concurrent),
        "quota_unit": limits.quota_unit.value,
        "daily_quota": _optional_int(limits.daily_quota),
        "monthly_quota": _optional_int(limits.monthly_quota),
        "account_tags": _names(limits.account_tags),
        "expires_at": _time_text(limits.expires_at) if limits.expires_at else "",
    }


def _encode(record: records.ClientKeyRecord, key_hash: str) -> dict[str, str]:
    return {
        "id": record.id,
        "key_hash": key_hash,
        "prefix": record.prefix,
        "created_at": _time_text(record.created_at),
        "last_used_at": "",
        "revoked_at": "",
        **_mutable_fields(record),
    }


def _decode(stored: dict[str, str]) -> records.ClientKeyRecord:
    def number(name: str) -> int | None:
        text = stored.get(name, "")
        return int(text) if text else None

    def names(name: str) -> tuple[str, ...] | None:
        value = json.loads(stored.get(name) or "null")
        return tuple(value) if value is not None else None

    return records.ClientKeyRecord(
        id=stored["id"],
        name=stored["name"],
        prefix=stored["prefix"],
        enabled=stored["enabled"] == "1",
        created_at=datetime.fromisoformat(stored["created_at"]).astimezone(UTC),
        last_used_at=_optional_time(stored.get("last_used_at")),
        revoked_at=_optional_time(stored.get("revoked_at")),
        limits=records.ClientKeyLimits(
            allowed_models=names("allowed_models"),
            rate_limit_per_minute=number("rate_limit_per_minute"),
            max_concurrent=number("max_concurrent"),
            quota_unit=records.QuotaUnit(stored.get("quota_unit") or records.QuotaUnit.REQUESTS),
            daily_quota=number("daily_quota"),
            monthly_quota=number("monthly_quota"),
            account_tags=names("account_tags"),
            expires_at=_optional_time(stored.get("expires_at")),
        ),
    )
