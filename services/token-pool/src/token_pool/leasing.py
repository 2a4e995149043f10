"""Acquire and release: the hot path, kept to one hot-state call each way.

The credential comes from a per-replica cache (filled from the durable store on a miss).
When the hot state is empty (first start, Redis flushed or restarted) it is rebuilt from
the durable store, the source of truth for accounts, and the acquire retried once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence

from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, ChangeKind
from grok2api_poolclient.leases import Lease, Outcome, QuotaFigures
from grok2api_settings import Settings
from grok2api_storage import protocols
from grok2api_storage import records as stored

from . import catalogue, feed, metrics, quotas, records
from .hot import base

log = logging.getLogger(__name__)


class Leaser:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: protocols.AccountRepository,
        hot: base.HotState,
        resolve: catalogue.ModelResolver,
        credentials: feed.CredentialCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._hot = hot
        self._resolve = resolve
        self._credentials = credentials
        self._clock = clock
        self._rebuild_lock = asyncio.Lock()
        self._loading: dict[str, asyncio.Future[str]] = {}

    def charge(self, model: str) -> catalogue.ModelCharge:
        return self._resolve(model)

    async def acquire(
        self, *, model: str, cost: int | None, exclude: Sequence[str]
    ) -> tuple[Lease, catalogue.ModelCharge]:
        charge = self._resolve(model)
        token = self._settings().token
        now = self._clock()
        params = base.AcquireParams(
            tiers=quotas.candidate_tiers(charge.min_tier),
            mode=charge.mode,
            cost=charge.cost if cost is None or cost <= 0 else cost,
            exclude=frozenset(exclude),
            lease_id=uuid.uuid4().hex,
            now=now,
            expires_at=now + token.lease_ttl_seconds,
            max_inflight=token.max_inflight_per_account,
            policy=token.selection_policy,
            defaults=quotas.DEFAULT_WINDOWS,
        )
        try:
            reservation = await self._hot.acquire(params)
        except base.NotReady:
            await self.rebuild()
            reservation = await self._hot.acquire(params)
        credential = await self._credential(reservation.account_id)
        lease = Lease(
            lease_id=params.lease_id,
            account_id=reservation.account_id,
            credential=credential,
            tier=reservation.tier,
            mode=params.mode,
            cost=params.cost,
            expires_at=params.expires_at,
        )
        return lease, charge

    async def _credential(self, account_id: str) -> str:
        credential = self._credentials.get(account_id)
        if credential is not None:
            return credential
        # One store read per account however many acquires miss it at the same moment.
        pending = self._loading.get(account_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load_credential(account_id))
            self._loading[account_id] = pending
            pending.add_done_callback(lambda _: self._loading.pop(account_id, None))
        return await asyncio.shield(pending)

    async def _load_credential(self, account_id: str) -> str:
        record = await self._repo.get(account_id)
        if record is None:
            raise errors.AccountNotFound(f"account {account_id} vanished from the store")
        self._credentials.put(account_id, record.credential)
        return record.credential

    async def warm(self) -> None:
        """Fill the credential cache from the store (a replica joining a ready hot state)."""
        async for record in self._repo.iter_all():
            self._credentials.put(record.id, record.credential)

    async def release(
        self,
        lease: Lease,
        *,
        outcome: Outcome,
        retry_after: float | None,
        quota: Sequence[QuotaFigures],
    ) -> None:
        token = self._settings().token
        result = await self._hot.release(
            base.ReleaseParams(
                lease_id=lease.lease_id,
                account_id=lease.account_id,
                mode=lease.mode,
                cost=lease.cost,
                outcome=outcome,
                now=self._clock(),
                retry_after=retry_after,
                figures=tuple(quota),
                fail_threshold=token.fail_threshold,
                default_window_seconds=quotas.DEFAULT_WINDOWS[lease.tier].window_seconds,
            )
        )
        metrics.OUTCOMES.labels(outcome=outcome.value, tier=lease.tier.value).inc()
        if result is None or result.status is result.previous_status:
            return
        log.info("account_status_changed account=%s status=%s", lease.account_id, result.status)
        if result.status is AccountStatus.INVALID:
            patch = stored.AccountPatch(
                status=stored.AccountStatus.INVALID, fail_count=token.fail_threshold
            )
            await self._repo.update(lease.account_id, patch)
        await self._hot.publish(feed.encode(ChangeKind.STATE_CHANGED, lease.account_id))

    async def rebuild(self) -> None:
        """Load every durable account into the hot state, then mark it ready."""
        async with self._rebuild_lock:
            if await self._hot.is_ready():
                await self.warm()
                return
            count = 0
            async for record in self._repo.iter_all():
                await self._hot.put(records.seed_of(record))
                self._credentials.put(record.id, record.credential)
                count += 1
            await self._hot.mark_ready()
            log.info("hot_state_rebuilt accounts=%d", count)
