"""The real stack for end-to-end gateway tests: simulator + PoolService + GrokClient."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
from gateway.app import create_app
from gateway.usage_log import usage_pipeline
from gateway_fakes import serve
from grok2api_poolclient import accounts, leases
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import load_cipher, open_store
from grok_sim.testing import SimHandle
from grok_web.client import GrokClient
from grok_web.options import ClientOptions
from token_pool import grpc_server
from token_pool.hot.memory import MemoryHotState
from token_pool.service import PoolService


class CountingGrok:
    """The real GrokClient, counting chat streams that are open (started, not closed)."""

    def __init__(self, inner: GrokClient):
        self.inner = inner
        self.open_streams = 0

    async def chat_batches(
        self, *, credential: str, request: Any, user_id: str = "", egress: Any = None
    ) -> AsyncIterator[Any]:
        self.open_streams += 1
        try:
            async for batch in self.inner.chat_batches(
                credential=credential, request=request, user_id=user_id, egress=egress
            ):
                yield batch
        finally:
            self.open_streams -= 1

    async def upload_file(self, **kwargs: Any) -> Any:
        return await self.inner.upload_file(**kwargs)


@dataclasses.dataclass
class Stack:
    base_url: str
    sim: SimHandle
    pool: PoolService
    live: LiveSettings
    ids: dict[str, str]  # credential → account id
    client_keys: Any = None
    store: Any = None
    usage_log: Any = None
    grok: CountingGrok | None = None
    app: Any = None
    clients: list[openai.AsyncOpenAI] = dataclasses.field(default_factory=list)

    def client(self) -> openai.AsyncOpenAI:
        if not self.clients:
            self.clients.append(openai.AsyncOpenAI(base_url=self.base_url + "/v1",
                                                   api_key="sk-e2e", max_retries=0))
        return self.clients[0]

    async def add(self, credential: str, tier: str = "basic", **quotas: Any) -> str:
        self.sim.add_account(credential, tier=tier, quotas=quotas or None)
        account = await self.pool.upsert_account(credential=credential,
                                                  tier=leases.Tier(tier))
        self.ids[credential] = account.account_id
        return account.account_id

    async def account(self, credential: str) -> accounts.Account:
        return await self.pool.get_account(self.ids[credential])


@contextlib.asynccontextmanager
async def running_stack(
    *, sim: SimHandle, data_dir: Path, grpc: bool = False, usage: bool = False,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """``grpc=True`` puts the pool behind its gRPC server and gives the gateway a
    ``GrpcPoolClient`` (the split deployment's transport); else the pool is in-process.
    ``usage=True`` gives the gateway the single-process usage pipeline into the store
    (``Stack.usage_log``, ``Stack.store``)."""
    data: dict[str, Any] = {
        "data_dir": str(data_dir),
        "network": {"base_url": sim.base_url, "assets_url": sim.base_url},
        "retry": {"retry_backoff_base": 0.0, "retry_backoff_max": 0.05},
        "chat": {"dynamic_statsig": False},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    live = LiveSettings(Settings.model_validate(data))
    cipher = load_cipher(live.current, allow_generate=True)
    store = await open_store(live.current, cipher=cipher)
    await store.migrate()
    pool = PoolService(settings=lambda: live.current, repo=store.accounts, hot=MemoryHotState())
    await pool.start(background=False)
    grok = GrokClient(options=ClientOptions.from_settings(live.current))
    counting = CountingGrok(grok)
    server, remote = None, None
    if grpc:
        server = await grpc_server.create_server(pool, address="127.0.0.1:0")
        remote = GrpcPoolClient(f"127.0.0.1:{server.port}")
    exits = contextlib.AsyncExitStack()
    usage_log = await exits.enter_async_context(usage_pipeline(live, store)) if usage else None
    app = create_app(settings=live, pool=remote or pool, grok=counting,
                     client_keys=store.client_keys, usage_log=usage_log)
    try:
        async with exits, serve(app) as base_url:
            stack = Stack(base_url=base_url, sim=sim, pool=pool, live=live, ids={},
                          client_keys=store.client_keys, grok=counting, app=app,
                          store=store, usage_log=usage_log)
            try:
                yield stack
            finally:
                for client in stack.clients:
                    await client.close()
    finally:
        if remote is not None and server is not None:
            await remote.aclose()
            await server.stop(grace=0.5)
        await grok.aclose()
        await pool.aclose()
        await store.aclose()
