"""Prometheus exposition shared by the HTTP services."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app
from starlette.types import ASGIApp


def metrics_app(registry: CollectorRegistry = REGISTRY) -> ASGIApp:
    """An ASGI app answering Prometheus scrapes (mount it at ``/metrics``)."""
    return make_asgi_app(registry=registry)
