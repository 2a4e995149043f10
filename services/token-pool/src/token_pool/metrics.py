"""Prometheus metrics of the token pool (``grok2api_pool_*``).

Counters and the latency histogram are recorded on the hot path; the gauges are set from
pool statistics by ``PoolService``'s metrics loop (every replica reports the shared pool,
so aggregate them with ``max`` rather than ``sum``).
"""

from __future__ import annotations

from grok2api_poolclient.accounts import PoolStats
from grok2api_poolclient.leases import Outcome, Tier
from prometheus_client import Counter, Gauge, Histogram

ACCOUNTS = Gauge(
    "grok2api_pool_accounts", "Accounts in the pool by tier and status.", ["tier", "status"]
)
REMAINING_QUOTA = Gauge(
    "grok2api_pool_remaining_quota",
    "Remaining quota units summed over active accounts, by tier and mode.",
    ["tier", "mode"],
)
LEASES_IN_FLIGHT = Gauge("grok2api_pool_leases_in_flight", "Leases acquired and not released.")
ACQUIRE_SECONDS = Histogram(
    "grok2api_pool_acquire_duration_seconds",
    "Time to serve an acquire, by result.",
    ["result"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
OUTCOMES = Counter(
    "grok2api_pool_outcomes_total", "Released leases by outcome and tier.", ["outcome", "tier"]
)
EXHAUSTED = Counter(
    "grok2api_pool_exhausted_total", "Acquires that found no account, by reason.", ["reason"]
)


def record_stats(stats: PoolStats) -> None:
    """Set the gauges from one statistics snapshot."""
    ACCOUNTS.clear()
    REMAINING_QUOTA.clear()
    for tier in stats.tiers:
        for status, count in tier.by_status.items():
            ACCOUNTS.labels(tier=tier.tier.value, status=status).set(count)
        for mode, remaining in tier.remaining_by_mode.items():
            REMAINING_QUOTA.labels(tier=tier.tier.value, mode=mode).set(remaining)
    LEASES_IN_FLIGHT.set(stats.leases_in_flight)


ACQUIRED = ACQUIRE_SECONDS.labels(result="ok")
ACQUIRE_FAILED = ACQUIRE_SECONDS.labels(result="error")


_OUTCOME_COUNTERS: dict[tuple[Outcome, Tier], Counter] = {}


def outcome_counter(outcome: Outcome, tier: Tier) -> Counter:
    """The outcome counter's child for one label pair, looked up once (the hot path)."""
    key = (outcome, tier)
    child = _OUTCOME_COUNTERS.get(key)
    if child is None:
        child = _OUTCOME_COUNTERS[key] = OUTCOMES.labels(outcome=outcome.value, tier=tier.value)
    return child
