"""The Redis store (``server.storage_type = "redis"``): the same repositories on hashes
and index sets, every key under one prefix (``DEFAULT_PREFIX`` unless given)."""

from .keys import DEFAULT_PREFIX
from .store import RedisStore

__all__ = ["DEFAULT_PREFIX", "RedisStore"]
