"""A real token pool behind an admin app, for the accounts and batches API tests.

``running_pool(kind, ...)`` yields a ``PoolClient``: ``in_process`` is the ``PoolService``
itself over an in-memory hot state (the single-process mode); ``grpc_redis`` is a
``GrpcPoolClient`` talking to a pool server whose hot state lives in Redis (a split
deployment). ``admin_app`` builds the admin app over it with the batch log of that mode.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2
import redis.asyncio as aioredis
from admin import app as admin_app
from admin import batch_log, batches
from fastapi import FastAPI
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import protocols
from grok_web import client as grok_client
from grok_web import options as grok_options
from token_pool import actions, grpc_server, service, usage
from token_pool.hot import base, memory, redis_state

APP_KEY = "accounts-test-admin"
BEARER = {"Authorization": f"Bearer {APP_KEY}"}
REDIS_URL = "redis://127.0.0.1:6379/0"
KINDS = ["in_process", "grpc_redis"]


def settings_for(tmp_path: Path, sim_url: str, **performance: Any) -> Settings:
    return Settings.model_validate({
        "data_dir": str(tmp_path),
        "app": {"app_key": APP_KEY},
        "token": {"auto_refresh": False},
        "network": {"base_url": sim_url, "accounts_url": sim_url, "assets_url": sim_url},
        "performance": performance,
    })  # fmt: skip


@contextlib.asynccontextmanager
async def grok_for(settings: Settings) -> AsyncIterator[grok_client.GrokClient]:
    grok = grok_client.GrokClient(options=grok_options.ClientOptions.from_settings(settings))
    try:
        yield grok
    finally:
        await grok.aclose()


@contextlib.asynccontextmanager
async def running_pool(
    kind: str,
    *,
    settings: Callable[[], Settings],
    store: protocols.Store,
    upstream: actions.AccountUpstream,
    reader: usage.UsageReader | None,
    redis: aioredis.Redis,
    prefix: str,
    egresses: protocols.EgressRepository | None = None,
) -> AsyncIterator[PoolClient]:
    """``egresses``: the store's egresses (None: only the settings' one-egress pool)."""
    hot: base.HotState = (
        memory.MemoryHotState()
        if kind == "in_process"
        else redis_state.RedisHotState(redis, prefix=f"{prefix}pool")
    )
    pool = service.PoolService(
        settings=settings,
        repo=store.accounts,
        hot=hot,
        reader=reader,
        upstream=upstream,
        egresses=egresses,
    )
    await pool.start(background=kind != "in_process")
    try:
        if kind == "in_process":
            yield pool
            return
        serving = await grpc_server.create_server(pool, address="127.0.0.1:0")
        try:
            async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as remote:
                yield remote
        finally:
            await serving.stop(grace=0.5)
    finally:
        await pool.aclose()


def admin_app_for(
    kind: str, *, settings: Settings, pool: PoolClient, redis: aioredis.Redis, prefix: str
) -> FastAPI:
    app = admin_app.create_app(settings=LiveSettings(settings), pool=pool)
    log: batch_log.BatchLog = (
        batch_log.MemoryBatchLog()
        if kind == "in_process"
        else batch_log.RedisBatchLog(redis, prefix=f"{prefix}batch:")
    )
    batches.attach(app, log=log)
    return app


def http_for(app: FastAPI) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app)
    return httpx2.AsyncClient(transport=transport, base_url="http://admin.test", headers=BEARER)


def parse_sse(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, event name, data) of every event of a ``text/event-stream`` body."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            data = json.loads(fields["data"])
            found.append((fields.get("id", ""), fields.get("event", ""), data))
    return found
