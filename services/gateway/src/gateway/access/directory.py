"""The client keys a gateway checks requests against, read through a one-second cache.

Each key (by the SHA-256 of what the client sent) and the "does any key exist" answer are
re-read from the durable store once they are older than ``freshness``: a revocation, an
expiry change or the first key created reaches every replica within that second, and a
replica reads the store at most once per key per second however busy it is. Concurrent
misses for one key share one read. When the store cannot be reached, the last answer read
keeps serving for another ``freshness`` before the next try (a gateway keeps working through
a database restart); with none, the request gets a 503 saying so.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from grok2api_storage import StorageError, protocols
from grok2api_storage.records import ClientKeyRecord

from .. import errors

log = logging.getLogger(__name__)

FRESHNESS_SECONDS = 1.0
MAX_CACHED_KEYS = 10_000  # unknown keys are cached too: a flood of bad keys stays bounded
T = TypeVar("T")


class _Cached(Generic[T]):
    """One answer and when it was read, plus the read in flight that will replace it."""

    __slots__ = ("read_at", "refreshing", "value")

    def __init__(self) -> None:
        self.value: T | None = None
        self.read_at: float | None = None
        self.refreshing: asyncio.Future[T] | None = None


class KeyDirectory:
    def __init__(
        self,
        store: protocols.ClientKeyRepository,
        *,
        freshness: float = FRESHNESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._freshness = freshness
        self._clock = clock
        self._keys: dict[str, _Cached[ClientKeyRecord | None]] = {}
        self._any = _Cached[bool]()

    async def any_exist(self) -> bool:
        return await self._read(self._any, self._store.any_exist)

    async def find(self, plain_key: str) -> ClientKeyRecord | None:
        """The stored key matching ``plain_key`` (in any state), or None."""
        digest = hashlib.sha256(plain_key.encode()).hexdigest()
        entry = self._keys.get(digest)
        if entry is None:
            if len(self._keys) >= MAX_CACHED_KEYS:
                self._keys.clear()
            entry = self._keys[digest] = _Cached()
        return await self._read(entry, lambda: self._store.find(plain_key))

    async def _read(self, entry: _Cached[T], load: Callable[[], Awaitable[T]]) -> T:
        now = self._clock()
        if entry.read_at is not None and now - entry.read_at < self._freshness:
            return entry.value  # type: ignore[return-value]
        if entry.refreshing is None:
            entry.refreshing = asyncio.ensure_future(self._refresh(entry, load))
        return await asyncio.shield(entry.refreshing)

    async def _refresh(self, entry: _Cached[T], load: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await load()
        except StorageError as exc:
            if entry.read_at is None:
                raise errors.StoreUnavailable(
                    "The client-key store cannot be reached, so the API key cannot be "
                    "checked; retry in a few seconds."
                ) from exc
            log.warning("client_key_store_unreachable error=%s", type(exc).__name__)
            entry.read_at = self._clock()  # serve the last answer a while before trying again
            return entry.value  # type: ignore[return-value]
        finally:
            entry.refreshing = None
        entry.value, entry.read_at = value, self._clock()
        return value
