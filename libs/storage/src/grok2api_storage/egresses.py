"""Egresses and account bindings in the SQL store (``EgressRepository``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from . import crypto, engine, errors, models, records
from . import egresses_common as common


class SqlEgressStore:
    def __init__(self, *, db: engine.Database, cipher: crypto.CredentialCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(self, egress: records.NewEgress) -> records.EgressRecord:
        egress = common.validated(egress)
        now = records.utcnow()
        row = models.Egress(
            id=uuid.uuid4().hex,
            name=egress.name,
            tags=list(egress.tags),
            enabled=egress.enabled,
            max_inflight=egress.max_inflight,
            browser=egress.browser,
            user_agent=egress.user_agent,
            created_at=now,
            updated_at=now,
        )
        self._apply(row, {
            "proxy_url": egress.proxy_url, "asset_proxy_url": egress.asset_proxy_url,
            "clearance": egress.clearance,
        })  # fmt: skip
        try:
            async with self._db.transaction() as session:
                session.add(row)
        except errors.DuplicateError as exc:
            raise errors.DuplicateError(f"an egress named {egress.name!r} exists") from exc
        return self._record(row)

    async def get(self, egress_id: str) -> records.EgressRecord | None:
        async with self._db.transaction() as session:
            row = await session.get(models.Egress, egress_id)
            return self._record(row) if row is not None else None

    async def find_by_name(self, name: str) -> records.EgressRecord | None:
        async with self._db.transaction() as session:
            row = await session.scalar(select(models.Egress).where(models.Egress.name == name))
            return self._record(row) if row is not None else None

    async def list(self) -> tuple[records.EgressRecord, ...]:
        statement = select(models.Egress).order_by(models.Egress.created_at, models.Egress.id)
        async with self._db.transaction() as session:
            return tuple(self._record(row) for row in await session.scalars(statement))

    async def update(self, egress_id: str, patch: records.EgressPatch) -> records.EgressRecord:
        changes = common.validated_changes(patch)
        try:
            async with self._db.transaction() as session:
                row = await session.get(models.Egress, egress_id)
                if row is None:
                    raise errors.NotFoundError(f"no egress {egress_id}")
                self._apply(row, changes)
                row.updated_at = records.utcnow()
        except errors.DuplicateError as exc:
            raise errors.DuplicateError(f"an egress named {changes.get('name')!r} exists") from exc
        return self._record(row)

    async def remove(self, egress_id: str) -> bool:
        async with self._db.transaction() as session:
            await session.execute(
                delete(models.EgressBinding).where(models.EgressBinding.egress_id == egress_id)
            )
            result = await session.execute(
                delete(models.Egress).where(models.Egress.id == egress_id)
            )
        return bool(getattr(result, "rowcount", 0))

    async def bindings(self) -> dict[str, str]:
        async with self._db.transaction() as session:
            rows = await session.scalars(select(models.EgressBinding))
            return {row.account_id: row.egress_id for row in rows}

    async def set_bindings(self, bindings: Mapping[str, str | None]) -> None:
        if not bindings:
            return
        async with self._db.transaction() as session:
            for account_id, egress_id in bindings.items():
                row = await session.get(models.EgressBinding, account_id)
                if egress_id is None:
                    if row is not None:
                        await session.delete(row)
                elif row is None:
                    session.add(models.EgressBinding(account_id=account_id, egress_id=egress_id))
                else:
                    row.egress_id = egress_id

    def _apply(self, row: models.Egress, changes: Mapping[str, Any]) -> None:
        for field, value in changes.items():
            if field == "proxy_url":
                row.proxy_encrypted = common.seal(self._cipher, value)
            elif field == "asset_proxy_url":
                row.asset_proxy_encrypted = common.seal(self._cipher, value)
            elif field == "clearance":
                self._apply_clearance(row, value)
            elif field == "tags":
                row.tags = list(value)
            else:
                setattr(row, field, value)

    def _apply_clearance(self, row: models.Egress, clearance: records.Clearance | None) -> None:
        row.clearance_encrypted = common.seal(self._cipher, clearance.cookies if clearance else "")
        row.clearance_user_agent = clearance.user_agent if clearance else ""
        row.clearance_obtained_at = clearance.obtained_at if clearance else None
        row.clearance_expires_at = clearance.expires_at if clearance else None
        row.clearance_source = clearance.source.value if clearance else ""

    def _record(self, row: models.Egress) -> records.EgressRecord:
        return records.EgressRecord(
            id=row.id,
            name=row.name,
            proxy_url=common.unseal(self._cipher, row.proxy_encrypted),
            asset_proxy_url=common.unseal(self._cipher, row.asset_proxy_encrypted),
            tags=tuple(row.tags or ()),
            enabled=row.enabled,
            max_inflight=row.max_inflight,
            browser=row.browser,
            user_agent=row.user_agent,
            clearance=common.clearance_of(
                self._cipher,
                sealed=row.clearance_encrypted,
                user_agent=row.clearance_user_agent,
                obtained_at=row.clearance_obtained_at,
                expires_at=row.clearance_expires_at,
                source=row.clearance_source,
            ),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
