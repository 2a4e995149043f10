"""A database of its own on the machine's Redis (127.0.0.1:6379) for a test or a benchmark.

Databases 8-15 are handed out by a claim in database 0 (``SET NX`` with an hour's expiry):
two deployments alive at once (a module-scoped one and a test's own, or a benchmark beside
the suite) must never share one, or a token pool would lease the other's accounts from the
shared hot state and find them missing from its own store.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

import redis

HOST_URL = "redis://127.0.0.1:6379"
FIRST, LAST = 8, 15
CLAIM_SECONDS = 3600
ATTEMPTS = 200


@contextlib.contextmanager
def claimed_database() -> Iterator[str]:
    """The URL of a claimed database, emptied before and after; RuntimeError when all
    eight stay claimed for ten seconds."""
    registry = redis.Redis(db=0)
    token = uuid.uuid4().hex
    for _ in range(ATTEMPTS):
        index = FIRST + uuid.uuid4().int % (LAST - FIRST + 1)
        claim = f"grok2api-tests:redis-db:{index}"
        if registry.set(claim, token, nx=True, ex=CLAIM_SECONDS):
            break
        time.sleep(0.05)
    else:
        registry.close()
        raise RuntimeError(f"no free Redis database among {FIRST}-{LAST} (claims in db 0)")
    client = redis.Redis(db=index)
    client.flushdb()
    try:
        yield f"{HOST_URL}/{index}"
    finally:
        client.flushdb()
        client.close()
        if registry.get(claim) == token.encode():
            registry.delete(claim)
        registry.close()
