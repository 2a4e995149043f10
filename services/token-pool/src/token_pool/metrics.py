"""Prometheus metrics of the token pool (``grok2api_pool_*``), as ``docs/metrics.md`` names them.

Counters and the acquire histogram count what this replica did: replicas add up. The
pool-wide gauges describe the shared hot state, which every replica sees whole, so only one
replica may report them: ``PoolGauges`` shows the snapshot the metrics loop
(``gauge_reporting``) gave it while that replica holds the metrics leadership, and no series
at all otherwise (``sum()`` over replicas is then right). Labels are tiers, statuses, modes,
reasons and outcome classes: never an account id or a credential.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterator

from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, PoolStats
from grok2api_poolclient.leases import Outcome, Tier
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# docs/metrics.md: the latency buckets shared by every request histogram.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, PoolMetrics] = (
    weakref.WeakKeyDictionary()
)


class PoolGauges(Collector):
    """The pool-wide gauges of the last ``show``-n snapshot; nothing after ``hide()``."""

    def __init__(self) -> None:
        self._stats: PoolStats | None = None

    @property
    def shown(self) -> bool:
        return self._stats is not None

    def show(self, stats: PoolStats) -> None:
        self._stats = stats

    def hide(self) -> None:
        self._stats = None

    def describe(self) -> list[Metric]:
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        if stats is None:
            return
        accounts, quota, leases, cooling = _families()
        for tier in stats.tiers:
            name = tier.tier.value
            # every status, zeros included: an alert on "no active account" needs the series
            for status in AccountStatus:
                accounts.add_metric([name, status.value], tier.by_status.get(status.value, 0))
            for mode, remaining in sorted(tier.remaining_by_mode.items()):
                quota.add_metric([name, mode], remaining)
            cooling.add_metric([name], tier.by_status.get(AccountStatus.COOLING.value, 0))
        leases.add_metric([], stats.leases_in_flight)
        yield from (accounts, quota, leases, cooling)


def _families() -> tuple[GaugeMetricFamily, ...]:
    return (
        GaugeMetricFamily(
            "grok2api_pool_accounts", "Accounts in the pool, by tier and status.",
            labels=["tier", "status"],
        ),
        GaugeMetricFamily(
            "grok2api_pool_remaining_quota",
            "Remaining quota units summed over usable (active) accounts, by tier and mode.",
            labels=["tier", "mode"],
        ),
        GaugeMetricFamily("grok2api_pool_leases_in_flight", "Leases not yet released."),
        GaugeMetricFamily(
            "grok2api_pool_cooling_accounts", "Accounts in a cooldown, by tier.", labels=["tier"]
        ),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class PoolMetrics:
    gauges: PoolGauges
    """The pool-wide gauges (shown by the metrics leader only)."""
    acquire_seconds: Histogram
    """Acquire latency by ``result``: ``ok``, ``exhausted`` (no account), ``error``."""
    exhausted: Counter
    """Acquires that ended without an account, by ``reason`` (``errors.ExhaustedReason``)."""
    outcomes: Counter
    """Released leases by ``outcome`` (``leases.Outcome``) and the lease's ``tier``."""
    usage_refreshes: Counter
    """Usage refreshes of accounts by ``result``: ``ok``, ``failed``, ``invalid``."""
    _outcome_children: dict[tuple[Outcome, Tier], Counter] = dataclasses.field(default_factory=dict)

    @classmethod
    def on(cls, registry: CollectorRegistry = REGISTRY) -> PoolMetrics:
        """The pool metrics registered on ``registry``, created on first use: several pool
        services in one process (tests) share them instead of failing on duplicate names."""
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls._create(registry)
        return metrics

    @classmethod
    def _create(cls, registry: CollectorRegistry) -> PoolMetrics:
        gauges = PoolGauges()
        registry.register(gauges)
        return cls(
            gauges=gauges,
            acquire_seconds=Histogram(
                "grok2api_pool_acquire_duration_seconds", "Acquire call latency, by result.",
                ["result"], buckets=LATENCY_BUCKETS, registry=registry,
            ),
            exhausted=Counter(
                "grok2api_pool_exhausted_total", "Acquires that found no account, by reason.",
                ["reason"], registry=registry,
            ),
            outcomes=Counter(
                "grok2api_pool_outcomes_total", "Released leases, by outcome and tier.",
                ["outcome", "tier"], registry=registry,
            ),
            usage_refreshes=Counter(
                "grok2api_pool_usage_refreshes_total",
                "Usage refreshes of accounts, by result (ok, failed, invalid).",
                ["result"], registry=registry,
            ),
        )  # fmt: skip

    def acquired(self, answer: object, seconds: float) -> None:
        """Record one acquire's latency by what it came to (a lease or a ``PoolError``);
        an exhausted one is counted by its reason too."""
        if isinstance(answer, errors.PoolExhausted):
            self.exhausted.labels(reason=answer.reason.value).inc()
            result = "exhausted"
        elif isinstance(answer, errors.PoolError):
            result = "error"
        else:
            result = "ok"
        self.acquire_seconds.labels(result=result).observe(seconds)

    def released(self, outcome: Outcome, tier: Tier) -> None:
        """Count one released lease (the hot path: the label child is looked up once)."""
        key = (outcome, tier)
        child = self._outcome_children.get(key)
        if child is None:
            child = self._outcome_children[key] = self.outcomes.labels(
                outcome=outcome.value, tier=tier.value
            )
        child.inc()

    def refreshed(self, *, ok: bool, invalid: bool = False) -> None:
        """Count one account's usage refresh (``invalid``: the credential was rejected)."""
        result = "invalid" if invalid else "ok" if ok else "failed"
        self.usage_refreshes.labels(result=result).inc()
