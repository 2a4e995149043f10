"""Prometheus exposition shared by the HTTP services, and the buckets every request
histogram shares (``docs/metrics.md``)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app
from starlette.types import ASGIApp

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
"""Seconds: the upper bounds of every request histogram, so panels can be compared (from a
cache hit to a ten-minute video)."""


def metrics_app(registry: CollectorRegistry = REGISTRY) -> ASGIApp:
    """An ASGI app answering Prometheus scrapes (mount it at ``/metrics``)."""
    return make_asgi_app(registry=registry)
