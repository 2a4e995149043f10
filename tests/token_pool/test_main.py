"""Wiring: ``running`` (in-process and Redis, with gRPC) and ``serve_forever``'s checks."""

from __future__ import annotations

import socket
import uuid
from importlib import metadata
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome
from grok2api_settings import Settings
from grok2api_storage import crypto, identity
from pool_harness import REDIS_URL
from token_pool import errors, main


def _settings(tmp_path: Path, **services: str) -> Settings:
    return Settings.model_validate({
        "data_dir": str(tmp_path),
        "token": {"auto_refresh": False},
        "services": services,
    })  # fmt: skip


async def test_single_process_pool_serves_in_process_and_over_grpc(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with main.running(settings, redis=None, grpc_address="127.0.0.1:0") as pool:
        added = await pool.upsert_account(credential="main-" + "m" * 30)
        lease = await pool.acquire(model="grok-4")
        await pool.release(lease, outcome=Outcome.SUCCESS)
    assert (tmp_path / "secret.key").exists()  # generated on first start
    async with main.running(settings, redis=None, grpc_address=None) as pool:
        again = await pool.get_account(added.account_id)
        assert again.credential_masked == added.credential_masked
        assert (await pool.list_accounts()).total == 1  # durable across restarts


async def test_pool_on_redis_answers_grpc(tmp_path: Path) -> None:
    settings = Settings.model_validate({
        "data_dir": str(tmp_path),
        "token": {"auto_refresh": False},
        "security": {"encryption_key": crypto.generate_key()},
    })  # fmt: skip
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"test:main:{uuid.uuid4().hex[:8]}"
    address = f"127.0.0.1:{_free_port()}"
    try:
        async with main.running(
            settings, redis=client, grpc_address=address, hot_prefix=prefix
        ) as pool:
            added = await pool.upsert_account(credential="redis-" + "m" * 30)
            async with GrpcPoolClient(address) as remote:
                lease = await remote.acquire(model="grok-4")
                assert lease.account_id == added.account_id
                await remote.release(lease, outcome=Outcome.SUCCESS)
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_serve_forever_without_redis_names_redis_url(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match="REDIS_URL"):
        await main.serve_forever(_settings(tmp_path))


async def test_serve_forever_with_unreachable_redis_names_redis_url(tmp_path: Path) -> None:
    settings = _settings(tmp_path, redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(errors.ConfigurationError, match="REDIS_URL"):
        await main.serve_forever(settings)


async def test_running_uses_a_store_opened_by_the_caller(tmp_path: Path) -> None:
    from grok2api_storage import factory

    settings = _settings(tmp_path)
    cipher = crypto.load_cipher(settings, allow_generate=True)
    store = await factory.open_store(settings, cipher=cipher)
    await store.migrate()
    try:
        async with main.running(settings, store=store, redis=None, grpc_address=None) as pool:
            added = await pool.upsert_account(credential="owned-" + "m" * 30)
        assert await store.accounts.get(added.account_id) is not None  # still open
    finally:
        await store.aclose()


async def test_the_pool_tells_over_grpc_which_store_its_settings_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    address = f"127.0.0.1:{_free_port()}"
    async with main.running(settings, redis=None, grpc_address=address):
        async with GrpcPoolClient(address) as remote:
            info = await remote.get_server_info()
    assert info.store_fingerprint == identity.identify(settings).fingerprint
    assert (info.store_kind, info.version) == ("local", metadata.version("grok2api-token-pool"))
