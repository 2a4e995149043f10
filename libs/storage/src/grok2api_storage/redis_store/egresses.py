"""Egresses and account bindings in the Redis store (``EgressRepository``).

One hash per egress, all values strings; names are unique through ``egress-name:{name}``
keys claimed in the same script that writes the hash, so two replicas cannot both take one.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from .. import crypto, errors, records, translate, urls
from .. import egresses_common as common
from .keys import Keys

# KEYS: the egress hash, the new name key, the old name key (or the new one again), the
# listing zset. ARGV: id, creating (1/0), score, then field/value pairs. Returns 'ok',
# 'taken' (the name belongs to another egress) or 'missing' (update of an unknown egress).
_WRITE = """
local exists = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[2] == '0' and not exists then return 'missing' end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 'taken' end
if KEYS[3] ~= KEYS[2] then redis.call('DEL', KEYS[3]) end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[2] == '1' then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) end
return 'ok'
"""


class RedisEgressStore:
    def __init__(
        self,
        *,
        redis: Redis,
        keys: Keys,
        cipher: crypto.CredentialCipher,
        location: urls.StoreLocation,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._cipher = cipher
        self._location = location

    async def add(self, egress: records.NewEgress) -> records.EgressRecord:
        egress = common.validated(egress)
        now = records.utcnow()
        record = records.EgressRecord(
            id=uuid.uuid4().hex, name=egress.name, proxy_url=egress.proxy_url,
            asset_proxy_url=egress.asset_proxy_url, tags=egress.tags, enabled=egress.enabled,
            max_inflight=egress.max_inflight, browser=egress.browser,
            user_agent=egress.user_agent, clearance=egress.clearance,
            created_at=now, updated_at=now,
        )  # fmt: skip
        await self._write(record, old_name=record.name, creating=True)
        return record

    async def get(self, egress_id: str) -> records.EgressRecord | None:
        async with translate.driver_errors(self._location):
            row = await self._redis.hgetall(self._keys.egress(egress_id))  # type: ignore[misc]
        return self._record(egress_id, {str(k): str(v) for k, v in row.items()}) if row else None

    async def find_by_name(self, name: str) -> records.EgressRecord | None:
        async with translate.driver_errors(self._location):
            egress_id = await self._redis.get(self._keys.egress_name(name))
        return await self.get(str(egress_id)) if egress_id else None

    async def list(self) -> tuple[records.EgressRecord, ...]:
        async with translate.driver_errors(self._location):
            ids = await self._redis.zrange(self._keys.egresses, 0, -1)
            async with self._redis.pipeline(transaction=False) as pipe:
                for egress_id in ids:
                    pipe.hgetall(self._keys.egress(str(egress_id)))
                rows = await pipe.execute()
        found = [self._record(str(i), row) for i, row in zip(ids, rows, strict=True) if row]
        return tuple(sorted(found, key=lambda r: (r.created_at, r.id)))

    async def update(self, egress_id: str, patch: records.EgressPatch) -> records.EgressRecord:
        changes = common.validated_changes(patch)
        current = await self.get(egress_id)
        if current is None:
            raise errors.NotFoundError(f"no egress {egress_id}")
        fields: dict[str, Any] = {**changes, "updated_at": records.utcnow()}
        updated = _replace(current, fields)
        await self._write(updated, old_name=current.name, creating=False)
        return updated

    async def remove(self, egress_id: str) -> bool:
        current = await self.get(egress_id)
        if current is None:
            return False
        async with translate.driver_errors(self._location):
            bound = await self._redis.hgetall(self._keys.egress_bindings)  # type: ignore[misc]
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._keys.egress(egress_id))
                pipe.zrem(self._keys.egresses, egress_id)
                pipe.delete(self._keys.egress_name(current.name))
                stale = [a for a, e in bound.items() if e == egress_id]
                if stale:
                    pipe.hdel(self._keys.egress_bindings, *stale)
                await pipe.execute()
        return True

    async def bindings(self) -> dict[str, str]:
        async with translate.driver_errors(self._location):
            bound = await self._redis.hgetall(self._keys.egress_bindings)  # type: ignore[misc]
        return {str(a): str(e) for a, e in bound.items()}

    async def set_bindings(self, bindings: Mapping[str, str | None]) -> None:
        bind: dict[str | bytes, str | bytes] = {a: e for a, e in bindings.items() if e is not None}
        unbind = [a for a, e in bindings.items() if e is None]
        async with translate.driver_errors(self._location):
            async with self._redis.pipeline(transaction=True) as pipe:
                for account_id, egress_id in bind.items():
                    pipe.hset(self._keys.egress_bindings, account_id, egress_id)
                if unbind:
                    pipe.hdel(self._keys.egress_bindings, *unbind)
                await pipe.execute()

    async def _write(self, record: records.EgressRecord, *, old_name: str, creating: bool) -> None:
        keys = self._keys
        flat: list[str] = []
        for field, value in self._fields(record).items():
            flat += [field, value]
        async with translate.driver_errors(self._location):
            answer = await self._redis.eval(  # type: ignore[misc]
                _WRITE, 4, keys.egress(record.id), keys.egress_name(record.name),
                keys.egress_name(old_name), keys.egresses,
                record.id, "1" if creating else "0", record.created_at.timestamp(), *flat,
            )  # fmt: skip
        if answer == "taken":
            raise errors.DuplicateError(f"an egress named {record.name!r} exists")
        if answer == "missing":
            raise errors.NotFoundError(f"no egress {record.id}")

    def _fields(self, record: records.EgressRecord) -> dict[str, str]:
        clearance = record.clearance
        return {
            "name": record.name,
            "proxy": common.seal(self._cipher, record.proxy_url),
            "asset_proxy": common.seal(self._cipher, record.asset_proxy_url),
            "tags": json.dumps(list(record.tags)),
            "enabled": "1" if record.enabled else "0",
            "max_inflight": str(record.max_inflight),
            "browser": record.browser,
            "user_agent": record.user_agent,
            "clearance": common.seal(self._cipher, clearance.cookies if clearance else ""),
            "clearance_user_agent": clearance.user_agent if clearance else "",
            "clearance_obtained_at": _time(clearance.obtained_at if clearance else None),
            "clearance_expires_at": _time(clearance.expires_at if clearance else None),
            "clearance_source": clearance.source.value if clearance else "",
            "created_at": _time(record.created_at),
            "updated_at": _time(record.updated_at),
        }

    def _record(self, egress_id: str, row: Mapping[str, str]) -> records.EgressRecord:
        return records.EgressRecord(
            id=egress_id,
            name=row["name"],
            proxy_url=common.unseal(self._cipher, row.get("proxy", "")),
            asset_proxy_url=common.unseal(self._cipher, row.get("asset_proxy", "")),
            tags=tuple(json.loads(row.get("tags") or "[]")),
            enabled=row.get("enabled") == "1",
            max_inflight=int(row.get("max_inflight") or 0),
            browser=row.get("browser", ""),
            user_agent=row.get("user_agent", ""),
            clearance=common.clearance_of(
                self._cipher,
                sealed=row.get("clearance", ""),
                user_agent=row.get("clearance_user_agent", ""),
                obtained_at=_parse(row.get("clearance_obtained_at", "")),
                expires_at=_parse(row.get("clearance_expires_at", "")),
                source=row.get("clearance_source", ""),
            ),
            created_at=_parse(row["created_at"]) or records.utcnow(),
            updated_at=_parse(row["updated_at"]) or records.utcnow(),
        )


def _replace(record: records.EgressRecord, fields: Mapping[str, Any]) -> records.EgressRecord:
    return dataclasses.replace(record, **fields)


def _time(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _parse(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
