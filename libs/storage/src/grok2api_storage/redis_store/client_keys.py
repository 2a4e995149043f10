"""Client API keys in the Redis store (``ClientKeyRepository``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from .. import client_keys_common as common
from .. import errors, records, translate, urls
from . import codec, transactions
from .keys import Keys


class RedisClientKeyStore:
    def __init__(self, *, redis: Redis, keys: Keys, location: urls.StoreLocation) -> None:
        self._redis = redis
        self._keys = keys
        self._location = location

    async def create(
        self,
        *,
        name: str,
        rate_limit_per_minute: int | None = None,
        allowed_models: Sequence[str] | None = None,
        plain_key: str | None = None,
    ) -> records.CreatedClientKey:
        plain = common.checked_plain_key(plain_key)
        fields = common.checked_changes(
            {
                "name": name,
                "rate_limit_per_minute": rate_limit_per_minute,
                "allowed_models": allowed_models,
            }
        )
        record = records.ClientKeyRecord(
            id=uuid.uuid4().hex,
            name=fields["name"],
            prefix=common.display_prefix(plain),
            enabled=True,
            created_at=records.utcnow(),
            last_used_at=None,
            rate_limit_per_minute=rate_limit_per_minute,
            allowed_models=fields["allowed_models"],
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

    async def verify(self, plain_key: str) -> records.ClientKeyRecord | None:
        digest = common.hash_key(plain_key)
        async with translate.driver_errors(self._location):
            key_id = codec.text_or_none(await self._redis.get(self._keys.client_key_hash(digest)))
            raw = await self._redis.hgetall(self._keys.client_key(key_id)) if key_id else {}
        stored = codec.hash_of(raw)
        if not common.same_hash(stored.get("key_hash"), digest) or stored.get("enabled") != "1":
            return None
        return _decode(stored)

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
        return tuple(_decode(stored) for stored in hashes if stored)

    async def update(self, key_id: str, patch: records.ClientKeyPatch) -> records.ClientKeyRecord:
        changes = common.checked_changes(patch.changes())
        return await self._change(key_id, changes)

    async def mark_used(self, key_id: str, *, at: datetime | None = None) -> None:
        async with translate.driver_errors(self._location):
            # Only an existing key is touched: HSET on a missing key would create a stub.
            if await self._redis.exists(self._keys.client_key(key_id)):
                await self._redis.hset(
                    self._keys.client_key(key_id),
                    "last_used_at",
                    (at or records.utcnow()).isoformat(),
                )

    async def revoke(self, key_id: str) -> bool:
        try:
            await self._change(key_id, {"enabled": False})
        except errors.NotFoundError:
            return False
        return True

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

    async def _change(self, key_id: str, changes: dict[str, Any]) -> records.ClientKeyRecord:
        key = self._keys.client_key(key_id)

        async def body(pipe: Pipeline) -> dict[str, str]:
            stored = codec.hash_of(await pipe.hgetall(key))
            if not stored:
                raise errors.NotFoundError(f"no client key {key_id!r}")
            current = _decode(stored)
            fields = {name: changes.get(name, getattr(current, name)) for name in _MUTABLE}
            new = {**stored, **_fields(**fields)}
            pipe.multi()
            pipe.hset(key, mapping=new)  # type: ignore[arg-type]
            return new

        async with translate.driver_errors(self._location):
            stored = await transactions.run(self._redis, watch=[key], body=body)
        return _decode(stored)


_MUTABLE = ("name", "enabled", "rate_limit_per_minute", "allowed_models")


def _fields(
    *,
    name: str,
    enabled: bool,
    rate_limit_per_minute: int | None,
    allowed_models: Sequence[str] | None,
) -> dict[str, str]:
    return {
        "name": name,
        "enabled": "1" if enabled else "0",
        "rate_limit_per_minute": ""
        if rate_limit_per_minute is None
        else str(rate_limit_per_minute),
        "allowed_models": json.dumps(None if allowed_models is None else list(allowed_models)),
    }


def _encode(record: records.ClientKeyRecord, key_hash: str) -> dict[str, str]:
    return {
        "id": record.id,
        "key_hash": key_hash,
        "prefix": record.prefix,
        "created_at": record.created_at.isoformat(),
        "last_used_at": "",
        **_fields(
            name=record.name,
            enabled=record.enabled,
            rate_limit_per_minute=record.rate_limit_per_minute,
            allowed_models=record.allowed_models,
        ),
    }


def _decode(stored: dict[str, str]) -> records.ClientKeyRecord:
    allowed = json.loads(stored["allowed_models"])
    return records.ClientKeyRecord(
        id=stored["id"],
        name=stored["name"],
        prefix=stored["prefix"],
        enabled=stored["enabled"] == "1",
        created_at=datetime.fromisoformat(stored["created_at"]),
        last_used_at=(
            datetime.fromisoformat(stored["last_used_at"]) if stored["last_used_at"] else None
        ),
        rate_limit_per_minute=(
            int(stored["rate_limit_per_minute"]) if stored["rate_limit_per_minute"] else None
        ),
        allowed_models=tuple(allowed) if allowed is not None else None,
    )
