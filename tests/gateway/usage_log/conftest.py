"""Fixtures of the usage-pipeline tests: migrated durable stores on this machine's servers
(the storage suite's ``ServerDatabases``), and a PostgreSQL store reached through a
``TcpForwarder`` the test can cut."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from grok2api_storage import crypto, factory, protocols, sql_store
from usage_support import TcpForwarder, storage_support


@pytest.fixture(scope="session")
def databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[storage_support.ServerDatabases]:
    dbs = storage_support.ServerDatabases(tmp_path_factory.mktemp("usage_log"))
    yield dbs
    storage_support.run_in_thread(dbs.drop_all)


@pytest.fixture(scope="session")
def usage_cipher() -> crypto.CredentialCipher:
    return crypto.CredentialCipher(key=crypto.generate_key(), source="the test key")


async def _open_clean(
    databases: storage_support.ServerDatabases,
    backend: str,
    cipher: crypto.CredentialCipher,
    *,
    port: int | None = None,
) -> protocols.Store:
    url = databases.shared(backend, cipher)
    if port is not None:
        url = url.replace(f":{storage_support.PG_PORT}/", f":{port}/")
    opened = await factory.open_store(databases.settings_for(backend, url), cipher=cipher)
    assert isinstance(opened, sql_store.SqlStore)
    async with opened.database.engine.begin() as conn:
        for table in ("usage_records", "client_keys"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    return opened


@pytest.fixture(params=storage_support.SQL_BACKENDS)
async def sql_store_any(
    request: pytest.FixtureRequest,
    databases: storage_support.ServerDatabases,
    usage_cipher: crypto.CredentialCipher,
) -> AsyncIterator[protocols.Store]:
    """An empty, migrated SQL store of each backend (SQLite, PostgreSQL, MariaDB)."""
    opened = await _open_clean(databases, request.param, usage_cipher)
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def pg_store(
    databases: storage_support.ServerDatabases, usage_cipher: crypto.CredentialCipher
) -> AsyncIterator[protocols.Store]:
    opened = await _open_clean(databases, "postgres", usage_cipher)
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def forwarder() -> AsyncIterator[TcpForwarder]:
    forward = TcpForwarder(storage_support.PG_HOST, storage_support.PG_PORT)
    await forward.start()
    try:
        yield forward
    finally:
        await forward.aclose()


@pytest.fixture
async def pg_store_via_forwarder(
    databases: storage_support.ServerDatabases,
    usage_cipher: crypto.CredentialCipher,
    forwarder: TcpForwarder,
) -> AsyncIterator[protocols.Store]:
    """The PostgreSQL store, reached only through ``forwarder`` (cut it to take it away)."""
    opened = await _open_clean(databases, "postgres", usage_cipher, port=forwarder.port)
    try:
        yield opened
    finally:
        forwarder.restore()
        await opened.aclose()
