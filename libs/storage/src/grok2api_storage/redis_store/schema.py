"""The Redis store's layout version, migrated under a lock like the SQL schema.

Version 1 was the first layout; its keys are created on first write, so its step only
records the version. Version 2 (the layout in ``keys.py``) stores usage records by id.
A later layout change adds a step here that rewrites keys, and the lock keeps two
replicas from running it at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from .. import errors, records
from .keys import Keys

log = logging.getLogger(__name__)

LOCK_TTL_MS = 60_000
LOCK_WAIT_SECONDS = 120.0
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Step = Callable[[Redis, Keys], Awaitable[None]]


async def _initial_layout(redis: Redis, keys: Keys) -> None:
    """Nothing to rewrite: version 1 keys are created as records are written."""


async def _usage_by_id(redis: Redis, keys: Keys) -> None:
    """Usage records became one hash entry per record id plus a zset of ids by time.
    Nothing but tests ever wrote layout 1's usage zset, so it is dropped. Client-key
    hashes gain fields lazily (a missing one reads as its default)."""
    await redis.delete(keys.legacy_usage)


async def _egresses(redis: Redis, keys: Keys) -> None:
    """Egresses and bindings (layout 3) are new keys, created as they are written."""


STEPS: dict[int, Step] = {1: _initial_layout, 2: _usage_by_id, 3: _egresses}
CURRENT_VERSION = max(STEPS)


async def current_version(redis: Redis, keys: Keys) -> str | None:
    value = await redis.get(keys.schema_version)
    return str(value) if value is not None else None


async def migrate(redis: Redis, keys: Keys) -> records.SchemaMigration:
    """Apply the missing steps under ``{prefix}schema-lock``; a no-op when current."""
    token = secrets.token_hex(16)
    await _acquire(redis, keys, token)
    try:
        before = await current_version(redis, keys)
        version = int(before) if before is not None else 0
        if version > CURRENT_VERSION:
            raise errors.SchemaError(
                f"the Redis store's layout is version {version}, newer than this version of "
                f"grok2api knows ({CURRENT_VERSION}); upgrade grok2api instead"
            )
        for step in range(version + 1, CURRENT_VERSION + 1):
            await STEPS[step](redis, keys)
            await redis.set(keys.schema_version, str(step))
    finally:
        await redis.eval(_RELEASE, 1, keys.schema_lock, token)  # type: ignore[misc]
    after = str(CURRENT_VERSION)
    if before != after:
        log.info("schema_migrated store=redis before=%s after=%s", before, after)
    return records.SchemaMigration(before=before, after=after)


async def _acquire(redis: Redis, keys: Keys, token: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_SECONDS
    while not await redis.set(keys.schema_lock, token, nx=True, px=LOCK_TTL_MS):
        if loop.time() > deadline:
            raise errors.SchemaError(
                f"another replica held {keys.schema_lock} for over {LOCK_WAIT_SECONDS:.0f}s"
            )
        await asyncio.sleep(0.05)
