"""Schema migrations: idempotent, upgrade older schemas, refuse newer ones, safe in parallel."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from grok2api_storage import crypto, errors, factory, migrate, protocols, sql_store
from grok2api_storage.records import (
    AccountTier,
    ClientKeyLimits,
    ClientKeyPatch,
    NewAccount,
    UsageRecord,
)
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
            "from-the-old-schema-1",
            fingerprint,
            AccountTier.SUPER,
            "kept",
            "",
        )
        assert old == await store.accounts.find_by_credential("from-the-old-schema-1")
        usage = UsageRecord(
            id="u1",
            timestamp=old.created_at,
            key_id=None,
            model="grok-4",
            endpoint="/v1/chat/completions",
            status=200,
        )
        assert await store.usage.add_many([usage]) == 1
        assert await store.usage.list() == (usage,)
    finally:
        await store.aclose()


OLD_KEY = "sk-g2a-" + "B" * 43


@pytest.mark.parametrize("backend", support.SQL_BACKENDS)
async def test_a_client_key_made_before_0005_keeps_working(
    backend: str,
    databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> None:
    store = await open_fresh(backend, databases, cipher, tmp_path)
    assert isinstance(store, sql_store.SqlStore)
    try:
        await store.migrate_to("0004")
        # rows as the 0004 code wrote them: a live key, and one its "revoke" disabled
        async with store.database.engine.begin() as conn:
            for key_id, plain, enabled in (("k-live", OLD_KEY, True), ("k-off", "x" * 20, False)):
                await conn.execute(
                    text(
                        "INSERT INTO client_keys (id, name, key_hash, prefix, enabled,"
                        " rate_limit_per_minute, allowed_models, created_at, last_used_at)"
                        " VALUES (:id, 'old', :hash, :prefix, :enabled, 7, :models, :at, NULL)"
                    ),
                    {
                        "id": key_id,
                        "hash": hashlib.sha256(plain.encode()).hexdigest(),
                        "prefix": plain[:11],
                        "enabled": enabled,
                        "models": '["grok-4"]',
                        "at": datetime(2026, 1, 2, 3, 4, 5),
                    },
                )
            await conn.execute(
                text(
                    "INSERT INTO usage_records (timestamp, account_id, model, outcome,"
                    " prompt_tokens, completion_tokens)"
                    " VALUES (:at, NULL, 'grok-4', 'success', 1, 2)"
                ),
                {"at": datetime(2026, 1, 2, 3, 4, 5)},
            )
        await store.migrate()
        found = await store.client_keys.find(OLD_KEY)
        assert found is not None and found.id == "k-live"
        assert found.refusal(datetime.now(UTC)) is None
        assert (found.prefix, found.revoked_at, found.created_at) == (
            "sk-g2a-BBBB",
            None,
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        )
        assert found.limits == ClientKeyLimits(rate_limit_per_minute=7, allowed_models=("grok-4",))
        disabled = await store.client_keys.find("x" * 20)
        assert disabled is not None and disabled.refusal(datetime.now(UTC)) == "disabled"
        # disabled, not revoked: it may be enabled again
        enabled = await store.client_keys.update("k-off", ClientKeyPatch(enabled=True))
        assert enabled.refusal(datetime.now(UTC)) is None
        assert await store.client_keys.any_exist()
        assert await store.usage.list() == ()  # the old-shape usage table was replaced
    finally:
        await store.aclose()


async def test_redis_layout_1_data_reads_after_migrating(
    cipher: crypto.CredentialCipher, tmp_path: Path
) -> None:
    store = await open_fresh("redis", support.ServerDatabases(tmp_path), cipher, tmp_path)
    assert isinstance(store, RedisStore)
    try:
        keys, redis = store.keys, store.redis
        await redis.set(keys.schema_version, "1")
        key_hash = hashlib.sha256(OLD_KEY.encode()).hexdigest()
        # a client key hash as layout 1 wrote it (no revoked_at nor later limits)
        await redis.hset(
            keys.client_key("k-live"),
            mapping={
                "id": "k-live",
                "key_hash": key_hash,
                "prefix": OLD_KEY[:11],
                "created_at": "2026-01-02T03:04:05.123456+00:00",
                "last_used_at": "",
                "name": "old",
                "enabled": "1",
                "rate_limit_per_minute": "7",
                "allowed_models": '["grok-4"]',
            },
        )
        await redis.set(keys.client_key_hash(key_hash), "k-live")
        await redis.zadd(keys.client_keys, {"k-live": 1.0})
        await redis.zadd(keys.legacy_usage, {'{"uid": "x"}': 1.0})
        result = await store.migrate()
        assert (result.before, result.after) == ("1", str(schema.CURRENT_VERSION))
        assert not await redis.exists(keys.legacy_usage)
        found = await store.client_keys.find(OLD_KEY)
        assert found is not None and found.refusal(datetime.now(UTC)) is None
        assert found.limits == ClientKeyLimits(rate_limit_per_minute=7, allowed_models=("grok-4",))
        assert found.created_at == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
        await store.client_keys.mark_used({"k-live": datetime(2030, 1, 1, tzinfo=UTC)})
        revoked = await store.client_keys.revoke("k-live")
        assert revoked is not None and revoked.refusal(datetime.now(UTC)) == "revoked"
        assert revoked.last_used_at == datetime(2030, 1, 1, tzinfo=UTC)
    finally:
        await close(store)


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
        await migrate_to_a_newer_schema(store)
        with pytest.raises(errors.SchemaError, match="newer than this version"):
            await store.migrate()
    finally:
        await store.aclose()


async def migrate_to_a_newer_schema(store: sql_store.SqlStore) -> None:
    """The store as a later grok2api would leave it: at a revision this code does not know."""
    await store.migrate()
    async with store.database.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'"))


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


def test_the_head_revision_constant_names_the_newest_migration() -> None:
    # A start on a store at HEAD_REVISION skips Alembic: a new migration must move it.
    assert migrate.HEAD_REVISION == migrate.head_revision()
