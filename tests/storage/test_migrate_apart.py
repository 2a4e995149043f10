"""``migrate_apart``: a SQL store brought to this code's schema by a child process (so the
single-process server never imports Alembic), with the child's failure as a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grok2api_storage import crypto, errors, migrate, migrate_apart, sql_store

from . import support
from .test_migrations import migrate_to_a_newer_schema, open_fresh


@pytest.fixture(params=support.SQL_BACKENDS)
async def fresh(
    request: pytest.FixtureRequest, databases: support.ServerDatabases,
    cipher: crypto.CredentialCipher, tmp_path: Path,
) -> AsyncIterator[sql_store.SqlStore]:  # fmt: skip
    store = await open_fresh(request.param, databases, cipher, tmp_path)
    assert isinstance(store, sql_store.SqlStore)
    try:
        yield store
    finally:
        await store.aclose()


async def test_a_store_behind_is_migrated_by_a_child(fresh: sql_store.SqlStore) -> None:
    assert not await fresh.schema_is_current()
    done = await migrate_apart.migrate(fresh)
    assert (done.before, done.after) == (None, migrate.HEAD_REVISION)
    assert await fresh.schema_is_current()
    again = await fresh.migrate()  # nothing left for this process to do
    assert again.before == again.after == migrate.HEAD_REVISION


async def test_a_failing_child_is_a_schema_error_saying_why(fresh: sql_store.SqlStore) -> None:
    await migrate_to_a_newer_schema(fresh)
    with pytest.raises(errors.SchemaError, match="newer than this version") as caught:
        await migrate_apart.migrate(fresh)
    assert fresh.location.display in str(caught.value)  # the masked URL, as logs show
