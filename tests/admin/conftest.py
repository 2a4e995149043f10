"""Fixtures of the admin API tests: a migrated SQLite store in a temporary DATA_DIR, and
a token pool over it on each transport (``kind``) the accounts and batch tests run on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from accounts_support import KINDS, grok_for, running_pool, settings_for
from grok2api_poolclient.client import PoolClient
from grok2api_settings import Settings
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
