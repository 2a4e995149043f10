"""Accounts in the SQL store (``AccountRepository`` on SQLAlchemy)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import crypto, engine, errors, importing, models, records

IMPORT_CHUNK = 500


class SqlAccountStore:
    def __init__(self, *, db: engine.Database, cipher: crypto.CredentialCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(self, account: records.NewAccount) -> records.AccountRecord:
        account = importing.validated(account)
        fingerprint = self._cipher.fingerprint(account.credential)
        async with self._db.transaction() as session:
            existing = await self._by_fingerprint(session, fingerprint)
            if existing is not None:
                raise errors.DuplicateError(f"this credential is already account {existing.id}")
            row = self._new_row(account, fingerprint=fingerprint, now=records.utcnow())
            session.add(row)
        return self._record(row)

    async def upsert(self, account: records.NewAccount) -> records.UpsertResult:
        account = importing.validated(account)
        fingerprint = self._cipher.fingerprint(account.credential)
        try:
            return await self._upsert_once(account, fingerprint)
        except errors.DuplicateError:
            # Another replica inserted the same credential between our read and write.
            return await self._upsert_once(account, fingerprint)

    async def _upsert_once(
        self, account: records.NewAccount, fingerprint: str
    ) -> records.UpsertResult:
        async with self._db.transaction() as session:
            row = await self._by_fingerprint(session, fingerprint)
            if row is None:
                row = self._new_row(account, fingerprint=fingerprint, now=records.utcnow())
                session.add(row)
                created = True
            else:
                changes = importing.differing(self._record(row), importing.import_changes(account))
                self._apply(row, changes)
                created = False
        return records.UpsertResult(account=self._record(row), created=created)

    async def bulk_upsert(
        self, accounts: Iterable[records.NewAccount], *, update_existing: bool = True
    ) -> records.ImportCounts:
        prepared = importing.prepare(accounts, cipher=self._cipher)
        added = updated = 0
        skipped = prepared.dropped
        for chunk in importing.chunks(prepared.accounts, IMPORT_CHUNK):
            try:
                counts = await self._import_chunk(chunk, update_existing=update_existing)
            except errors.DuplicateError:
                counts = await self._import_chunk(chunk, update_existing=update_existing)
            added, updated, skipped = (
                added + counts.added,
                updated + counts.updated,
                skipped + counts.skipped,
            )
        return records.ImportCounts(added=added, updated=updated, skipped=skipped)

    async def _import_chunk(
        self, chunk: tuple[tuple[str, records.NewAccount], ...], *, update_existing: bool
    ) -> records.ImportCounts:
        added = updated = skipped = 0
        now = records.utcnow()
        async with self._db.transaction() as session:
            found = await session.scalars(
                select(models.Account).where(models.Account.fingerprint.in_([f for f, _ in chunk]))
            )
            existing = {row.fingerprint: row for row in found}
            for position, (fingerprint, account) in enumerate(chunk):
                row = existing.get(fingerprint)
                if row is None:
                    # Distinct microseconds keep the import order in listings.
                    created_at = now + timedelta(microseconds=position)
                    session.add(self._new_row(account, fingerprint=fingerprint, now=created_at))
                    added += 1
                    continue
                changes = importing.import_changes(account) if update_existing else {}
                changes = importing.differing(self._record(row), changes)
                if changes:
                    self._apply(row, changes)
                    updated += 1
                else:
                    skipped += 1
        return records.ImportCounts(added=added, updated=updated, skipped=skipped)

    async def get(self, account_id: str) -> records.AccountRecord | None:
        async with self._db.transaction() as session:
            row = await session.get(models.Account, account_id)
            return self._record(row) if row is not None else None

    async def find_by_credential(self, credential: str) -> records.AccountRecord | None:
        fingerprint = self._cipher.fingerprint(credential.strip())
        async with self._db.transaction() as session:
            row = await self._by_fingerprint(session, fingerprint)
            return self._record(row) if row is not None else None

    async def update(self, account_id: str, patch: records.AccountPatch) -> records.AccountRecord:
        changes = importing.patch_changes(patch)
        async with self._db.transaction() as session:
            row = await session.get(models.Account, account_id)
            if row is None:
                raise errors.NotFoundError(f"no account {account_id!r}")
            if "credential" in changes:
                await self._refuse_taken(session, changes["credential"], account_id)
            self._apply(row, changes)
        return self._record(row)

    async def save_quotas(self, checkpoints: Mapping[str, records.QuotaCheckpoint]) -> int:
        if not checkpoints:
            return 0
        async with self._db.transaction() as session:
            stored = (
                await session.execute(
                    select(models.Account.id).where(models.Account.id.in_(list(checkpoints)))
                )
            ).scalars()
            rows = [
                {
                    "id": account_id,
                    "quota": records.quota_to_json(checkpoints[account_id].quota),
                    "last_used_at": checkpoints[account_id].last_used_at,
                }
                for account_id in stored
            ]
            if rows:  # one UPDATE by primary key, executed for every row
                await session.execute(update(models.Account), rows)
        return len(rows)

    async def list(
        self,
        *,
        filters: records.AccountFilter = records.AccountFilter(),
        offset: int = 0,
        limit: int = 50,
    ) -> records.AccountPage:
        conditions = self._conditions(filters)
        async with self._db.transaction() as session:
            total = await session.scalar(
                select(func.count()).select_from(models.Account).where(*conditions)
            )
            rows = await session.scalars(
                select(models.Account)
                .where(*conditions)
                .order_by(models.Account.created_at, models.Account.id)
                .offset(offset)
                .limit(limit)
            )
            items = tuple(self._record(row) for row in rows)
        return records.AccountPage(items=items, total=int(total or 0), offset=offset, limit=limit)

    async def remove(self, account_id: str) -> bool:
        async with self._db.transaction() as session:
            row = await session.get(models.Account, account_id)
            if row is None:
                return False
            await session.delete(row)
            return True

    async def iter_all(self, *, batch_size: int = 500) -> AsyncIterator[records.AccountRecord]:
        last = ""
        while True:
            async with self._db.transaction() as session:
                rows = list(
                    await session.scalars(
                        select(models.Account)
                        .where(models.Account.id > last)
                        .order_by(models.Account.id)
                        .limit(batch_size)
                    )
                )
                batch = [self._record(row) for row in rows]
            for record in batch:
                yield record
            if len(batch) < batch_size:
                return
            last = batch[-1].id

    def _conditions(self, filters: records.AccountFilter) -> builtins.list[ColumnElement[bool]]:
        account = models.Account
        conditions: list[ColumnElement[bool]] = []
        if filters.status is not None:
            conditions.append(account.status == filters.status.value)
        if filters.tier is not None:
            conditions.append(account.tier == filters.tier.value)
        if filters.enabled is not None:
            conditions.append(account.enabled == filters.enabled)
        if filters.tag is not None:
            tagged = select(models.AccountTag.account_id).where(
                models.AccountTag.tag == filters.tag.strip()
            )
            conditions.append(account.id.in_(tagged))
        if filters.search and filters.search.strip():
            term = filters.search.strip()
            conditions.append(
                or_(
                    func.lower(account.id).contains(term.lower(), autoescape=True),
                    func.lower(account.note).contains(term.lower(), autoescape=True),
                    account.fingerprint == self._cipher.fingerprint(term),
                )
            )
        return conditions

    async def _by_fingerprint(
        self, session: AsyncSession, fingerprint: str
    ) -> models.Account | None:
        return await session.scalar(
            select(models.Account).where(models.Account.fingerprint == fingerprint)
        )

    async def _refuse_taken(self, session: AsyncSession, credential: str, account_id: str) -> None:
        holder = await self._by_fingerprint(session, self._cipher.fingerprint(credential))
        if holder is not None and holder.id != account_id:
            raise errors.DuplicateError(f"this credential is already account {holder.id}")

    def _new_row(
        self, account: records.NewAccount, *, fingerprint: str, now: datetime
    ) -> models.Account:
        row = models.Account(
            id=uuid.uuid4().hex,
            credential_encrypted=self._cipher.encrypt(account.credential),
            fingerprint=fingerprint,
            tier=account.tier.value if account.tier else None,
            status=account.status.value,
            enabled=account.enabled,
            note=account.note,
            fail_count=0,
            quota=records.quota_to_json(account.quota),
            last_used_at=None,
            created_at=now,
            updated_at=now,
            user_id="",
        )
        row.tag_rows = [
            models.AccountTag(tag=tag, position=index) for index, tag in enumerate(account.tags)
        ]
        return row

    def _apply(self, row: models.Account, changes: dict[str, Any]) -> None:
        if not changes:
            return
        for key, value in changes.items():
            if key == "credential":
                row.credential_encrypted = self._cipher.encrypt(value)
                row.fingerprint = self._cipher.fingerprint(value)
            elif key == "tags":
                kept = {tag_row.tag: tag_row for tag_row in row.tag_rows}
                new_rows = [kept.get(tag) or models.AccountTag(tag=tag) for tag in value]
                for index, tag_row in enumerate(new_rows):
                    tag_row.position = index
                row.tag_rows = new_rows
            elif key == "quota":
                row.quota = records.quota_to_json(value)
            elif key in ("tier", "status"):
                setattr(row, key, value.value if value is not None else None)
            else:
                setattr(row, key, value)
        row.updated_at = records.utcnow()

    def _record(self, row: models.Account) -> records.AccountRecord:
        return records.AccountRecord(
            id=row.id,
            credential=self._cipher.decrypt(row.credential_encrypted),
            fingerprint=row.fingerprint,
            tier=records.AccountTier(row.tier) if row.tier else None,
            status=records.AccountStatus(row.status),
            enabled=row.enabled,
            tags=tuple(tag_row.tag for tag_row in row.tag_rows),
            note=row.note,
            fail_count=row.fail_count,
            quota=records.quota_from_json(row.quota),
            last_used_at=row.last_used_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            user_id=row.user_id or "",
        )
