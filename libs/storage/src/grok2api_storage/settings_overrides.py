"""Runtime settings overrides in the SQL store (``SettingsOverrideRepository``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select

from . import engine, errors, models, overrides_common, records


class SqlSettingsOverrideStore:
    def __init__(self, *, db: engine.Database) -> None:
        self._db = db

    async def get_all(self) -> dict[str, records.SettingOverride]:
        async with self._db.transaction() as session:
            rows = await session.scalars(select(models.SettingsOverride))
            return {row.key: _record(row) for row in rows}

    async def set_many(self, values: Mapping[str, Any], *, updated_by: str) -> None:
        values = overrides_common.checked(values, updated_by=updated_by)
        try:
            await self._set_once(values, updated_by=updated_by)
        except errors.DuplicateError:
            # Another replica inserted one of these keys first; now they all exist.
            await self._set_once(values, updated_by=updated_by)

    async def _set_once(self, values: dict[str, Any], *, updated_by: str) -> None:
        now = records.utcnow()
        async with self._db.transaction() as session:
            for key, value in values.items():
                row = await session.get(models.SettingsOverride, key)
                if row is None:
                    row = models.SettingsOverride(key=key)
                    session.add(row)
                row.value = value
                row.updated_at = now
                row.updated_by = updated_by

    async def delete(self, keys: Iterable[str]) -> int:
        wanted = [key.strip() for key in keys]
        if not wanted:
            return 0
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(models.SettingsOverride).where(models.SettingsOverride.key.in_(wanted))
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _record(row: models.SettingsOverride) -> records.SettingOverride:
    return records.SettingOverride(
        key=row.key, value=row.value, updated_at=row.updated_at, updated_by=row.updated_by
    )
