"""Retries for Redis clients built from a URL.

redis-py does not retry a command on a broken connection unless told to, so after a Redis
restart every pooled connection fails its next command once ("connection closed by
server"): the first requests after a recovery would fail although Redis is back. With these
options a command whose connection broke is sent again over a fresh connection.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

RETRIES = 3  # 20, 40 then 80 ms apart: enough for a restart, short of an outage


def retrying() -> dict[str, Any]:
    """Connection options (for ``from_url``) that retry a command whose connection broke.
    A command that reached Redis just before its connection broke may run twice: the pool's
    hot-state scripts allow it (a release applies once; an acquire's lease id, already held,
    is answered with the same lease)."""
    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.01), RETRIES),
        "retry_on_error": [ConnectionError, TimeoutError],
    }
