"""The Redis client every split target uses.

redis-py's default pool fails a command at once when all its connections are busy; a burst
of requests (a gateway following many media jobs, a pool under load) would then fail
instead of waiting a moment. This pool makes a command wait for a free connection.

Commands on a connection a Redis restart broke are retried (``grok2api_jobs.retrying``).
"""

from __future__ import annotations

from typing import Any

from grok2api_jobs import retrying
from redis import asyncio as aioredis

MAX_CONNECTIONS = 200
POOL_WAIT_SECONDS = 10.0


def connect(url: str, **options: Any) -> aioredis.Redis:
    """A client for ``url`` whose commands wait up to ``POOL_WAIT_SECONDS`` for one of its
    ``MAX_CONNECTIONS`` connections (raises ValueError for a malformed URL)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS,
        **{**retrying(), **options},
    )  # fmt: skip
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes both
