"""Usage refresh: re-read quota windows from the upstream.

* ``refresh(ids)`` streams one ``RefreshProgress`` per account then a summary; at most
  ``performance.usage_max_tokens`` accounts, in batches of ``usage_batch_size``, with
  ``usage_max_concurrent`` calls at a time.
* Only one replica refreshes an account at a time: a ``refresh:<id>`` lock (Redis
  ``SET NX PX``); a locked account is reported as skipped.
* ``run_periodically()`` refreshes accounts whose last refresh is older than
  ``token.refresh_interval_hours`` (basic) / ``super_refresh_interval_hours`` (super,
  heavy) while ``token.auto_refresh`` is on.
* ``reread_all()`` refreshes every usable account (after a hot state lost while running).
* ``on_exhausted(tiers, mode=, cost=)`` is the on-demand refresh of an acquire that found
  no quota: it re-reads the accounts whose window looks too low; a shared lock held for
  ``ON_DEMAND_INTERVAL_SECONDS`` keeps replicas from hammering the upstream.
* A rejected credential makes the account invalid; a tier inferred from the totals is
  stored when the account had none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence

from grok2api_jobs import raise_if_cancelling
from grok2api_poolclient import accounts
from grok2api_poolclient.leases import Tier
from grok2api_settings import Settings
from grok2api_storage import protocols
from grok2api_storage import records as stored

from . import feed, records, usage
from .hot import base
from .metrics import PoolMetrics

log = logging.getLogger(__name__)

LOCK_TTL_SECONDS = 60.0
TICK_SECONDS = 60.0  # how often the periodic loop looks for accounts due a refresh
ON_DEMAND_INTERVAL_SECONDS = 30.0
ON_DEMAND_MAX_WAIT_SECONDS = 10.0  # an acquire waits this long at most for the refresh


class Refresher:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: protocols.AccountRepository,
        hot: base.HotState,
        reader: usage.UsageReader | None,
        credentials: feed.CredentialCache,
        metrics: PoolMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._repo = repo
        self._hot = hot
        self._reader = reader
        self._credentials = credentials
        self._clock = clock

    async def refresh(
        self, account_ids: Sequence[str]
    ) -> AsyncGenerator[accounts.RefreshProgress, None]:
        perf = self._settings().performance
        ids = list(dict.fromkeys(account_ids))[: perf.usage_max_tokens]
        total, done, failed = len(ids), 0, 0
        gate = asyncio.Semaphore(perf.usage_max_concurrent)
        for start in range(0, total, perf.usage_batch_size):
            batch = ids[start : start + perf.usage_batch_size]
            tasks = [asyncio.create_task(self._one(i, gate)) for i in batch]
            try:
                for next_done in asyncio.as_completed(tasks):
                    account_id, ok, error, skipped = await next_done
                    done += 1
                    failed += 0 if ok or skipped else 1
                    yield accounts.RefreshProgress(
                        account_id=account_id, ok=ok, error=error, skipped=skipped,
                        done=done, total=total,
                    )  # fmt: skip
            finally:
                for task in tasks:
                    task.cancel()
        yield accounts.RefreshProgress(
            account_id="", ok=failed == 0, done=done, total=total, finished=True,
            error=f"{failed} failed" if failed else "",
        )  # fmt: skip

    async def _one(self, account_id: str, gate: asyncio.Semaphore) -> tuple[str, bool, str, bool]:
        if self._reader is None:
            return account_id, False, "no upstream client configured", False
        lock = f"refresh:{account_id}"
        token = await self._hot.try_lock(lock, ttl_seconds=LOCK_TTL_SECONDS)
        if token is None:
            return account_id, False, "", True
        try:
            async with gate:
                return account_id, *await self._read(account_id), False
        finally:
            await self._hot.unlock(lock, token)

    async def _read(self, account_id: str) -> tuple[bool, str]:
        """Read one account's usage and apply it, counting how it went."""
        try:
            ok, error = await self._apply(account_id)
        except usage.CredentialRejected:
            self._metrics.refreshed(ok=False, invalid=True)
            return False, "credential rejected"
        except Exception:  # a cancelled refresh is not counted: it did not end
            self._metrics.refreshed(ok=False)
            raise
        self._metrics.refreshed(ok=ok)
        return ok, error

    async def _apply(self, account_id: str) -> tuple[bool, str]:
        assert self._reader is not None
        record = await self._repo.get(account_id)
        if record is None:
            return False, "account not found"
        try:
            answer = await self._reader.read(record.credential)
        except usage.CredentialRejected:
            await self._mark_invalid(record)
            raise
        except usage.UsageUnavailable as exc:
            return False, f"usage unavailable: {exc}"
        now = self._clock()
        await self._hot.apply_usage(account_id, figures=answer.figures, now=now)
        hot = (await self._hot.accounts([account_id])).get(account_id)
        fields: dict[str, object] = {}
        if hot is not None:
            fields["quota"] = records.stored_windows(hot.quota)
        if record.tier is None and answer.tier is not None:
            fields["tier"] = stored.AccountTier(answer.tier.value)
        if fields:
            record = await self._repo.update(account_id, stored.AccountPatch(**fields))  # type: ignore[arg-type]
            await self._hot.put(records.seed_of(record))
        await self._hot.publish(feed.encode(accounts.ChangeKind.STATE_CHANGED, account_id))
        return True, ""

    async def _mark_invalid(self, record: stored.AccountRecord) -> None:
        patch = stored.AccountPatch(status=stored.AccountStatus.INVALID)
        updated = await self._repo.update(record.id, patch)
        await self._hot.put(records.seed_of(updated))
        await self._hot.publish(feed.encode(accounts.ChangeKind.STATE_CHANGED, record.id))
        log.info("account_invalid_on_refresh account=%s", record.id)

    async def reread_all(self) -> None:
        """Every usable account, whatever its last refresh (a rebuilt hot state: what was
        spent after the last quota checkpoint only the upstream knows)."""
        unusable = (accounts.AccountStatus.INVALID, accounts.AccountStatus.DISABLED)
        ids = [a.account_id for a in (await self._hot.accounts()).values()
               if a.status not in unusable]  # fmt: skip
        chunk = self._settings().performance.usage_max_tokens
        failed = 0
        for start in range(0, len(ids), chunk):
            async for progress in self.refresh(ids[start : start + chunk]):
                failed += int(not progress.finished and not progress.ok and not progress.skipped)
        log.info("usage_reread_after_rebuild accounts=%d failed=%d", len(ids), failed)

    async def due(self) -> list[str]:
        """Accounts whose last refresh is older than their tier's interval."""
        token = self._settings().token
        now = self._clock()
        due: list[str] = []
        for acct in (await self._hot.accounts()).values():
            if acct.status in (accounts.AccountStatus.INVALID, accounts.AccountStatus.DISABLED):
                continue
            hours = token.refresh_interval_hours
            if acct.tier is not Tier.BASIC:
                hours = token.super_refresh_interval_hours
            if now - (acct.last_refresh_at or 0) >= hours * 3600:
                due.append(acct.account_id)
        return due

    async def run_periodically(self) -> None:
        while True:
            if self._settings().token.auto_refresh and self._reader is not None:
                try:
                    async for _ in self.refresh(await self.due()):
                        pass
                except Exception:  # the loop must outlive one bad round
                    raise_if_cancelling()  # unless it is a cancel that Redis turned into one
                    log.exception("usage_refresh_round_failed")
            raise_if_cancelling()
            await asyncio.sleep(TICK_SECONDS)

    async def on_exhausted(self, tiers: Sequence[Tier], *, mode: str, cost: int) -> bool:
        """Refresh the candidate tiers' accounts whose ``mode`` window looks too low (at
        most ``usage_batch_size``); True when a refresh ran here."""
        if self._reader is None:
            return False
        lock = f"on-demand:{','.join(tiers)}:{mode}"
        if not await self._hot.try_lock(lock, ttl_seconds=ON_DEMAND_INTERVAL_SECONDS):
            return False
        usable = (accounts.AccountStatus.ACTIVE, accounts.AccountStatus.COOLING)
        ids = [
            a.account_id
            for a in (await self._hot.accounts()).values()
            if a.tier in tiers and a.status in usable and _low(a, mode=mode, cost=cost)
        ][: self._settings().performance.usage_batch_size]
        try:
            async with asyncio.timeout(ON_DEMAND_MAX_WAIT_SECONDS):
                async for _ in self.refresh(ids):
                    pass
        except TimeoutError:
            log.warning("on_demand_refresh_slow mode=%s", mode)
        return bool(ids)


def _low(account: base.HotAccount, *, mode: str, cost: int) -> bool:
    window = next((w for w in account.quota if w.mode == mode), None)
    return window is not None and window.remaining < cost
