"""Fixtures of the admin API tests: a migrated SQLite store in a temporary DATA_DIR, and
a token pool over it on each transport (``kind``) the accounts and batch tests run on, and
an admin API client whose keys and usage pages read that store (``keys_api``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import redis.asyncio as aioredis
from accounts_support import KINDS, grok_for, running_pool, settings_for
from admin import app as admin_app
from grok2api_poolclient.client import PoolClient
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import crypto, factory, protocols
from token_pool import actions, usage


@pytest.fixture
def cipher() -> crypto.CredentialCipher:
    return crypto.CredentialCipher(key=crypto.generate_key(), source="the test key")


@pytest.fixture
async def store(tmp_path: Path, cipher: crypto.CredentialCipher) -> AsyncIterator[protocols.Store]:
    opened = await factory.open_store(Settings(data_dir=tmp_path), cipher=cipher)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def pool(
    kind: str, tmp_path: Path, store: protocols.Store, sim,  # type: ignore[no-untyped-def]
    redis_client: aioredis.Redis, redis_prefix: str,
) -> AsyncIterator[PoolClient]:  # fmt: skip
    settings = settings_for(tmp_path, sim.base_url)
    async with grok_for(settings) as grok, running_pool(
        kind, settings=lambda: settings, store=store,
        upstream=actions.GrokAccountUpstream(grok), reader=usage.GrokUsageReader(grok),
        redis=redis_client, prefix=redis_prefix,
    ) as client:  # fmt: skip
        yield client


@pytest.fixture
async def keys_api(
    tmp_path: Path, store: protocols.Store
) -> AsyncIterator[httpx2.AsyncClient]:
    """The admin API (no pool) over ``store``'s client keys and usage, as its bearer."""
    settings = Settings.model_validate({"data_dir": tmp_path, "app": {"app_key": "api-admin"}})
    app = admin_app.create_app(settings=LiveSettings(settings), pool=None)  # type: ignore[arg-type]
    app.state.client_keys = store.client_keys
    app.state.usage = store.usage
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://admin.test",
        headers={"Authorization": "Bearer api-admin"},
    ) as client:  # fmt: skip
        yield client

