"""``PoolService``: the token pool, satisfying ``grok2api_poolclient.PoolClient`` in-process.

The single-process mode hands this object to its callers directly; the gRPC server wraps
it for the others. ``start()`` launches its supervised background work (``background``:
change notices, lease reaper, metrics, periodic refresh) and ``aclose()`` stops it. The
pool-wide gauges are reported by one replica only (``gauge_reporting``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from grok2api_jobs import leadership as leaders
from grok2api_jobs import raise_if_cancelling
from grok2api_poolclient import accounts, egresses, errors
from grok2api_poolclient.leases import Lease, Outcome, QuotaFigures, Tier
from grok2api_settings import Settings
from grok2api_storage import protocols
from grok_web import client as grok_client
from prometheus_client import REGISTRY, CollectorRegistry

from . import (
    acquiring,
    actions,
    catalogue,
    checkpoint,
    feed,
    gauge_reporting,
    leasing,
    management,
    refresh,
    translate,
    usage,
)
from .background import BackgroundJobs, Job
from .egress import clearance, probe, probe_client
from .egress import management as egress_management
from .egress import pool as egress_pool
from .gauge_reporting import METRICS_INTERVAL_SECONDS, METRICS_LEASE_SECONDS
from .hot import base
from .metrics import PoolMetrics

__all__ = ["METRICS_INTERVAL_SECONDS", "METRICS_LEASE_SECONDS", "PoolService"]

log = logging.getLogger(__name__)


class PoolService:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: protocols.AccountRepository,
        hot: base.HotState,
        reader: usage.UsageReader | None = None,
        upstream: actions.AccountUpstream | None = None,
        resolve: catalogue.ModelResolver = catalogue.from_catalogue,
        clock: Callable[[], float] = time.time,
        leadership: leaders.Leadership | None = None,
        registry: CollectorRegistry = REGISTRY,
        egresses: protocols.EgressRepository | None = None,
        solver: clearance.SolverFactory = clearance.default_solver,
        grok: grok_client.GrokClient | None = None,
    ) -> None:
        """``leadership``: who reports the pool-wide gauges (None: this replica alone, the
        single-process mode); ``registry``: where the ``grok2api_pool_*`` metrics live;
        ``egresses``: the stored egresses (None: only the settings' one-egress pool);
        ``solver``: builds the clearance solver from the settings (tests inject theirs);
        ``grok``: the upstream client egress tests fetch with (None: one of its own, built
        from the settings on first use and closed with the pool)."""
        self._settings = settings
        self._hot = hot
        credentials = feed.CredentialCache()
        self._credentials = credentials
        self.metrics = PoolMetrics.on(registry)
        self._jobs = BackgroundJobs()
        common: dict[str, Any] = {"repo": repo, "hot": hot, "credentials": credentials}
        self.egress = egress_pool.EgressPool(
            settings=settings, hot=hot, repo=egresses or egress_pool.NoStoredEgresses(),
            clock=clock, registry=registry, solver=solver,
        )  # fmt: skip
        self.checkpoints = checkpoint.QuotaCheckpointer(settings=settings, repo=repo, hot=hot)
        self._leaser = leasing.Leaser(
            settings=settings, resolve=resolve, clock=clock, metrics=self.metrics,
            egress=self.egress, checkpoints=self.checkpoints, on_rebuilt=self._reread_usage,
            **common,
        )  # fmt: skip
        self._manager = management.AccountManager(clock=clock, **common)
        self._gauges = gauge_reporting.GaugeReporter(
            leadership=leadership or leaders.SoleLeadership(), stats=self._manager.stats,
            metrics=self.metrics, egress=self.egress,
        )  # fmt: skip
        self._probe_client = probe_client.ProbeClient(settings=settings, given=grok)
        self._egresses = egress_management.EgressManager(
            pool=self.egress, hot=hot, settings=settings, clock=clock,
            prober=probe.Prober(
                client=self._probe_client.get,
                solver_configured=lambda: bool(settings().egress.solver_url),
            ),
        )  # fmt: skip
        self.refresher = refresh.Refresher(
            settings=settings, reader=reader, clock=clock, metrics=self.metrics, **common
        )
        self._acquirer = acquiring.Acquirer(
            leaser=self._leaser, refresher=self.refresher, metrics=self.metrics
        )
        self._actions = actions.ActionRunner(settings=settings, repo=repo, upstream=upstream)
        self._clock = clock

    async def start(self, *, background: bool = True) -> None:
        """Build the hot state if needed; with ``background``, start the supervised loops."""
        await self.egress.registry.load()
        await self._leaser.rebuild()
        await self.egress.binder.bind_all()
        if not background:
            return
        listening = asyncio.Event()
        jobs: tuple[tuple[str, Job], ...] = (
            ("notices", lambda: self._follow_notices(listening)),
            ("reaper", self._reap),
            ("metrics", self._gauges.run_periodically),
            ("refresh", self.refresher.run_periodically),
            ("clearance", self.egress.clearance.run_periodically),
            ("egress-bindings", self.egress.run_periodically),
            ("quota-checkpoint", self.checkpoints.run_periodically),
        )
        for name, job in jobs:
            self._jobs.start(name, job)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await listening.wait()

    async def aclose(self) -> None:
        await self._jobs.aclose()
        await self.checkpoints.final()
        await self.egress.clearance.aclose()
        await self._probe_client.aclose()
        await self._gauges.stop()

    def _reread_usage(self) -> None:
        """A hot state lost while running was rebuilt from the last quota checkpoint; what
        was spent after it only the upstream knows, so every usable account is re-read."""
        if self._settings().token.refresh_after_rebuild:
            self._jobs.start_once("usage-reread", self.refresher.reread_all)

    async def _follow_notices(self, listening: asyncio.Event) -> None:
        stream = self._hot.subscribe()
        listening.set()
        async for message in stream:
            raise_if_cancelling()
            if egress_pool.is_notice(message):
                await self.egress.reload()
                raise_if_cancelling()  # a cancel lost in the reload's Redis calls
                continue
            decoded = feed.decode(message)
            if decoded is None:
                continue
            kind, account_id = decoded
            # Only these can change a credential; state changes (429s) must not cost reads.
            if kind is not accounts.ChangeKind.STATE_CHANGED:
                self._credentials.drop(account_id)
                self._manager.forget(account_id)

    async def _reap(self) -> None:
        while True:
            ttl = self._settings().token.lease_ttl_seconds
            await asyncio.sleep(min(max(ttl / 4, 0.05), 5.0))
            reclaimed = await self._hot.reclaim(now=self._clock())
            raise_if_cancelling()
            if reclaimed:
                log.info("leases_reclaimed count=%d", reclaimed)

    async def report_metrics(self) -> bool:
        """One round of the metrics loop (``GaugeReporter.report``): whether this replica
        reports the pool-wide gauges now."""
        return await self._gauges.report()

    async def acquire(
        self,
        *,
        model: str,
        cost: int | None = None,
        exclude: Sequence[str] = (),
        request_id: str = "",
        prefer_tier: str = "",
        account_id: str = "",
        account_tags: Sequence[str] = (),
    ) -> Lease:
        order = leasing.AcquireOrder(
            model=model, cost=cost, exclude=exclude, prefer_tier=prefer_tier,
            account_id=account_id, account_tags=account_tags,
        )  # fmt: skip
        return await self._acquirer.acquire(order)

    async def release(
        self,
        lease: Lease,
        *,
        outcome: Outcome,
        retry_after: float | None = None,
        quota: Sequence[QuotaFigures] = (),
    ) -> None:
        with translate.pool_errors():
            await self._leaser.release(lease, outcome=outcome, retry_after=retry_after, quota=quota)

    async def renew(self, lease: Lease) -> float | None:
        with translate.pool_errors():
            return await self._leaser.renew(lease)

    async def lease_batch(
        self,
        *,
        acquires: Sequence[leasing.AcquireOrder] = (),
        releases: Sequence[leasing.ReleaseOrder] = (),
    ) -> tuple[list[Lease | errors.PoolError], list[errors.PoolError | None]]:
        """Many acquires and releases at once (the batched gRPC stream): releases first.

        One answer per order, in order: a lease or the ``PoolError`` the item came to (as
        ``acquire`` would have raised it); None for a release that went through. A failure
        of the whole batch (Redis down) raises instead.
        """
        return await self._acquirer.run(acquires=acquires, releases=releases)

    async def set_user_id(self, account_id: str, user_id: str) -> None:
        with translate.pool_errors():
            await self._manager.set_user_id(account_id, user_id)

    async def upsert_account(
        self,
        *,
        credential: str | None = None,
        account_id: str | None = None,
        tier: Tier | None = None,
        enabled: bool | None = None,
        tags: Sequence[str] | None = None,
        note: str | None = None,
    ) -> accounts.Account:
        with translate.pool_errors():
            account = await self._manager.upsert(
                credential=credential, account_id=account_id, tier=tier, enabled=enabled,
                tags=tags, note=note,
            )  # fmt: skip
            await self.egress.account_changed(account.account_id, account.tags)
            return account

    async def remove_account(self, account_id: str) -> None:
        with translate.pool_errors():
            await self._manager.remove(account_id)
            await self.egress.repo.set_bindings({account_id: None})

    async def get_account(self, account_id: str) -> accounts.Account:
        with translate.pool_errors():
            return await self._manager.get(account_id)

    async def list_accounts(
        self,
        *,
        tier: Tier | None = None,
        status: accounts.AccountStatus | None = None,
        tag: str | None = None,
        search: str | None = None,
        page_size: int = 100,
        page_token: str = "",
        sort: accounts.AccountSort = accounts.AccountSort.ID,
        descending: bool = False,
    ) -> accounts.AccountPage:
        with translate.pool_errors():
            return await self._manager.list(
            tier=tier, status=status, tag=tag, search=search, page_size=page_size,
            page_token=page_token, sort=sort, descending=descending,
        )  # fmt: skip

    async def refresh_usage(
        self, account_ids: Sequence[str] = (), *, all_accounts: bool = False
    ) -> AsyncIterator[accounts.RefreshProgress]:
        with translate.pool_errors():
            ids = list(account_ids)
            if all_accounts:
                ids = sorted(await self._hot.accounts())
            async with contextlib.aclosing(self.refresher.refresh(ids)) as stream:
                async for progress in stream:
                    yield progress

    async def run_action(
        self,
        action: accounts.AccountAction,
        account_ids: Sequence[str] = (),
        *,
        all_accounts: bool = False,
    ) -> AsyncIterator[accounts.ActionProgress]:
        with translate.pool_errors():
            ids = list(account_ids)
            if all_accounts:
                ids = sorted(await self._hot.accounts())
            # closing this stream closes the runner's at once, which cancels its calls
            async with contextlib.aclosing(self._actions.run(action, ids)) as stream:
                async for progress in stream:
                    yield progress

    async def list_assets(
        self, account_id: str, *, page_size: int = 50, page_token: str = ""
    ) -> accounts.AssetPage:
        with translate.pool_errors():
            return await self._actions.list_assets(
                account_id, page_size=page_size, page_token=page_token
            )

    async def stats(self) -> accounts.PoolStats:
        with translate.pool_errors():
            return await self._manager.stats()

    async def watch(self) -> AsyncIterator[accounts.AccountChange]:
        with translate.pool_errors():
            async for kind, account_id in feed.notices(self._hot):
                if kind is accounts.ChangeKind.REMOVED:
                    yield accounts.AccountChange(kind=kind, account_id=account_id, account=None)
                    continue
                record = await self._manager.find(account_id)
                if record is not None:
                    account = await self._manager.view(record)
                    yield accounts.AccountChange(kind=kind, account_id=account_id, account=account)

    async def export_accounts(self) -> AsyncIterator[accounts.ExportedAccount]:
        with translate.pool_errors():
            async for item in self._manager.export():
                yield item

    async def list_egresses(self) -> tuple[egresses.Egress, ...]:
        return await self._egresses.list()

    async def add_egress(
        self,
        *,
        name: str,
        proxy_url: str = "",
        asset_proxy_url: str = "",
        tags: Sequence[str] = (),
        enabled: bool = True,
        max_inflight: int = 0,
        browser: str = "",
        user_agent: str = "",
        clearance_cookies: str = "",
    ) -> egresses.Egress:
        return await self._egresses.add(
            name=name, proxy_url=proxy_url, asset_proxy_url=asset_proxy_url, tags=tags,
            enabled=enabled, max_inflight=max_inflight, browser=browser, user_agent=user_agent,
            clearance_cookies=clearance_cookies,
        )  # fmt: skip

    async def update_egress(
        self,
        egress: str,
        *,
        name: str | None = None,
        proxy_url: str | None = None,
        asset_proxy_url: str | None = None,
        tags: Sequence[str] | None = None,
        enabled: bool | None = None,
        max_inflight: int | None = None,
        browser: str | None = None,
        user_agent: str | None = None,
        clearance_cookies: str | None = None,
    ) -> egresses.Egress:
        return await self._egresses.update(
            egress, name=name, proxy_url=proxy_url, asset_proxy_url=asset_proxy_url, tags=tags,
            enabled=enabled, max_inflight=max_inflight, browser=browser, user_agent=user_agent,
            clearance_cookies=clearance_cookies,
        )  # fmt: skip

    async def remove_egress(self, egress: str) -> None:
        await self._egresses.remove(egress)

    async def test_egresses(
        self, egress_ids: Sequence[str] = (), *, all_egresses: bool = False
    ) -> AsyncIterator[egresses.EgressTest]:
        stream = self._egresses.test(egress_ids, all_egresses=all_egresses)
        async with contextlib.aclosing(stream) as tests:
            async for result in tests:
                yield result

    async def refresh_clearance(self, egress: str) -> egresses.ClearanceRefresh:
        return await self._egresses.refresh(egress)
