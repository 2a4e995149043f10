"""Usage records in the SQL store (``UsageRepository``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select

from . import engine, models, records


class SqlUsageStore:
    def __init__(self, *, db: engine.Database) -> None:
        self._db = db

    async def add_many(self, entries: Iterable[records.UsageRecord]) -> None:
        rows = [
            models.UsageEntry(
                timestamp=entry.timestamp,
                account_id=entry.account_id,
                model=entry.model,
                outcome=entry.outcome,
                prompt_tokens=entry.prompt_tokens,
                completion_tokens=entry.completion_tokens,
            )
            for entry in entries
        ]
        if not rows:
            return
        async with self._db.transaction() as session:
            session.add_all(rows)

    async def list(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> tuple[records.UsageRecord, ...]:
        entry = models.UsageEntry
        statement = select(entry).order_by(entry.timestamp.desc(), entry.id.desc()).limit(limit)
        if since is not None:
            statement = statement.where(entry.timestamp >= since)
        if until is not None:
            statement = statement.where(entry.timestamp < until)
        async with self._db.transaction() as session:
            rows = await session.scalars(statement)
            return tuple(_record(row) for row in rows)

    async def purge_before(self, cutoff: datetime) -> int:
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(models.UsageEntry).where(models.UsageEntry.timestamp < cutoff)
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _record(row: models.UsageEntry) -> records.UsageRecord:
    return records.UsageRecord(
        timestamp=row.timestamp,
        account_id=row.account_id,
        model=row.model,
        outcome=row.outcome,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
    )
