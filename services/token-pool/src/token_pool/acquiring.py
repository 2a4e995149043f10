"""Acquires as the pool answers them: the leaser's, plus an on-demand usage refresh and
one more try when no account has quota left; every answer is timed into the metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from grok2api_poolclient import errors
from grok2api_poolclient.leases import Lease

from . import leasing, quotas, refresh, translate
from .metrics import PoolMetrics


class Acquirer:
    def __init__(
        self, *, leaser: leasing.Leaser, refresher: refresh.Refresher, metrics: PoolMetrics
    ) -> None:
        self._leaser = leaser
        self._refresher = refresher
        self._metrics = metrics

    async def acquire(self, order: leasing.AcquireOrder) -> Lease:
        started = time.perf_counter()
        try:
            with translate.pool_errors():
                try:
                    lease = await self._leaser.acquire(
                        model=order.model, cost=order.cost, exclude=order.exclude,
                        prefer_tier=order.prefer_tier, account_id=order.account_id,
                        account_tags=order.account_tags,
                    )  # fmt: skip
                except errors.PoolExhausted as exc:
                    lease = await self._after_exhaustion(exc, order)
        except errors.PoolError as exc:
            self._metrics.acquired(exc, time.perf_counter() - started)
            raise
        self._metrics.acquired(lease, time.perf_counter() - started)
        return lease

    async def run(
        self,
        *,
        acquires: Sequence[leasing.AcquireOrder],
        releases: Sequence[leasing.ReleaseOrder],
    ) -> tuple[list[Lease | errors.PoolError], list[errors.PoolError | None]]:
        """``Leaser.run``, then the exhausted acquires retried as ``acquire`` would."""
        started = time.perf_counter()
        with translate.pool_errors():
            leases, released = await self._leaser.run(acquires=acquires, releases=releases)
        retries = [
            (n, self._after_exhaustion(answer, order))
            for n, (order, answer) in enumerate(zip(acquires, leases, strict=True))
            if isinstance(answer, errors.PoolExhausted)
        ]
        if retries:
            outcomes = await asyncio.gather(*(r for _, r in retries), return_exceptions=True)
            for (n, _), outcome in zip(retries, outcomes, strict=True):
                if not isinstance(outcome, Lease | errors.PoolError):
                    outcome = errors.PoolUnavailable(f"on-demand refresh failed: {outcome!r}")
                leases[n] = outcome
        elapsed = time.perf_counter() - started
        for answer in leases:
            self._metrics.acquired(answer, elapsed)
        return leases, released

    async def _after_exhaustion(
        self, exc: errors.PoolExhausted, order: leasing.AcquireOrder
    ) -> Lease:
        """On-demand refresh (rate limited across replicas), then one more try."""
        if exc.reason is not errors.ExhaustedReason.NO_QUOTA:
            # busy, cooling, absent or refused accounts are not fixed by fresher figures
            raise exc
        charge = self._leaser.charge(order.model)
        tiers = quotas.candidate_tiers(charge.min_tier)
        cost = order.cost
        wanted = charge.cost if cost is None or cost <= 0 else cost
        if not await self._refresher.on_exhausted(tiers, mode=charge.mode, cost=wanted):
            raise exc
        return await self._leaser.acquire(
            model=order.model, cost=cost, exclude=order.exclude, prefer_tier=order.prefer_tier,
            account_id=order.account_id, account_tags=order.account_tags,
        )  # fmt: skip
