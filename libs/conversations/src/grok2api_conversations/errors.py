"""The continuation store's exception tree.

    ConversationsError
    └── StoreUnavailableError   the backend (Redis) did not answer; the driver error is chained

Driver errors are translated in exactly one place (``redis_store._translated``).
"""

from __future__ import annotations


class ConversationsError(Exception):
    """Base of every error raised by ``grok2api_conversations``."""


class StoreUnavailableError(ConversationsError):
    """The backend could not be reached or failed; the caller may retry later."""
