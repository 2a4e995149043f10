"""Stored responses: each response object with its owner, its input items and the chat
history a later ``previous_response_id`` continues from.

    store = InProcessResponseStore()            # single process
    store = RedisResponseStore(redis)           # split deployment: every replica reads it
    await store.put(StoredResponse(...), ttl_seconds=...)
    stored = await store.get("resp_…")          # None when unknown, deleted or expired

Both backends keep one JSON document per id and pass the same contract tests
(``tests/gateway/responses_api/test_response_store.py``). Redis
failures become ``errors.StoreUnavailable`` (503) here, in one place.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from .. import errors

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    import redis.asyncio as aioredis

PREFIX = "grok2api:response:"


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredResponse:
    owner: str | None
    """The client key that created it (None: keys are not in use); only it may read it."""
    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    history: list[dict[str, Any]]
    """Chat messages of this turn and every turn before it (without ``instructions``)."""

    @property
    def id(self) -> str:
        return str(self.response["id"])

    def encode(self) -> bytes:
        return orjson.dumps(dataclasses.asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str) -> StoredResponse:
        return cls(**orjson.loads(raw))


class ResponseStore(Protocol):
    async def put(self, stored: StoredResponse, *, ttl_seconds: float) -> None: ...
    async def get(self, response_id: str) -> StoredResponse | None: ...
    async def delete(self, response_id: str) -> bool: ...


class InProcessResponseStore:
    """Responses kept in the order they expire: every put moves its id last, and the TTL is
    one setting, so expiring looks at the oldest entries only. (It used to look at every
    stored response on every read and write; kept for 30 days by default, they pile up.)
    A setting changed to a shorter TTL can leave an expired entry behind live ones for a
    while: ``get`` checks the entry it finds, too."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: collections.OrderedDict[str, tuple[float, bytes]] = collections.OrderedDict()

    async def put(self, stored: StoredResponse, *, ttl_seconds: float) -> None:
        now = self._clock()
        self._expire(now)
        # A copy of its exact length: orjson hands back at least 4 kB, kept here for days.
        self._items[stored.id] = (now + ttl_seconds, bytes(memoryview(stored.encode())))
        self._items.move_to_end(stored.id)

    async def get(self, response_id: str) -> StoredResponse | None:
        now = self._clock()
        self._expire(now)
        found = self._items.get(response_id)
        if found is None or found[0] <= now:
            return None
        return StoredResponse.decode(found[1])

    async def delete(self, response_id: str) -> bool:
        return self._items.pop(response_id, None) is not None

    def _expire(self, now: float) -> None:
        items = self._items
        while items:
            until, _ = next(iter(items.values()))
            if until > now:
                return
            items.popitem(last=False)


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    from redis import exceptions as redis_errors  # loaded by the client already

    try:
        yield
    except redis_errors.RedisError as exc:
        raise errors.StoreUnavailable(
            f"response store: redis {what} failed ({type(exc).__name__}); retry shortly"
        ) from exc


class RedisResponseStore:
    """One string key per response, expiring by Redis's TTL; the caller owns the client."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    async def put(self, stored: StoredResponse, *, ttl_seconds: float) -> None:
        with _translated("write"):
            await self._redis.set(
                self._prefix + stored.id, stored.encode(), px=max(1, int(ttl_seconds * 1000))
            )

    async def get(self, response_id: str) -> StoredResponse | None:
        with _translated("read"):
            raw = await self._redis.get(self._prefix + response_id)
        return None if raw is None else StoredResponse.decode(raw)

    async def delete(self, response_id: str) -> bool:
        with _translated("delete"):
            return bool(await self._redis.delete(self._prefix + response_id))
