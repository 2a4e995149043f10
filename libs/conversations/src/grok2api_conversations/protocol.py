"""What a continuation record holds, and the contract both backends pass."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import orjson


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class StoredTurn:
    """One finished turn, as the next turn needs it.

    ``conversation_id`` is the upstream conversation (the mgw session id); ``response_id``
    the upstream id of the turn's answer, the parent of the next turn; ``account_id`` the
    pool account that holds the conversation; ``model`` the catalogue model the turn used.
    """

    conversation_id: str
    response_id: str
    account_id: str
    model: str

    def encode(self) -> bytes:
        return orjson.dumps(dataclasses.asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str) -> StoredTurn:
        data = orjson.loads(raw)
        return cls(
            conversation_id=str(data["conversation_id"]),
            response_id=str(data["response_id"]),
            account_id=str(data["account_id"]),
            model=str(data["model"]),
        )


class ConversationStore(Protocol):
    async def put(self, local_id: str, turn: StoredTurn, *, ttl_seconds: float) -> None:
        """Remember ``turn`` under ``local_id`` (the id our API gave the response) for
        ``ttl_seconds``; a second put under the same id replaces the first."""
        ...

    async def get(self, local_id: str) -> StoredTurn | None:
        """The turn stored under ``local_id``; None when it is unknown or has expired."""
        ...

    async def delete(self, local_id: str) -> bool:
        """Forget ``local_id``; False when it was not stored (or had expired)."""
        ...

    async def aclose(self) -> None:
        """Release the backend's resources (the caller owns a Redis client it passed in)."""
        ...
