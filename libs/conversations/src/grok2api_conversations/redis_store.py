"""The Redis backend (split deployments): one string key per local response id,
``<prefix>conversation:<local id>`` = the JSON ``StoredTurn``, expiring with Redis's own TTL,
so every gateway replica reads what any other one wrote."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from .errors import StoreUnavailableError
from .protocol import StoredTurn

DEFAULT_PREFIX = "grok2api:"


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except redis_errors.RedisError as exc:
        raise StoreUnavailableError(
            f"continuation store: redis {what} failed ({type(exc).__name__})"
        ) from exc


class RedisConversationStore:
    """``ConversationStore`` in Redis; the caller owns (and closes) the client."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, local_id: str) -> str:
        return f"{self._prefix}conversation:{local_id}"

    async def put(self, local_id: str, turn: StoredTurn, *, ttl_seconds: float) -> None:
        with _translated("write"):
            await self._redis.set(
                self._key(local_id), turn.encode(), px=max(1, int(ttl_seconds * 1000))
            )

    async def get(self, local_id: str) -> StoredTurn | None:
        with _translated("read"):
            raw = await self._redis.get(self._key(local_id))
        return None if raw is None else StoredTurn.decode(raw)

    async def delete(self, local_id: str) -> bool:
        with _translated("delete"):
            return bool(await self._redis.delete(self._key(local_id)))

    async def aclose(self) -> None:
        return None
