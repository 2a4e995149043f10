"""The admin audit log in the SQL store (``AuditRepository``)."""

from __future__ import annotations

from sqlalchemy import func, select

from . import engine, models, records

# Columns are bounded; an over-long value is cut rather than failing the audited change.
_LIMITS = {"action": 100, "target": 300, "actor": 200, "client": 100}


class SqlAuditStore:
    def __init__(self, *, db: engine.Database) -> None:
        self._db = db

    async def add(self, entry: records.AuditEntry) -> None:
        row = models.AuditLogEntry(
            at=entry.at,
            action=entry.action[: _LIMITS["action"]],
            target=entry.target[: _LIMITS["target"]],
            actor=entry.actor[: _LIMITS["actor"]],
            client=entry.client[: _LIMITS["client"]],
            detail=dict(entry.detail),
        )
        async with self._db.transaction() as session:
            session.add(row)

    async def list(self, *, offset: int = 0, limit: int = 50) -> records.AuditPage:
        row = models.AuditLogEntry
        statement = select(row).order_by(row.id.desc()).offset(offset).limit(limit)
        async with self._db.transaction() as session:
            total = await session.scalar(select(func.count()).select_from(row))
            rows = await session.scalars(statement)
            items = tuple(_entry(r) for r in rows)
        return records.AuditPage(items=items, total=int(total or 0), offset=offset, limit=limit)


def _entry(row: models.AuditLogEntry) -> records.AuditEntry:
    return records.AuditEntry(
        at=row.at,
        action=row.action,
        target=row.target,
        actor=row.actor,
        client=row.client,
        detail=dict(row.detail or {}),
    )
