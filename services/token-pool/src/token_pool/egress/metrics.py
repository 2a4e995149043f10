"""Per-egress metrics (``grok2api_pool_egress_*``, docs/metrics.md). The label ``egress`` is
the egress's name, never its address or credentials."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import health

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, EgressMetrics] = (
    weakref.WeakKeyDictionary()
)


class EgressGauges(Collector):
    """The snapshot the pool's metrics loop last gave (bound accounts and leases come from
    the shared hot state, so only the metrics leader shows them); nothing after ``hide``."""

    def __init__(self) -> None:
        self._rows: Sequence[tuple[str, int, int, health.State]] | None = None

    def show(self, rows: Sequence[tuple[str, int, int, health.State]]) -> None:
        self._rows = rows

    def hide(self) -> None:
        self._rows = None

    def describe(self) -> list[Metric]:
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        if self._rows is None:
            return
        bound, inflight, state = _families()
        for name, n_bound, n_inflight, current in self._rows:
            bound.add_metric([name], n_bound)
            inflight.add_metric([name], n_inflight)
            for each in health.State:
                state.add_metric([name, each.value], 1 if each is current else 0)
        yield from (bound, inflight, state)


def _families() -> tuple[GaugeMetricFamily, ...]:
    return (
        GaugeMetricFamily(
            "grok2api_pool_egress_bound_accounts", "Accounts bound to the egress.",
            labels=["egress"],
        ),
        GaugeMetricFamily(
            "grok2api_pool_egress_inflight", "Leases in flight through the egress.",
            labels=["egress"],
        ),
        GaugeMetricFamily(
            "grok2api_pool_egress_state", "1 for the egress's current state, else 0.",
            labels=["egress", "state"],
        ),
    )  # fmt: skip


class EgressMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "grok2api_pool_egress_calls_total",
            "Leases released through the egress, by the outcome reported.",
            ["egress", "outcome"], registry=registry,
        )  # fmt: skip
        self.challenges = Counter(
            "grok2api_pool_egress_challenges_total",
            "Cloudflare challenges reported on leases through the egress.",
            ["egress"], registry=registry,
        )  # fmt: skip
        self.refreshes = Counter(
            "grok2api_pool_egress_clearance_refreshes_total",
            "Clearance refreshes through the solver, by result (ok, failed).",
            ["egress", "result"], registry=registry,
        )  # fmt: skip
        self.gauges = EgressGauges()
        registry.register(self.gauges)

    @classmethod
    def on(cls, registry: CollectorRegistry) -> EgressMetrics:
        """The metrics of ``registry``, created on first use (one set per registry)."""
        found = _by_registry.get(registry)
        if found is None:
            found = cls(registry)
            _by_registry[registry] = found
        return found

    def released(self, egress: str, outcome: str) -> None:
        self.calls.labels(egress=egress, outcome=outcome).inc()

    def challenged(self, egress: str) -> None:
        self.challenges.labels(egress=egress).inc()

    def refreshed(self, egress: str, result: str) -> None:
        self.refreshes.labels(egress=egress, result=result).inc()
