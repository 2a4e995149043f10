"""Fixtures of the storage contract suite.

``store`` is parametrised over the four backends on this machine: SQLite (a file under
pytest's temporary directory), PostgreSQL and MariaDB (a database created for this run
and dropped at its end), and Redis (a key prefix unique to each test, deleted after it).
The servers are the ones TOOLING.md lists; a server that is down fails these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from grok2api_storage import crypto, factory, protocols, sql_store

from . import support


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.ServerDatabases]:
    dbs = support.ServerDatabases(tmp_path_factory.mktemp("storage"))
    yield dbs
    support.run_in_thread(dbs.drop_all)


@pytest.fixture
def cipher() -> crypto.CredentialCipher:
    return crypto.CredentialCipher(key=crypto.generate_key(), source="the test key")


@pytest.fixture(scope="session")
def session_cipher() -> crypto.CredentialCipher:
    return crypto.CredentialCipher(key=crypto.generate_key(), source="the test key")


@pytest.fixture(params=support.BACKENDS)
async def store(
    request: pytest.FixtureRequest,
    databases: support.ServerDatabases,
    session_cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> AsyncIterator[protocols.Store]:
    """An empty, migrated store of each backend."""
    backend: str = request.param
    if backend == "redis":
        prefix = support.redis_prefix()
        opened = await factory.open_store(
            support.redis_settings(tmp_path), cipher=session_cipher, redis_prefix=prefix
        )
        await opened.migrate()
        try:
            yield opened
        finally:
            await opened.aclose()
            await support.delete_prefix(prefix)
        return
    url = databases.shared(backend, session_cipher)
    opened = await factory.open_store(databases.settings_for(backend, url), cipher=session_cipher)
    assert isinstance(opened, sql_store.SqlStore)
    async with opened.database.engine.begin() as conn:
        for table in support.SQL_TABLES:
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    try:
        yield opened
    finally:
        await opened.aclose()
