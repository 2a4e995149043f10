"""The in-process hot state's named locks and notice feed (semantics: ``base``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator


class MemoryBus:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[str, float]] = {}
        self._subscribers: set[asyncio.Queue[bytes]] = set()

    async def try_lock(self, name: str, *, ttl_seconds: float) -> str | None:
        loop_time = asyncio.get_running_loop().time()
        held = self._locks.get(name)
        if held is not None and held[1] > loop_time:
            return None
        token = uuid.uuid4().hex
        self._locks[name] = (token, loop_time + ttl_seconds)
        return token

    async def unlock(self, name: str, token: str) -> None:
        if self._locks.get(name, ("", 0.0))[0] == token:
            del self._locks[name]

    async def publish(self, message: bytes) -> None:
        for queue in self._subscribers:
            queue.put_nowait(message)

    async def subscribe(self) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    async def close(self) -> None:
        self._subscribers.clear()
