"""The in-process backend (single-process mode): a dict with expiry times."""

from __future__ import annotations

import time
from collections.abc import Callable

from .protocol import StoredTurn

# Every this many puts, expired entries are dropped (gets drop the one they find expired),
# so a long-running process does not keep 30 days of dead entries past their time.
SWEEP_EVERY = 1024


class InProcessConversationStore:
    """``ConversationStore`` in this process's memory; gone when the process ends.

    A turn is kept as a plain tuple of its expiry time and four strings, not as the
    ``StoredTurn`` it came as: kept for 30 days by default, every chat turn would otherwise
    add objects the garbage collector walks in each full collection (a tuple of atoms it
    stops tracking)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._turns: dict[str, tuple[float, str, str, str, str]] = {}
        self._puts = 0

    async def put(self, local_id: str, turn: StoredTurn, *, ttl_seconds: float) -> None:
        now = self._clock()
        self._turns[local_id] = (
            now + ttl_seconds, turn.conversation_id, turn.response_id, turn.account_id, turn.model
        )
        self._puts += 1
        if self._puts % SWEEP_EVERY == 0:
            self._sweep(now)

    async def get(self, local_id: str) -> StoredTurn | None:
        entry = self._turns.get(local_id)
        if entry is None:
            return None
        expires_at, conversation_id, response_id, account_id, model = entry
        if expires_at <= self._clock():
            del self._turns[local_id]
            return None
        return StoredTurn(
            conversation_id=conversation_id, response_id=response_id,
            account_id=account_id, model=model,
        )  # fmt: skip

    async def delete(self, local_id: str) -> bool:
        entry = self._turns.pop(local_id, None)
        return entry is not None and entry[0] > self._clock()

    async def aclose(self) -> None:
        self._turns.clear()

    def _sweep(self, now: float) -> None:
        for local_id in [k for k, entry in self._turns.items() if entry[0] <= now]:
            del self._turns[local_id]
