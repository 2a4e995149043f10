"""The whole request path in one process for tracing tests: the gateway behind the request
middleware (its server span), the token pool behind its gRPC server, the real GrokClient
against the simulator, and a media worker consuming the gateway's in-process job queue."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import uvicorn
from gateway.app import create_app
from grok2api_jobs import InProcessJobQueue
from grok2api_media.blobs import BlobStore
from grok2api_poolclient import leases
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import load_cipher, open_store
from grok2api_telemetry import requests
from grok_sim.testing import SimHandle
from grok_web.client import GrokClient
from grok_web.options import ClientOptions
from media_worker.handlers import media_handlers
from media_worker.media.context import MediaContext
from media_worker.worker import Worker
from token_pool import grpc_server
from token_pool.hot.memory import MemoryHotState
from token_pool.service import PoolService

API_KEY = "sk-gateway-key-DO-NOT-LEAK-7f3a"


@dataclasses.dataclass
class TracedStack:
    base_url: str
    sim: SimHandle
    pool: PoolService
    ids: dict[str, str]  # credential → account id

    def client(self, **headers: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url + "/v1", api_key=API_KEY,
                                  max_retries=0, default_headers=headers)

    async def add(self, credential: str, tier: str = "super") -> str:
        self.sim.add_account(credential, tier=tier)
        account = await self.pool.upsert_account(credential=credential, tier=leases.Tier(tier))
        self.ids[credential] = account.account_id
        return account.account_id


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", loop="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running_traced_stack(*, sim: SimHandle, data_dir: Path) -> AsyncIterator[TracedStack]:
    live = LiveSettings(Settings.model_validate({
        "data_dir": str(data_dir),
        "app": {"api_key": API_KEY},
        "network": {"base_url": sim.base_url, "assets_url": sim.base_url},
        "retry": {"retry_backoff_base": 0.0, "retry_backoff_max": 0.05},
        "chat": {"dynamic_statsig": False},
    }))
    store = await open_store(live.current, cipher=load_cipher(live.current, allow_generate=True))
    await store.migrate()
    pool = PoolService(settings=lambda: live.current, repo=store.accounts, hot=MemoryHotState())
    await pool.start(background=False)
    server = await grpc_server.create_server(pool, address="127.0.0.1:0")
    remote = GrpcPoolClient(f"127.0.0.1:{server.port}")
    grok = GrokClient(options=ClientOptions.from_settings(live.current))
    blobs = BlobStore.from_settings(live.current)
    queue = InProcessJobQueue()
    media = MediaContext(settings=lambda: live.current, pool=remote, grok=grok, blobs=blobs)
    worker = Worker(queue=queue, handlers=media_handlers(media), concurrency=4, block_ms=50,
                    shutdown_grace=0.5)
    worker_task = asyncio.create_task(worker.run())
    app = create_app(settings=live, pool=remote, grok=grok, blobs=blobs, jobs=queue)
    try:
        async with serve(requests.RequestIdMiddleware(app)) as base_url:
            yield TracedStack(base_url=base_url, sim=sim, pool=pool, ids={})
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await remote.aclose()
        await server.stop(grace=0.5)
        await grok.aclose()
        await pool.aclose()
        await store.aclose()
