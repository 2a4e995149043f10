"""Usage records in the SQL store (``UsageRepository``).

Writes are Core ``executemany`` inserts of whole batches. Idempotence: on PostgreSQL and
SQLite the insert skips ids already stored itself (``ON CONFLICT DO NOTHING RETURNING id``
counts the new ones), so concurrent writers never collide. On MySQL/MariaDB the ids of a
batch already stored are looked up with one ``IN`` query and left out; when a concurrent
writer inserts one of the others first, the insert fails on the primary key, the
transaction rolls back and the batch is tried again (the ids it now finds are left out).
Summaries aggregate in the database; the hour or day of a record is computed with each
dialect's own date function on the stored UTC value.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import sqlite

from . import engine, errors, models, records
from . import usage_common as common

MAX_ATTEMPTS = 5
_FIELDS = tuple(field.name for field in dataclasses.fields(records.UsageRecord))
_TABLE = cast(Table, models.UsageEntry.__table__)
_GROUP_COLUMNS = {
    records.UsageGrouping.KEY: "key_id",
    records.UsageGrouping.MODEL: "model",
    records.UsageGrouping.ENDPOINT: "endpoint",
}


class SqlUsageStore:
    def __init__(self, *, db: engine.Database) -> None:
        self._db = db

    async def add_many(self, entries: Iterable[records.UsageRecord]) -> int:
        batch = common.checked_batch(entries)
        added = 0
        for start in range(0, len(batch), common.BATCH):
            added += await self._add_chunk(batch[start : start + common.BATCH])
        return added

    async def _add_chunk(self, chunk: list[records.UsageRecord]) -> int:
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self._db.connection() as conn:
                    dialect = conn.dialect.name
                    if dialect == "sqlite":
                        # Plain tuples through the driver's prepared statement: SQLAlchemy's
                        # per-row parameter processing cost more than SQLite's own insert.
                        result = await conn.exec_driver_sql(
                            _SQLITE_INSERT, [_sqlite_row(e) for e in chunk]
                        )
                        return int(result.rowcount)  # rows skipped by the conflict count 0
                    skipping = _insert_skipping_stored(dialect)
                    if skipping is not None:
                        inserted = await conn.execute(skipping, [_row(e) for e in chunk])
                        return len(inserted.all())
                    stored = set(
                        (
                            await conn.execute(
                                select(_TABLE.c.id).where(
                                    _TABLE.c.id.in_([entry.id for entry in chunk])
                                )
                            )
                        ).scalars()
                    )
                    rows = [_row(entry) for entry in chunk if entry.id not in stored]
                    if rows:
                        await conn.execute(insert(_TABLE), rows)
                    return len(rows)
            except errors.DuplicateError:
                # A concurrent writer stored some of these ids after our look-up.
                if attempt == MAX_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def list(
        self,
        *,
        filters: records.UsageFilter = records.UsageFilter(),
        limit: int = 1000,
        before_id: str | None = None,
    ) -> tuple[records.UsageRecord, ...]:
        if limit <= 0:
            return ()
        table = _TABLE
        conditions = _conditions(filters)
        async with self._db.transaction() as session:
            conn = await session.connection()
            if before_id is not None:
                anchor = await conn.scalar(select(table.c.timestamp).where(table.c.id == before_id))
                if anchor is None:
                    raise errors.NotFoundError(f"no usage record {before_id!r} to page from")
                conditions.append(
                    or_(
                        table.c.timestamp < anchor,
                        and_(table.c.timestamp == anchor, table.c.id < before_id),
                    )
                )
            result = await conn.execute(
                select(*(table.c[name] for name in _FIELDS))
                .where(*conditions)
                .order_by(table.c.timestamp.desc(), table.c.id.desc())
                .limit(limit)
            )
            return tuple(records.UsageRecord(**row._mapping) for row in result)

    async def summary(
        self,
        *,
        filters: records.UsageFilter = records.UsageFilter(),
        group_by: Sequence[records.UsageGrouping] = (),
    ) -> tuple[records.UsageBucket, ...]:
        grouping = common.checked_grouping(group_by)
        table = _TABLE
        async with self._db.transaction() as session:
            conn = await session.connection()
            keys: list[tuple[str, ColumnElement[Any]]] = []
            for item in grouping:
                if item in common.PERIODS:
                    keys.append(("period", _period(conn.dialect.name, item)))
                else:
                    keys.append((_GROUP_COLUMNS[item], table.c[_GROUP_COLUMNS[item]]))
            totals = (
                func.count().label("requests"),
                func.sum(case((table.c.status >= 400, 1), else_=0)).label("errors"),
                func.sum(table.c.prompt_tokens).label("prompt_tokens"),
                func.sum(table.c.completion_tokens).label("completion_tokens"),
                func.sum(table.c.cost_units).label("cost_units"),
                func.sum(table.c.latency_ms).label("latency_ms_total"),
            )
            statement = select(*(expr.label(name) for name, expr in keys), *totals).where(
                *_conditions(filters)
            )
            if keys:
                statement = statement.group_by(*(expr for _, expr in keys))
            rows = (await conn.execute(statement)).mappings().all()
        period = None
        if any(item in common.PERIODS for item in grouping):
            period = next(item for item in grouping if item in common.PERIODS)
        buckets = []
        for row in rows:
            groups: dict[str, Any] = {name: row[name] for name, _ in keys}
            if period is not None:
                groups["period"] = _period_value(groups["period"], period)
            buckets.append(
                records.UsageBucket(
                    **groups,
                    requests=int(row["requests"] or 0),
                    errors=int(row["errors"] or 0),
                    prompt_tokens=int(row["prompt_tokens"] or 0),
                    completion_tokens=int(row["completion_tokens"] or 0),
                    cost_units=int(row["cost_units"] or 0),
                    latency_ms_total=float(row["latency_ms_total"] or 0.0),
                )
            )
        return common.sorted_buckets(buckets)

    async def purge_before(self, cutoff: datetime) -> int:
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(models.UsageEntry).where(models.UsageEntry.timestamp < cutoff)
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _insert_skipping_stored(dialect: str) -> Any | None:
    """``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id`` where the dialect has it."""
    if dialect == "postgresql":
        # Imported here: the PostgreSQL dialect's modules (2 MB) are for PostgreSQL stores.
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(_TABLE).on_conflict_do_nothing(index_elements=[_TABLE.c.id])
        return pg.returning(_TABLE.c.id)
    if dialect == "sqlite":
        lite = sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=[_TABLE.c.id])
        return lite.returning(_TABLE.c.id)
    return None


_SQLITE_INSERT = (
    f"INSERT INTO {_TABLE.name} ({', '.join(_FIELDS)}) "
    f"VALUES ({', '.join('?' for _ in _FIELDS)}) ON CONFLICT (id) DO NOTHING"
)
assert _FIELDS[:2] == ("id", "timestamp")  # the row below is built in this order
_AFTER_STAMP = operator.attrgetter(*_FIELDS[2:])
_NAIVE_ISO_LENGTH = len("2026-12-07 23:06:02.123456")


def _sqlite_row(entry: records.UsageRecord) -> tuple[Any, ...]:
    """The record's values in ``_FIELDS`` order, its timestamp (already UTC, see
    ``checked_record``) as the naive ISO text SQLAlchemy's SQLite ``DateTime`` stores.

    The text is the aware ISO form cut before its ``+00:00``: ``replace(tzinfo=None)`` first
    cost as much as the rest of the row (it parses its keyword arguments each call)."""
    stamp = entry.timestamp.isoformat(" ", "microseconds")[:_NAIVE_ISO_LENGTH]
    return (entry.id, stamp, *_AFTER_STAMP(entry))


def _row(entry: records.UsageRecord) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _FIELDS}


def _conditions(filters: records.UsageFilter) -> list[ColumnElement[bool]]:
    table = _TABLE
    conditions: list[ColumnElement[bool]] = []
    if filters.since is not None:
        conditions.append(table.c.timestamp >= filters.since)
    if filters.until is not None:
        conditions.append(table.c.timestamp < filters.until)
    if filters.key_id is not None:
        conditions.append(table.c.key_id == filters.key_id)
    if filters.model is not None:
        conditions.append(table.c.model == filters.model)
    if filters.endpoint is not None:
        conditions.append(table.c.endpoint == filters.endpoint)
    return conditions


def _period(dialect: str, grouping: records.UsageGrouping) -> ColumnElement[Any]:
    """The start of the record's UTC hour or day, as each dialect computes it. The
    constants are literal SQL so that SELECT and GROUP BY render the same text."""
    column = _TABLE.c.timestamp
    hourly = grouping is records.UsageGrouping.HOUR
    if dialect == "postgresql":
        unit: ColumnElement[Any] = literal_column("'hour'" if hourly else "'day'")
        return func.date_trunc(unit, func.timezone(literal_column("'UTC'"), column))
    pattern = "'%Y-%m-%d %H:00:00'" if hourly else "'%Y-%m-%d 00:00:00'"
    if dialect == "mysql":
        return func.date_format(column, literal_column(pattern))
    return func.strftime(literal_column(pattern), column)


def _period_value(value: Any, grouping: records.UsageGrouping) -> datetime:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return common.period_start(stamp, grouping)
