"""Opening the durable store the way every target does: cipher, reachability, migrations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from grok2api_settings import Settings
from grok2api_storage import StorageError, load_cipher, open_store
from grok2api_storage.protocols import Store

from .bootstrap import StartupError


@contextlib.asynccontextmanager
async def opened(settings: Settings, *, single_process: bool) -> AsyncIterator[Store]:
    """The store, migrated to the current schema; failures become one-line start errors."""
    try:
        cipher = load_cipher(settings, allow_generate=single_process)
        store = await open_store(settings, cipher=cipher)
    except StorageError as exc:
        raise StartupError(str(exc)) from None
    async with store:
        try:
            await store.migrate()
        except StorageError as exc:
            raise StartupError(str(exc)) from None
        yield store
