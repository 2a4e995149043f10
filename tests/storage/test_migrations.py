"""Schema migrations: idempotent, upgrade older schemas, refuse newer ones, safe in parallel."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from grok2api_storage import crypto, errors, factory, migrate, protocols, sql_store
from grok2api_storage.records import AccountTier, NewAccount, UsageRecord
from grok2api_storage.redis_store import RedisStore, schema
from sqlalchemy import text

from . import support


async def open_fresh(
    backend: str,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> protocols.Store:
    if backend == "redis":
        return await factory.open_store(
            support.redis_settings(tmp_path), cipher=cipher, redis_prefix=support.redis_prefix()
        )
    url = databases.fresh(backend)
    return await factory.open_store(databases.settings_for(backend, url), cipher=cipher)


async def close(store: protocols.Store) -> None:
    await store.aclose()
    if isinstance(store, RedisStore):
        await support.delete_prefix(store.keys.prefix)


@pytest.fixture(params=support.BACKENDS)
async def fresh_store(
    request: pytest.FixtureRequest,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
):
    opened = await open_fresh(request.param, databases, cipher, tmp_path)
    try:
        yield opened
    finally:
        await close(opened)


def head(store: protocols.Store) -> str:
    return str(schema.CURRENT_VERSION) if isinstance(store, RedisStore) else migrate.head_revision()


async def test_migrating_twice_changes_nothing_the_second_time(
    fresh_store: protocols.Store,
) -> None:
    assert await fresh_store.schema_version() is None
    first = await fresh_store.migrate()
    assert (first.before, first.after, first.changed) == (None, head(fresh_store), True)
    await fresh_store.accounts.add(NewAccount(credential="sso=kept-across-migrations-123"))
    second = await fresh_store.migrate()
    assert (second.before, second.after, second.changed) == (head(fresh_store),) * 2 + (False,)
    assert (await fresh_store.accounts.list()).total == 1


async def test_replicas_migrating_at_once_all_succeed(
    request: pytest.FixtureRequest,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
    fresh_store: protocols.Store,
) -> None:
    if isinstance(fresh_store, RedisStore):
        prefix = fresh_store.keys.prefix
        replicas: list[protocols.Store] = [
            await factory.open_store(
                support.redis_settings(tmp_path), cipher=cipher, redis_prefix=prefix
            )
            for _ in range(4)
        ]
    else:
        assert isinstance(fresh_store, sql_store.SqlStore)
        settings = databases.settings_for(
            request.node.callspec.params["fresh_store"], fresh_store.location.url
        )
        replicas = [await factory.open_store(settings, cipher=cipher) for _ in range(4)]
    try:
        results = await asyncio.gather(*(replica.migrate() for replica in replicas))
    finally:
        for replica in replicas:
            await replica.aclose()
    assert sum(result.changed for result in results) == 1
    assert {result.after for result in results} == {head(fresh_store)}
    await fresh_store.accounts.add(NewAccount(credential="sso=after-parallel-migrations"))


@pytest.mark.parametrize("backend", support.SQL_BACKENDS)
async def test_upgrades_an_older_schema_keeping_its_data(
    backend: str,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> None:
    store = await open_fresh(backend, databases, cipher, tmp_path)
    assert isinstance(store, sql_store.SqlStore)
    try:
        await store.migrate_to("0001")
        assert await store.schema_version() == "0001"
        # written as the 0001 schema's code wrote it (today's model has later columns)
        fingerprint = cipher.fingerprint("from-the-old-schema-1")
        async with store.database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO accounts (id, credential_encrypted, fingerprint, tier, status,"
                    " enabled, note, fail_count, quota, last_used_at, created_at, updated_at)"
                    " VALUES ('old0001', :credential, :fingerprint, 'super', 'active', :yes,"
                    " 'kept', 0, '{}', NULL, :at, :at)"
                ),
                {
                    "credential": cipher.encrypt("from-the-old-schema-1"),
                    "fingerprint": fingerprint,
                    "yes": True,
                    "at": datetime(2026, 1, 2, 3, 4, 5),
                },
            )
        with pytest.raises(errors.SchemaError):
            await store.usage.list()
        result = await store.migrate()
        assert (result.before, result.after) == ("0001", migrate.head_revision())
        old = await store.accounts.get("old0001")
        assert old is not None
        assert (old.credential, old.fingerprint, old.tier, old.note, old.user_id) == (
            "from-the-old-schema-1", fingerprint, AccountTier.SUPER, "kept", ""
        )
        assert old == await store.accounts.find_by_credential("from-the-old-schema-1")
        await store.usage.add_many([UsageRecord(old.created_at, old.id, "grok-4", "success")])
        assert len(await store.usage.list()) == 1
    finally:
        await store.aclose()


@pytest.mark.parametrize("backend", support.SQL_BACKENDS)
async def test_refuses_a_schema_newer_than_the_code(
    backend: str,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> None:
    store = await open_fresh(backend, databases, cipher, tmp_path)
    assert isinstance(store, sql_store.SqlStore)
    try:
        await store.migrate()
        async with store.database.engine.begin() as conn:
            await conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'"))
        with pytest.raises(errors.SchemaError, match="newer than this version"):
            await store.migrate()
    finally:
        await store.aclose()


async def test_redis_refuses_a_layout_newer_than_the_code(
    cipher: crypto.CredentialCipher, tmp_path: Path
) -> None:
    store = await open_fresh("redis", support.ServerDatabases(tmp_path), cipher, tmp_path)
    assert isinstance(store, RedisStore)
    try:
        await store.redis.set(store.keys.schema_version, "99")
        with pytest.raises(errors.SchemaError, match="newer than this version"):
            await store.migrate()
        assert not await store.redis.exists(store.keys.schema_lock)
    finally:
        await close(store)


@pytest.mark.parametrize("backend", support.SQL_BACKENDS)
async def test_using_an_unmigrated_store_says_to_migrate(
    backend: str,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> None:
    store = await open_fresh(backend, databases, cipher, tmp_path)
    try:
        with pytest.raises(errors.SchemaError, match="migrate"):
            await store.accounts.list()
    finally:
        await store.aclose()
