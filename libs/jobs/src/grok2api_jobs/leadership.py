"""Which one of several replicas does a shared chore (reporting pool-wide gauges, the queue's
depth): the one holding a short lease in Redis.

    lease = leadership.RedisLeadership(redis, key="grok2api:pool:metrics-leader", ttl_seconds=30)
    if await lease.hold():     # take the lease, or renew it while still ours
        ...                    # do the chore
    await lease.release()      # on shutdown: another replica takes over at its next hold()

``hold()`` is called periodically, well within ``ttl_seconds``: a replica that dies stops
renewing and the lease expires, so another one's next ``hold()`` takes it. A replica whose
lease expired (a pause longer than the TTL) or that cannot reach Redis learns it at its next
``hold()``, which answers False: it must stop doing the chore then. ``SoleLeadership`` is
the single-process mode's: the only replica always holds it; ``NoLeadership`` never does.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# Push the expiry back only if the lease is still ours. KEYS: key; ARGV: token, ttl ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Give the lease up only if it is still ours. KEYS: key; ARGV: token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leadership(Protocol):
    async def hold(self) -> bool:
        """Take the lease or renew it; whether this replica holds it now."""
        ...

    async def release(self) -> None:
        """Give the lease up (if held), so that another replica may take it at once."""
        ...


class SoleLeadership:
    """The only replica there is: always the leader."""

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class NoLeadership:
    """A process that never does the shared chore: a short-lived one (a CLI command running
    a pool of its own) must not take the lease from the replicas that are scraped."""

    async def hold(self) -> bool:
        return False

    async def release(self) -> None:
        return None


class RedisLeadership:
    """A lease on ``key`` (``SET NX PX``, renewed by a compare-and-``PEXPIRE`` script).

    A Redis failure counts as not holding it (logged): a replica that cannot see Redis cannot
    know whether another one took over, and two reporters are worse than a short gap.
    """

    def __init__(self, redis: aioredis.Redis, *, key: str, ttl_seconds: float) -> None:
        from redis import exceptions as redis_errors  # loaded with the client already

        self._failures = (redis_errors.RedisError, OSError)
        self._redis = redis
        self._key = key
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._token = uuid.uuid4().hex
        self._held = False
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def held(self) -> bool:
        """What the last ``hold()`` answered (False before the first one)."""
        return self._held

    @property
    def token(self) -> str:
        """This holder's value in the key: a script may check it before acting as holder."""
        return self._token

    async def hold(self) -> bool:
        try:
            if self._held and await self._renew(keys=[self._key], args=[self._token, self._ttl_ms]):
                return True
            taken = await self._redis.set(self._key, self._token, nx=True, px=self._ttl_ms)
        except self._failures as exc:
            if self._held:
                log.warning("leadership_lost key=%s error=%s", self._key, type(exc).__name__)
            self._held = False
            return False
        if self._held and not taken:
            log.info("leadership_lost key=%s", self._key)
        elif taken and not self._held:
            log.info("leadership_taken key=%s", self._key)
        self._held = bool(taken)
        return self._held

    async def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            await self._release(keys=[self._key], args=[self._token])
        except self._failures as exc:  # it expires by itself
            log.warning("leadership_release_failed key=%s error=%s", self._key, type(exc).__name__)
