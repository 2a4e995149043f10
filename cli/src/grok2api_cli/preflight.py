"""Checks a split target makes before it starts: each failure is one line naming the
setting to fix, so a misconfigured Deployment says what is wrong in its first log line."""

from __future__ import annotations

import asyncio

import grpc
from grok2api_settings import Settings
from grok2api_settings.sections import AppSettings
from grok2api_telemetry.logs import redact
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from . import redis_clients
from .bootstrap import StartupError


async def require_redis(settings: Settings, *, target: str) -> aioredis.Redis:
    url = settings.services.redis_url
    if not url:
        raise StartupError(
            f"--target {target} needs Redis for shared state: set REDIS_URL (services.redis_url)"
        )
    try:
        client = redis_clients.connect(url, socket_connect_timeout=3)
    except ValueError as exc:
        raise StartupError(f"REDIS_URL is not a Redis URL ({redact(url)}): {exc}") from None
    try:
        await asyncio.wait_for(client.ping(), 5)
    except (RedisError, OSError, TimeoutError) as exc:
        await client.aclose()
        raise StartupError(
            f"cannot reach Redis at {redact(url)} ({type(exc).__name__}): check REDIS_URL"
        ) from None
    return client


async def require_pool(settings: Settings, *, target: str) -> None:
    address = settings.services.token_pool_addr
    if not address:
        raise StartupError(f"--target {target} needs the token pool: set TOKEN_POOL_ADDR")
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        except grpc.aio.AioRpcError as exc:
            raise StartupError(
                f"cannot reach the token pool at {address} ({exc.code().name}): "
                "check TOKEN_POOL_ADDR"
            ) from None
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise StartupError(f"the token pool at {address} is not serving: check TOKEN_POOL_ADDR")


def require_own_admin_password(settings: Settings, *, target: str) -> None:
    """A split admin target is reachable by others: the published default password would
    open it to anyone. (The single-process mode starts anyway and the panel shows a banner.)"""
    if settings.app.app_key == AppSettings.model_fields["app_key"].default:
        raise StartupError(
            f"--target {target} refuses the default admin password: set app.app_key "
            "(config.toml [app] app_key, or GROK2API_APP__APP_KEY) to a password of your own"
        )
