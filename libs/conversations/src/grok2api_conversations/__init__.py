"""Continuation state (protocol §6.4): a local response id → the upstream conversation it
belongs to, the upstream response the next turn answers, the account that holds the
conversation (only it can continue it) and the model, kept for a configurable time and
readable from every gateway replica.

    store = InProcessConversationStore()                 # single process
    store = RedisConversationStore(redis, prefix="grok2api:")   # every replica
    await store.put("resp_…", StoredTurn(...), ttl_seconds=30 * 86400)
    turn = await store.get("resp_…")                     # None when unknown or expired
    await store.delete("resp_…")

Both backends pass one contract suite (``protocol.ConversationStore``).
"""

from typing import TYPE_CHECKING

from .errors import ConversationsError, StoreUnavailableError
from .memory import InProcessConversationStore
from .protocol import ConversationStore, StoredTurn

if TYPE_CHECKING:
    from .redis_store import RedisConversationStore


def __getattr__(name: str) -> object:
    # redis-py loads only in a process that keeps continuations in Redis
    if name == "RedisConversationStore":
        from .redis_store import RedisConversationStore

        return RedisConversationStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConversationStore",
    "ConversationsError",
    "InProcessConversationStore",
    "RedisConversationStore",
    "StoreUnavailableError",
    "StoredTurn",
]
