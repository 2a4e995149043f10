"""The split-target worker's small HTTP face: ``/metrics``, ``/healthz``, ``/readyz``.

``readyz`` answers 200 only while Redis answers, so Kubernetes stops counting a worker
that cannot reach the queue.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from grok2api_telemetry import health, metrics
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Mount


def create_app(*, redis: aioredis.Redis, registry: CollectorRegistry = REGISTRY) -> Starlette:
    async def redis_answers() -> object:
        return await redis.ping()

    routes = [
        *health.routes({"redis": redis_answers}),
        Mount("/metrics", app=metrics.metrics_app(registry)),
    ]
    return Starlette(routes=routes)
