"""Account management: add/update, remove, get, list, export, statistics.

The durable store is written first (it is the truth), then the hot state, then a change
notice goes to every replica.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from grok2api_poolclient import accounts, errors
from grok2api_poolclient.leases import Tier
from grok2api_storage import errors as store_errors
from grok2api_storage import protocols
from grok2api_storage import records as stored

from . import feed, listing, records
from .hot import base

log = logging.getLogger(__name__)

class AccountManager:
    def __init__(
        self,
        *,
        repo: protocols.AccountRepository,
        hot: base.HotState,
        credentials: feed.CredentialCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._hot = hot
        self._credentials = credentials
        self._clock = clock
        self._catalogue = listing.Catalogue(repo=repo)

    async def upsert(
        self,
        *,
        credential: str | None,
        account_id: str | None,
        tier: Tier | None,
        enabled: bool | None,
        tags: Sequence[str] | None,
        note: str | None,
    ) -> accounts.Account:
        cred = records.normalise_credential(credential) if credential is not None else None
        if cred == "" or (cred is None and not account_id):
            raise errors.InvalidRequest("a credential or an account id is required")
        existing = await self._existing(cred=cred, account_id=account_id)
        reset = bool(enabled) or (cred is not None and existing is not None
                                  and existing.credential != cred)  # fmt: skip
        try:
            if existing is None:
                assert cred is not None
                record = await self._add(cred, tier=tier, enabled=enabled, tags=tags, note=note)
                reset = True
            else:
                patch = stored.AccountPatch(**_patch_fields(
                    cred=cred if cred != existing.credential else None,
                    tier=tier, enabled=enabled, tags=tags, note=note, reset=reset,
                ))  # fmt: skip
                record = (
                    await self._repo.update(existing.id, patch) if patch.changes() else existing
                )
        except store_errors.DuplicateError as exc:
            raise errors.InvalidRequest("that credential belongs to another account") from exc
        except store_errors.InvalidRecordError as exc:
            raise errors.InvalidRequest(str(exc)) from exc
        # an operator's edit (re-enabled, new credential, tier, ...) is a reason to try the
        # products the upstream refused the account again
        await self._hot.put(records.seed_of(record, reset=reset, clear_refusals=True))
        self._credentials.put(record.id, record.credential, record.user_id)
        self._catalogue.forget(record.id)
        await self._hot.publish(feed.encode(accounts.ChangeKind.UPSERTED, record.id))
        return await self.view(record)

    async def set_user_id(self, account_id: str, user_id: str) -> None:
        """Store the account's grok.com user id ("" forgets it); every replica's next lease
        of the account reads it (the change notice drops their cached identity). A value
        already stored is not written again: replicas discovering it at once cost reads."""
        value = _user_id(user_id)
        if not account_id:
            raise errors.InvalidRequest("an account id is required")
        record = await self._repo.get(account_id)
        if record is None:
            raise errors.AccountNotFound(f"no account {account_id}")
        if record.user_id == value:
            return
        try:
            record = await self._repo.update(account_id, stored.AccountPatch(user_id=value))
        except store_errors.NotFoundError as exc:
            raise errors.AccountNotFound(f"no account {account_id}") from exc
        self._credentials.put(record.id, record.credential, record.user_id)
        await self._hot.publish(feed.encode(accounts.ChangeKind.UPSERTED, record.id))
        log.info("account_user_id_recorded account=%s", record.id)

    async def _existing(
        self, *, cred: str | None, account_id: str | None
    ) -> stored.AccountRecord | None:
        if account_id:
            record = await self._repo.get(account_id)
            if record is None:
                raise errors.AccountNotFound(f"no account {account_id}")
            return record
        assert cred is not None
        return await self._repo.find_by_credential(cred)

    async def _add(
        self,
        cred: str,
        *,
        tier: Tier | None,
        enabled: bool | None,
        tags: Sequence[str] | None,
        note: str | None,
    ) -> stored.AccountRecord:
        new = stored.NewAccount(
            credential=cred,
            tier=stored.AccountTier(tier.value) if tier else None,
            enabled=True if enabled is None else enabled,
            tags=tuple(tags or ()),
            note=note or "",
        )
        result = await self._repo.upsert(new)  # a racing replica may have added it first
        return result.account

    async def remove(self, account_id: str) -> None:
        if not await self._repo.remove(account_id):
            raise errors.AccountNotFound(f"no account {account_id}")
        await self._hot.remove(account_id)
        self._catalogue.forget(account_id)
        self._credentials.drop(account_id)
        await self._hot.publish(feed.encode(accounts.ChangeKind.REMOVED, account_id))

    async def get(self, account_id: str) -> accounts.Account:
        record = await self._repo.get(account_id)
        if record is None:
            raise errors.AccountNotFound(f"no account {account_id}")
        return await self.view(record)

    async def find(self, account_id: str) -> stored.AccountRecord | None:
        return await self._repo.get(account_id)

    async def view(self, record: stored.AccountRecord) -> accounts.Account:
        hot = (await self._hot.accounts([record.id])).get(record.id)
        return records.view_of(record, hot, now=self._clock())

    async def list(
        self,
        *,
        tier: Tier | None,
        status: accounts.AccountStatus | None,
        tag: str | None,
        search: str | None,
        page_size: int,
        page_token: str,
        sort: accounts.AccountSort = accounts.AccountSort.ID,
        descending: bool = False,
    ) -> accounts.AccountPage:
        return await listing.page(
            catalogue=self._catalogue, repo=self._repo, hot=self._hot, now=self._clock(),
            tier=tier, status=status, tag=tag, search=search, page_size=page_size,
            page_token=page_token, sort=sort, descending=descending,
        )  # fmt: skip

    def forget(self, account_id: str) -> None:
        """Another replica changed the account: the next listing reads it again."""
        self._catalogue.forget(account_id)

    async def export(self) -> AsyncIterator[accounts.ExportedAccount]:
        async for record in self._repo.iter_all():
            view = records.view_of(record, None, now=self._clock())
            yield accounts.ExportedAccount(
                credential=record.credential,
                tier=records.tier_of(record),
                status=view.status,
                enabled=record.enabled,
                tags=tuple(record.tags),
                note=record.note,
            )

    async def stats(self) -> accounts.PoolStats:
        hot = await self._hot.accounts()
        now = self._clock()
        by_tier: dict[Tier, tuple[dict[str, int], dict[str, int]]] = {t: ({}, {}) for t in Tier}
        for acct in hot.values():
            status = acct.status
            if status is accounts.AccountStatus.COOLING and (acct.cooling_until or 0) <= now:
                status = accounts.AccountStatus.ACTIVE
            counts, remaining = by_tier[acct.tier]
            counts[status.value] = counts.get(status.value, 0) + 1
            if status is accounts.AccountStatus.ACTIVE:
                for window in acct.quota:
                    remaining[window.mode] = remaining.get(window.mode, 0) + window.remaining
        return accounts.PoolStats(
            total_accounts=len(hot),
            leases_in_flight=await self._hot.leases_in_flight(),
            tiers=tuple(
                accounts.TierStats(tier=t, by_status=c, remaining_by_mode=r)
                for t, (c, r) in by_tier.items()
            ),
        )


def _user_id(value: str) -> str:
    """"" or the canonical form of a UUID; anything else is ``InvalidRequest``."""
    text = value.strip()
    if not text:
        return ""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise errors.InvalidRequest("a user id is a UUID") from None


def _patch_fields(
    *,
    cred: str | None,
    tier: Tier | None,
    enabled: bool | None,
    tags: Sequence[str] | None,
    note: str | None,
    reset: bool,
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if cred is not None:
        fields["credential"] = cred
    if tier is not None:
        fields["tier"] = stored.AccountTier(tier.value)
    if enabled is not None:
        fields["enabled"] = enabled
    if tags is not None:
        fields["tags"] = tuple(tags)
    if note is not None:
        fields["note"] = note
    if reset:
        fields["status"] = stored.AccountStatus.ACTIVE
        fields["fail_count"] = 0
    return fields
