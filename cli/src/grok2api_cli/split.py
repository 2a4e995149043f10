"""One service per process, as each Kubernetes Deployment runs it.

Each target first checks the peers it needs (Redis, the token pool, the store) and stops
with one line naming the setting to fix when one is missing or unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings, RedisBus
from grok2api_storage.protocols import Store
from redis import asyncio as aioredis

from . import http_app, http_protocol, preflight, runtime, worker_metrics

# Seconds a gateway worker process may take to answer its supervisor's liveness ping.
WORKER_PING_SECONDS = 30


async def token_pool(settings: Settings, stop: asyncio.Event) -> None:
    redis = await preflight.require_redis(settings, target="token-pool")
    import token_pool.main

    from . import stores

    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(redis.aclose)
        store = await stack.enter_async_context(stores.opened(settings, credentials=True))
        live = await _live_pool_settings(settings, stack, store=store, redis=redis)
        await stack.enter_async_context(
            token_pool.main.running(
                live, store=store, redis=redis, grpc_address=listen_address(settings)
            )
        )
        probes = http_app.compose(
            apps={},
            checks={"store": store.ping, "redis": redis.ping},
            metrics_enabled=settings.telemetry.metrics_enabled,
        )
        # gRPC serves the pool; HTTP on SERVER_PORT serves probes and Prometheus scrapes.
        await runtime.serve_http(probes, server=settings.server, stop=stop)


async def _live_pool_settings(
    settings: Settings, stack: contextlib.AsyncExitStack, *, store: Store, redis: aioredis.Redis
) -> LiveSettings:
    """The pool's settings with the stored overrides, following the change bus (a change
    of ``token.*`` in the admin panel reaches every pool replica)."""
    from . import admin_wiring

    live = LiveSettings(settings)
    await admin_wiring.restore_overrides(
        live, store.settings_overrides, admin_wiring.optional_cipher(settings)
    )
    listener = asyncio.create_task(RedisBus(redis).run(live))
    stack.callback(listener.cancel)
    return live


async def gateway(settings: Settings, stop: asyncio.Event) -> None:
    from . import split_apps

    redis = await preflight.require_redis(settings, target="gateway")
    await redis.aclose()
    await preflight.require_pool(settings, target="gateway")
    await runtime.serve_http(split_apps.gateway_app(), server=settings.server, stop=stop)


def run_gateway_workers(settings: Settings) -> None:
    """SERVER_WORKERS gateway processes sharing the port (uvicorn's supervisor), their
    metrics aggregated in a directory of their own (``worker_metrics``)."""
    asyncio.run(_gateway_preflight(settings))
    with worker_metrics.shared_directory():
        uvicorn.run(
            "grok2api_cli.split_apps:gateway_app",
            factory=True,
            host=settings.server.host,
            port=settings.server.port,
            workers=settings.server.workers,
            http=http_protocol.HeadDeadlineProtocol,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=settings.server.shutdown_grace,
            # uvicorn kills a worker that misses a 5 s ping; a worker still importing the app
            # on a busy machine missed it, and its replacement did too, forever.
            timeout_worker_healthcheck=WORKER_PING_SECONDS,
        )


async def _gateway_preflight(settings: Settings) -> None:
    redis = await preflight.require_redis(settings, target="gateway")
    await redis.aclose()
    await preflight.require_pool(settings, target="gateway")


async def media_worker(settings: Settings, stop: asyncio.Event) -> None:
    redis = await preflight.require_redis(settings, target="media-worker")
    await preflight.require_pool(settings, target="media-worker")
    import media_worker.http
    import media_worker.main

    probes = media_worker.http.create_app(redis=redis)
    try:
        await asyncio.gather(
            media_worker.main.serve_forever(settings, redis=redis, stop=stop),
            runtime.serve_http(probes, server=settings.server, stop=stop),
        )
    finally:
        await redis.aclose()


async def admin(settings: Settings, stop: asyncio.Event) -> None:
    from . import split_apps

    preflight.require_own_admin_password(settings, target="admin")
    redis = await preflight.require_redis(settings, target="admin")
    await redis.aclose()
    await preflight.require_pool(settings, target="admin")
    await runtime.serve_http(split_apps.admin_app(), server=settings.server, stop=stop)


async def operator(settings: Settings, stop: asyncio.Event) -> None:
    await preflight.require_pool(settings, target="operator")
    import grok2api_operator.main
    from grok2api_poolclient.grpc_transport import GrpcPoolClient

    async with GrpcPoolClient(settings.services.token_pool_addr) as pool:
        await grok2api_operator.main.run(settings, pool=pool, stop=stop)


def listen_address(settings: Settings) -> str:
    """The pool listens on every interface at the port of TOKEN_POOL_ADDR."""
    _, _, port = settings.services.token_pool_addr.rpartition(":")
    return f"0.0.0.0:{port}"
