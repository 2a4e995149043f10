"""Accounts in the Redis store (``AccountRepository`` on hashes and index sets).

Every write runs as a WATCH/MULTI transaction over the account's hash and its
fingerprint key, so two replicas can neither store one credential twice nor leave the
index sets out of step with the hashes.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from .. import crypto, errors, importing, records, translate, urls
from . import codec, transactions
from .keys import Keys

IMPORT_CHUNK = 500


class RedisAccountStore:
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

    async def add(self, account: records.NewAccount) -> records.AccountRecord:
        account = importing.validated(account)
        fingerprint = self._cipher.fingerprint(account.credential)

        async def body(pipe: Pipeline) -> codec.Hash:
            holder = codec.text_or_none(await pipe.get(self._keys.fingerprint(fingerprint)))
            if holder is not None:
                raise errors.DuplicateError(f"this credential is already account {holder}")
            new = self._new_hash(account, fingerprint, records.utcnow())
            pipe.multi()
            codec.queue_write(pipe, self._keys, old=None, new=new)
            return new

        async with translate.driver_errors(self._location):
            stored = await transactions.run(
                self._redis, watch=[self._keys.fingerprint(fingerprint)], body=body
            )
        return codec.decode(stored, cipher=self._cipher)

    async def upsert(self, account: records.NewAccount) -> records.UpsertResult:
        account = importing.validated(account)
        result = await self._upsert(account, created_at=records.utcnow(), update_existing=True)
        stored, created, _changed = result
        return records.UpsertResult(
            account=codec.decode(stored, cipher=self._cipher), created=created
        )

    async def bulk_upsert(
        self, accounts: Iterable[records.NewAccount], *, update_existing: bool = True
    ) -> records.ImportCounts:
        prepared = importing.prepare(accounts, cipher=self._cipher)
        added = updated = 0
        skipped = prepared.dropped
        start = records.utcnow()
        for number, chunk in enumerate(importing.chunks(prepared.accounts, IMPORT_CHUNK)):
            # Distinct microseconds keep the import order in listings.
            base = start + timedelta(microseconds=number * IMPORT_CHUNK)
            existing = await self._insert_new(chunk, base=base)
            added += len(chunk) - len(existing)
            for account in existing:
                _stored, created, changed = await self._upsert(
                    account, created_at=base, update_existing=update_existing
                )
                added += created
                updated += changed and not created
                skipped += not changed
        return records.ImportCounts(added=added, updated=updated, skipped=skipped)

    async def _insert_new(
        self, chunk: tuple[tuple[str, records.NewAccount], ...], *, base: datetime
    ) -> builtins.list[records.NewAccount]:
        """Insert, in one transaction, the accounts whose credential is not stored yet;
        return the others (they need the per-account read-modify-write of ``_upsert``)."""
        fingerprint_keys = [self._keys.fingerprint(fingerprint) for fingerprint, _ in chunk]

        async def body(pipe: Pipeline) -> builtins.list[records.NewAccount]:
            holders = await pipe.mget(fingerprint_keys)
            pipe.multi()
            existing = []
            for position, ((fingerprint, account), holder) in enumerate(
                zip(chunk, holders, strict=True)
            ):
                if holder is not None:
                    existing.append(account)
                    continue
                created_at = base + timedelta(microseconds=position)
                new = self._new_hash(account, fingerprint, created_at)
                codec.queue_write(pipe, self._keys, old=None, new=new)
            return existing

        async with translate.driver_errors(self._location):
            return await transactions.run(self._redis, watch=fingerprint_keys, body=body)

    async def _upsert(
        self, account: records.NewAccount, *, created_at: datetime, update_existing: bool
    ) -> tuple[codec.Hash, bool, bool]:
        """Returns the stored hash, whether it was created, and whether it changed."""
        fingerprint = self._cipher.fingerprint(account.credential)

        async def body(pipe: Pipeline) -> tuple[codec.Hash, bool, bool]:
            holder = codec.text_or_none(await pipe.get(self._keys.fingerprint(fingerprint)))
            if holder is None:
                new = self._new_hash(account, fingerprint, created_at)
                pipe.multi()
                codec.queue_write(pipe, self._keys, old=None, new=new)
                return new, True, True
            await pipe.watch(self._keys.account(holder))
            old = codec.hash_of(await pipe.hgetall(self._keys.account(holder)))
            changes = importing.import_changes(account) if update_existing else {}
            changes = importing.differing(codec.decode(old, cipher=self._cipher), changes)
            new = codec.changed_hash(old, changes, cipher=self._cipher, now=records.utcnow())
            pipe.multi()
            if changes:
                codec.queue_write(pipe, self._keys, old=old, new=new)
            return (new if changes else old), False, bool(changes)

        async with translate.driver_errors(self._location):
            return await transactions.run(
                self._redis, watch=[self._keys.fingerprint(fingerprint)], body=body
            )

    async def get(self, account_id: str) -> records.AccountRecord | None:
        async with translate.driver_errors(self._location):
            stored = codec.hash_of(await self._redis.hgetall(self._keys.account(account_id)))
        return codec.decode(stored, cipher=self._cipher) if stored else None

    async def find_by_credential(self, credential: str) -> records.AccountRecord | None:
        fingerprint = self._cipher.fingerprint(credential.strip())
        async with translate.driver_errors(self._location):
            account_id = codec.text_or_none(
                await self._redis.get(self._keys.fingerprint(fingerprint))
            )
        return await self.get(account_id) if account_id else None

    async def update(self, account_id: str, patch: records.AccountPatch) -> records.AccountRecord:
        changes = importing.patch_changes(patch)

        async def body(pipe: Pipeline) -> codec.Hash:
            old = codec.hash_of(await pipe.hgetall(self._keys.account(account_id)))
            if not old:
                raise errors.NotFoundError(f"no account {account_id!r}")
            new = codec.changed_hash(old, changes, cipher=self._cipher, now=records.utcnow())
            if new["fingerprint"] != old["fingerprint"]:
                await pipe.watch(self._keys.fingerprint(new["fingerprint"]))
                holder = codec.text_or_none(
                    await pipe.get(self._keys.fingerprint(new["fingerprint"]))
                )
                if holder is not None and holder != account_id:
                    raise errors.DuplicateError(f"this credential is already account {holder}")
            pipe.multi()
            codec.queue_write(pipe, self._keys, old=old, new=new)
            return new

        async with translate.driver_errors(self._location):
            stored = await transactions.run(
                self._redis, watch=[self._keys.account(account_id)], body=body
            )
        return codec.decode(stored, cipher=self._cipher)

    async def save_quotas(self, checkpoints: Mapping[str, records.QuotaCheckpoint]) -> int:
        written = 0
        for account_id, checkpoint in checkpoints.items():
            patch = records.AccountPatch(
                quota=checkpoint.quota, last_used_at=checkpoint.last_used_at
            )
            try:
                await self.update(account_id, patch)
            except errors.NotFoundError:
                continue  # removed since the hot state counted it
            written += 1
        return written

    async def list(
        self,
        *,
        filters: records.AccountFilter = records.AccountFilter(),
        offset: int = 0,
        limit: int = 50,
    ) -> records.AccountPage:
        async with translate.driver_errors(self._location):
            ids = await self._matching_ids(filters)
            page = ids[offset : offset + limit]
            async with self._redis.pipeline(transaction=False) as pipe:
                for account_id in page:
                    pipe.hgetall(self._keys.account(account_id))
                hashes = await pipe.execute()
        items = tuple(codec.decode(stored, cipher=self._cipher) for stored in hashes if stored)
        return records.AccountPage(items=items, total=len(ids), offset=offset, limit=limit)

    async def _matching_ids(self, filters: records.AccountFilter) -> builtins.list[str]:
        ids = codec.texts(await self._redis.zrange(self._keys.accounts, 0, -1))
        index_sets = []
        if filters.status is not None:
            index_sets.append(self._keys.status(filters.status.value))
        if filters.tier is not None:
            index_sets.append(self._keys.tier(filters.tier.value))
        if filters.tag is not None:
            index_sets.append(self._keys.tag(filters.tag.strip()))
        if index_sets:
            members = set(await self._redis.sinter(index_sets))
            ids = [account_id for account_id in ids if account_id in members]
        search = (filters.search or "").strip()
        if filters.enabled is None and not search:
            return ids
        async with self._redis.pipeline(transaction=False) as pipe:
            for account_id in ids:
                pipe.hmget(self._keys.account(account_id), ["enabled", "note", "fingerprint"])
            fields = await pipe.execute()
        fingerprint = self._cipher.fingerprint(search) if search else ""
        kept = []
        for account_id, (enabled, note, stored_fingerprint) in zip(ids, fields, strict=True):
            if filters.enabled is not None and (enabled == "1") != filters.enabled:
                continue
            if search and not (
                search.lower() in account_id.lower()
                or search.lower() in (note or "").lower()
                or stored_fingerprint == fingerprint
            ):
                continue
            kept.append(account_id)
        return kept

    async def remove(self, account_id: str) -> bool:
        async def body(pipe: Pipeline) -> bool:
            old = codec.hash_of(await pipe.hgetall(self._keys.account(account_id)))
            pipe.multi()
            if old:
                codec.queue_delete(pipe, self._keys, old=old)
            return bool(old)

        async with translate.driver_errors(self._location):
            return await transactions.run(
                self._redis, watch=[self._keys.account(account_id)], body=body
            )

    async def iter_all(self, *, batch_size: int = 500) -> AsyncIterator[records.AccountRecord]:
        start = 0
        while True:
            async with translate.driver_errors(self._location):
                ids = codec.texts(
                    await self._redis.zrange(self._keys.accounts, start, start + batch_size - 1)
                )
                async with self._redis.pipeline(transaction=False) as pipe:
                    for account_id in ids:
                        pipe.hgetall(self._keys.account(account_id))
                    hashes = await pipe.execute()
            for stored in hashes:
                if stored:
                    yield codec.decode(stored, cipher=self._cipher)
            if len(ids) < batch_size:
                return
            start += batch_size

    def _new_hash(
        self, account: records.NewAccount, fingerprint: str, created_at: datetime
    ) -> codec.Hash:
        return codec.new_hash(
            account,
            account_id=uuid.uuid4().hex,
            fingerprint=fingerprint,
            cipher=self._cipher,
            now=created_at,
        )
