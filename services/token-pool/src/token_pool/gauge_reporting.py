"""Who reports the pool-wide gauges (``metrics.PoolGauges``), and their metrics loop.

One replica only: the one holding ``leadership`` (a Redis lease shared by the replicas; in
the single-process mode ``SoleLeadership``, always held). Every ``METRICS_INTERVAL_SECONDS``
each replica takes or renews the lease: the holder shows a fresh snapshot of the hot state,
the others none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from grok2api_jobs import leadership as leaders
from grok2api_jobs import raise_if_cancelling
from grok2api_poolclient.accounts import PoolStats

from .egress import pool as egress_pool
from .metrics import PoolMetrics

METRICS_INTERVAL_SECONDS = 10.0
# The metrics leadership outlives two missed renewals; a dead leader's gauges move to
# another replica within this plus one interval.
METRICS_LEASE_SECONDS = 3 * METRICS_INTERVAL_SECONDS


class GaugeReporter:
    def __init__(
        self,
        *,
        leadership: leaders.Leadership,
        stats: Callable[[], Awaitable[PoolStats]],
        metrics: PoolMetrics,
        egress: egress_pool.EgressPool,
    ) -> None:
        self._leadership = leadership
        self._stats = stats
        self._metrics = metrics
        self._egress = egress

    async def run_periodically(self) -> None:
        while True:
            await self.report()
            raise_if_cancelling()
            await asyncio.sleep(METRICS_INTERVAL_SECONDS)

    async def report(self) -> bool:
        """One round of the metrics loop: take or renew the metrics leadership; the leader
        shows a fresh snapshot of the pool-wide gauges, any other replica none. Whether
        this replica reports them now."""
        if not await self._leadership.hold():
            self._hide()
            return False
        try:
            stats = await self._stats()
            await self._egress.show_metrics()
        except BaseException:
            self._hide()  # no stale figures while the hot state cannot be read
            raise
        self._metrics.gauges.show(stats)
        return True

    async def stop(self) -> None:
        """Hand the gauges over now rather than when the lease expires."""
        self._hide()
        await self._leadership.release()

    def _hide(self) -> None:
        self._metrics.gauges.hide()
        self._egress.hide_metrics()
