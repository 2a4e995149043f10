"""``migrate_apart``: a SQL store brought to this code's schema by a child process (so the
single-process server never imports Alembic), with the child's failure as a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from grok2api_storage import crypto, errors, migrate, migrate_apart, sql_store
from sqlalchemy import text

from . import support
from .test_migrations import open_fresh


@pytest.mark.parametrize("backend", support.SQL_BACKENDS)
async def test_a_store_behind_is_migrated_by_a_child(
    backend: str, databases: support.ServerDatabases, cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> None:  # fmt: skip
    store = await open_fresh(backend, databases, cipher, tmp_path)
    assert isinstance(store, sql_store.SqlStore)
    try:
        assert not await store.schema_is_current()
        done = await migrate_apart.migrate(store)
        assert (done.before, done.after) == (None, migrate.HEAD_REVISION)
        assert await store.schema_is_current()
        again = await store.migrate()  # nothing left for this process to do
        assert again.before == again.after == migrate.HEAD_REVISION
    finally:
        await store.aclose()


@pytest.mark.parametrize("backend", support.SQL_BACKENDS)
async def test_a_failing_child_is_a_schema_error_saying_why(
    backend: str, databases: support.ServerDatabases, cipher: crypto.CredentialCipher,
    tmp_path: Path,
) -> None:  # fmt: skip
    store = await open_fresh(backend, databases, cipher, tmp_path)
    assert isinstance(store, sql_store.SqlStore)
    try:
        await store.migrate()
        async with store.database.engine.begin() as conn:
            await conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'"))
        with pytest.raises(errors.SchemaError, match="newer than this version") as caught:
            await migrate_apart.migrate(store)
        assert store.location.display in str(caught.value)  # the masked URL, as logs show
    finally:
        await store.aclose()
