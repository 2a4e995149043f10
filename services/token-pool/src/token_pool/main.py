"""Wiring of the token pool: settings → store, hot state, upstream client, service, server.

``running(...)`` is the async context manager the CLI composes (single-process mode uses
the yielded ``PoolService`` directly); ``serve_forever(settings)`` is
``grok2api run --target token-pool``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from importlib import metadata
from typing import TYPE_CHECKING

from grok2api_jobs import leadership
from grok2api_poolclient import server_info
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import crypto, factory, identity, protocols
from grok_web import client as grok_client
from grok_web import options as grok_options
from prometheus_client import start_http_server

from . import actions, errors, grpc_server, service, usage
from .egress import declared as egress_declared
from .hot import base, memory

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

HOT_PREFIX = "grok2api:pool"
# Port of the standalone service's Prometheus endpoint (/metrics); not yet a setting.
METRICS_PORT = 9095


def _reader(settings: Settings | LiveSettings) -> Callable[[], Settings]:
    if isinstance(settings, LiveSettings):
        return lambda: settings.current
    return lambda: settings


@contextlib.asynccontextmanager
async def running(
    settings: Settings | LiveSettings,
    *,
    redis: aioredis.Redis | None,
    grpc_address: str | None,
    store: protocols.Store | None = None,
    hot_prefix: str = HOT_PREFIX,
    report_metrics: bool = True,
) -> AsyncIterator[service.PoolService]:
    """An open pool: store opened and migrated, hot state built (in-process when ``redis``
    is None, else shared on Redis), refresher and background loops started, and the gRPC
    server listening on ``grpc_address`` when given (``errors.ListenError`` when it is
    taken; its ``GetServerInfo`` names the store of ``settings``). Everything stops on exit.
    ``store``: an open, migrated store owned by the caller; when None one is opened from
    the settings (key generated in DATA_DIR in the single-process mode) and closed on exit.
    ``hot_prefix`` namespaces the Redis keys (replicas of one pool share it).
    ``report_metrics=False``: never report the pool-wide gauges (nor take the lease that
    elects their reporter), for a pool that lives as long as one CLI command."""
    current = _reader(settings)
    if grpc_address is not None:
        # Before anything starts: a refused start then has nothing to stop.
        grpc_server.refuse_if_taken(grpc_address)
    async with contextlib.AsyncExitStack() as stack:
        if store is None:
            cipher = crypto.load_cipher(current(), allow_generate=redis is None)
            store = await factory.open_store(current(), cipher=cipher)
            stack.push_async_callback(store.aclose)
            await store.migrate()
        await egress_declared.apply_file(current(), store.egresses)  # before the pool loads them
        hot: base.HotState
        if redis is None:
            hot = memory.MemoryHotState()
        else:
            from .hot import redis_state

            hot = redis_state.RedisHotState(redis, prefix=hot_prefix)
        upstream = grok_client.GrokClient(
            options=grok_options.ClientOptions.from_settings(current())
        )
        stack.push_async_callback(upstream.aclose)
        pool = service.PoolService(
            settings=current,
            repo=store.accounts,
            egresses=store.egresses,
            hot=hot,
            reader=usage.GrokUsageReader(upstream),
            upstream=actions.GrokAccountUpstream(upstream),
            grok=upstream,
            leadership=_metrics_leadership(redis, hot_prefix, report=report_metrics),
        )
        stack.push_async_callback(pool.aclose)
        await pool.start()
        if grpc_address is not None:
            serving = await grpc_server.create_server(
                pool, address=grpc_address, info=describe(current())
            )
            stack.push_async_callback(serving.stop)
        yield pool


def _metrics_leadership(
    redis: aioredis.Redis | None, hot_prefix: str, *, report: bool
) -> leadership.Leadership | None:
    """Who reports the pool-wide gauges: nobody here (``report`` False), this pool alone
    (None: no Redis, no other replica) or the holder of the replicas' lease."""
    if not report:
        return leadership.NoLeadership()
    return None if redis is None else metrics_leadership(redis, hot_prefix)


def metrics_leadership(redis: aioredis.Redis, hot_prefix: str) -> leadership.RedisLeadership:
    """The lease that elects the replica reporting the pool-wide gauges (one per pool: the
    replicas sharing ``hot_prefix``)."""
    return leadership.RedisLeadership(
        redis, key=f"{hot_prefix}:metrics-leader", ttl_seconds=service.METRICS_LEASE_SECONDS
    )


def describe(settings: Settings) -> server_info.ServerInfo:
    """What this pool answers to ``GetServerInfo``: the store its settings name."""
    store = identity.identify(settings)
    return server_info.ServerInfo(
        store_fingerprint=store.fingerprint,
        store_kind=store.storage_type,
        version=metadata.version("grok2api-token-pool"),
    )


def bind_address(settings: Settings) -> str:
    """All interfaces, on the port of ``services.token_pool_addr`` (what clients dial)."""
    _host, _, port = settings.services.token_pool_addr.rpartition(":")
    if not port.isdigit():
        raise errors.ConfigurationError(
            f"TOKEN_POOL_ADDR must be host:port, got {settings.services.token_pool_addr!r}"
        )
    return f"[::]:{port}"


async def connect_redis(url: str) -> aioredis.Redis:
    """A Redis client that answered a PING; ``ConfigurationError`` naming REDIS_URL if not."""
    import redis.asyncio as aioredis
    from grok2api_jobs import retrying
    from redis import exceptions as redis_errors

    if not url:
        raise errors.ConfigurationError(
            "the token-pool service needs Redis for shared state: set REDIS_URL "
            "(services.redis_url); only the single-process mode runs without it"
        )
    try:
        client = aioredis.Redis.from_url(url, **retrying())
        await client.ping()
    except (redis_errors.RedisError, ValueError, OSError) as exc:
        raise errors.ConfigurationError(
            f"cannot reach Redis at REDIS_URL (services.redis_url): {type(exc).__name__}"
        ) from exc
    return client


async def serve_forever(settings: Settings) -> None:
    """Run the token-pool service (gRPC + metrics) until cancelled."""
    address = bind_address(settings)
    client = await connect_redis(settings.services.redis_url)
    try:
        if settings.telemetry.metrics_enabled:
            start_http_server(METRICS_PORT)
        async with running(settings, redis=client, grpc_address=address):
            log.info("token_pool_serving address=%s", address)
            await asyncio.Event().wait()
    finally:
        await client.aclose()
