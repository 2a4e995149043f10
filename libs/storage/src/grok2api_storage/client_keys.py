"""Client API keys in the SQL store (``ClientKeyRepository`` on SQLAlchemy)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from . import client_keys_common as common
from . import engine, errors, models, records


class SqlClientKeyStore:
    def __init__(self, *, db: engine.Database) -> None:
        self._db = db

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
        allowed = fields["allowed_models"]
        row = models.ClientKey(
            id=uuid.uuid4().hex,
            name=fields["name"],
            key_hash=common.hash_key(plain),
            prefix=common.display_prefix(plain),
            enabled=True,
            rate_limit_per_minute=rate_limit_per_minute,
            allowed_models=list(allowed) if allowed is not None else None,
            created_at=records.utcnow(),
            last_used_at=None,
        )
        try:
            async with self._db.transaction() as session:
                session.add(row)
        except errors.DuplicateError as exc:
            raise errors.DuplicateError("this client key already exists") from exc
        return records.CreatedClientKey(record=_record(row), plain_key=plain)

    async def verify(self, plain_key: str) -> records.ClientKeyRecord | None:
        digest = common.hash_key(plain_key)
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(models.ClientKey).where(models.ClientKey.key_hash == digest)
            )
        stored = row.key_hash if row is not None else None
        if row is None or not common.same_hash(stored, digest) or not row.enabled:
            return None
        return _record(row)

    async def get(self, key_id: str) -> records.ClientKeyRecord | None:
        async with self._db.transaction() as session:
            row = await session.get(models.ClientKey, key_id)
        return _record(row) if row is not None else None

    async def list(self) -> tuple[records.ClientKeyRecord, ...]:
        async with self._db.transaction() as session:
            rows = await session.scalars(
                select(models.ClientKey).order_by(models.ClientKey.created_at, models.ClientKey.id)
            )
            return tuple(_record(row) for row in rows)

    async def update(self, key_id: str, patch: records.ClientKeyPatch) -> records.ClientKeyRecord:
        changes = common.checked_changes(patch.changes())
        if changes.get("allowed_models") is not None:
            changes["allowed_models"] = list(changes["allowed_models"])
        async with self._db.transaction() as session:
            row = await session.get(models.ClientKey, key_id)
            if row is None:
                raise errors.NotFoundError(f"no client key {key_id!r}")
            for key, value in changes.items():
                setattr(row, key, value)
        return _record(row)

    async def mark_used(self, key_id: str, *, at: datetime | None = None) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                update(models.ClientKey)
                .where(models.ClientKey.id == key_id)
                .values(last_used_at=at or records.utcnow())
            )

    async def revoke(self, key_id: str) -> bool:
        async with self._db.transaction() as session:
            row = await session.get(models.ClientKey, key_id)
            if row is None:
                return False
            row.enabled = False
            return True

    async def delete(self, key_id: str) -> bool:
        async with self._db.transaction() as session:
            row = await session.get(models.ClientKey, key_id)
            if row is None:
                return False
            await session.delete(row)
            return True


def _record(row: models.ClientKey) -> records.ClientKeyRecord:
    return records.ClientKeyRecord(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        enabled=row.enabled,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        rate_limit_per_minute=row.rate_limit_per_minute,
        allowed_models=tuple(row.allowed_models) if row.allowed_models is not None else None,
    )
