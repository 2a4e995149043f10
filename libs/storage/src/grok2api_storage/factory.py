"""``open_store``: the one entry point that turns settings into an open store."""

from __future__ import annotations

import logging

from grok2api_settings import Settings

from . import crypto, protocols, sql_store, urls

log = logging.getLogger(__name__)


async def open_store(
    settings: Settings,
    *,
    cipher: crypto.CredentialCipher | None = None,
    redis_prefix: str | None = None,
) -> protocols.Store:
    """Open the store selected by ``server.storage_type`` / ``server.storage_url``.

    Checks that the server answers, so a wrong URL fails at start: ``StorageConfigError``
    for unusable settings, ``StorageUnavailableError`` when the server does not answer
    (both name the setting and mask the password). Does not migrate: call
    ``await store.migrate()``. Close with ``await store.aclose()`` or ``async with store``.
    ``cipher`` (from ``crypto.load_cipher``) is needed for accounts only: without it,
    client keys, settings overrides and usage work and any account access raises
    ``EncryptionKeyError``. ``redis_prefix`` namespaces every key of the Redis store
    (default ``redis_store.DEFAULT_PREFIX``; ignored by SQL stores).
    """
    location = urls.resolve_location(settings)
    cipher = cipher if cipher is not None else crypto.NoCipher()
    store: protocols.Store
    if location.kind == "redis":
        from . import redis_store  # redis-py: only for a Redis store

        prefix = redis_store.DEFAULT_PREFIX if redis_prefix is None else redis_prefix
        store = redis_store.RedisStore(location=location, cipher=cipher, prefix=prefix)
    else:
        store = sql_store.SqlStore(location=location, cipher=cipher)
    try:
        await store.ping()
    except BaseException:
        await store.aclose()
        raise
    log.info("store_opened type=%s url=%s", location.storage_type, location.display)
    return store
