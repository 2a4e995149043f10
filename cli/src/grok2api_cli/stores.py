"""Opening the durable store the way every target does: cipher, reachability, migrations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from grok2api_settings import Settings
from grok2api_storage import StorageError, load_cipher, migrate_apart, open_store
from grok2api_storage.protocols import Store
from grok2api_storage.sql_store import SqlStore

from .bootstrap import StartupError


@contextlib.asynccontextmanager
async def opened(
    settings: Settings, *, credentials: bool, generate_key: bool = False,
    migrate_in_child: bool = False,
) -> AsyncIterator[Store]:
    """The store, migrated to the current schema; failures become one-line start errors.

    ``credentials``: this process reads account credentials, so it needs the encryption
    key (generated into DATA_DIR when ``generate_key``, as the single-process mode does).
    A gateway only checks client keys and never holds the credential key.
    ``migrate_in_child``: a SQL store that is behind is migrated by a child process, so this
    long-running one never holds Alembic (the single-process mode's idle memory).
    """  # fmt: skip
    try:
        cipher = load_cipher(settings, allow_generate=generate_key) if credentials else None
        store = await open_store(settings, cipher=cipher)
    except StorageError as exc:
        raise StartupError(str(exc)) from exc
    async with store:
        try:
            if (migrate_in_child and isinstance(store, SqlStore)
                    and not await store.schema_is_current()):
                await migrate_apart.migrate(store)
            await store.migrate()  # nothing left to do after the child: one plain query
        except StorageError as exc:
            raise StartupError(str(exc)) from exc
        yield store
