"""Client API keys in the SQL store (``ClientKeyRepository`` on SQLAlchemy)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, Update, bindparam, or_, select, update

from . import client_keys_common as common
from . import engine, errors, models, records

_TABLE = cast(Table, models.ClientKey.__table__)


class SqlClientKeyStore:
    def __init__(self, *, db: engine.Database) -> None:
        self._db = db

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
        row = models.ClientKey(
            id=record.id,
            key_hash=common.hash_key(plain),
            prefix=record.prefix,
            created_at=record.created_at,
            last_used_at=None,
        )
        _write(row, record)
        try:
            async with self._db.transaction() as session:
                session.add(row)
        except errors.DuplicateError as exc:
            raise errors.DuplicateError("this client key already exists") from exc
        return records.CreatedClientKey(record=record, plain_key=plain)

    async def find(self, plain_key: str) -> records.ClientKeyRecord | None:
        digest = common.hash_key(plain_key)
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(models.ClientKey).where(models.ClientKey.key_hash == digest)
            )
        stored = row.key_hash if row is not None else None
        if row is None or not common.same_hash(stored, digest):
            return None
        return _record(row)

    async def any_exist(self) -> bool:
        async with self._db.transaction() as session:
            found = await session.scalar(select(models.ClientKey.id).limit(1))
        return found is not None

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
        async with self._db.transaction() as session:
            row = await session.get(models.ClientKey, key_id, with_for_update=True)
            if row is None:
                raise errors.NotFoundError(f"no client key {key_id!r}")
            record = common.patched(_record(row), patch)
            _write(row, record)
        return record

    async def mark_used(self, last_used: Mapping[str, datetime]) -> None:
        if not last_used:
            return
        ordered = sorted(last_used.items())
        async with self._db.connection() as conn:
            if conn.dialect.name == "sqlite":
                # Plain tuples through the driver's prepared statement (the usage flush calls
                # this once per batch): SQLAlchemy's statement handling cost more than SQLite.
                rows = [(stamp, key_id, stamp) for key_id, stamp in map(_sqlite_stamped, ordered)]
                await conn.exec_driver_sql(_SQLITE_MARK_USED, rows)
                return
            await conn.execute(
                _mark_used_statement(),
                [{"b_id": key_id, "b_at": when.astimezone(UTC)} for key_id, when in ordered],
            )

    async def revoke(self, key_id: str) -> records.ClientKeyRecord | None:
        table = _TABLE
        async with self._db.transaction() as session:
            conn = await session.connection()
            # Conditional, so that of two concurrent revokes the first time stays.
            await conn.execute(
                update(table)
                .where(table.c.id == key_id, table.c.revoked_at.is_(None))
                .values(revoked_at=records.utcnow(), enabled=False)
            )
            row = await session.get(models.ClientKey, key_id, populate_existing=True)
            return _record(row) if row is not None else None

    async def delete(self, key_id: str) -> bool:
        async with self._db.transaction() as session:
            row = await session.get(models.ClientKey, key_id)
            if row is None:
                return False
            await session.delete(row)
            return True


def _write(row: models.ClientKey, record: records.ClientKeyRecord) -> None:
    """Copy the record's mutable fields (name, enabled, limits) onto the row."""
    limits = record.limits
    row.name = record.name
    row.enabled = record.enabled
    row.allowed_models = list(limits.allowed_models) if limits.allowed_models else None
    row.rate_limit_per_minute = limits.rate_limit_per_minute
    row.max_concurrent = limits.max_concurrent
    row.quota_unit = limits.quota_unit.value
    row.daily_quota = limits.daily_quota
    row.monthly_quota = limits.monthly_quota
    row.account_tags = list(limits.account_tags) if limits.account_tags else None
    row.expires_at = limits.expires_at


def _record(row: models.ClientKey) -> records.ClientKeyRecord:
    return records.ClientKeyRecord(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        enabled=row.enabled,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        limits=records.ClientKeyLimits(
            allowed_models=tuple(row.allowed_models) if row.allowed_models is not None else None,
            rate_limit_per_minute=row.rate_limit_per_minute,
            max_concurrent=row.max_concurrent,
            quota_unit=records.QuotaUnit(row.quota_unit or records.QuotaUnit.REQUESTS),
            daily_quota=row.daily_quota,
            monthly_quota=row.monthly_quota,
            account_tags=tuple(row.account_tags) if row.account_tags is not None else None,
            expires_at=row.expires_at,
        ),
    )


def _mark_used_statement() -> Update:
    table = _TABLE
    at = bindparam("b_at", type_=models.UtcDateTime())
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .where(or_(table.c.last_used_at.is_(None), table.c.last_used_at < at))
        .values(last_used_at=at)
    )


_SQLITE_MARK_USED = (
    f"UPDATE {_TABLE.name} SET last_used_at = ? "
    "WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)"
)


def _sqlite_stamped(item: tuple[str, datetime]) -> tuple[str, str]:
    """A key id and its time as the naive UTC ISO text SQLAlchemy's SQLite ``DateTime``
    stores (so the ``<`` above compares like with like)."""
    key_id, when = item
    return key_id, when.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
