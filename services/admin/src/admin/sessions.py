"""Server-side admin sessions and the wrong-password counters, in hot shared state.

Two backends behind one ``SessionStore`` protocol, tested by one contract suite: Redis in
a split deployment (sessions and lockouts hold across admin replicas) and process memory
in the single-process mode. A session id is a bearer secret, so neither backend keys
anything by the id itself: records live under its SHA-256, and a dump of Redis yields no
usable cookie.

A session is sealed with the admin password it was opened under (an HMAC of its id keyed
by ``app.app_key``): when the password changes, every open session stops being accepted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # redis-py loads only where a Redis server is used
    from redis import asyncio as aioredis



@dataclasses.dataclass(frozen=True)
class Session:
    """A logged-in browser: its cookie value (``id``), its CSRF token, and the seal of the
    password it was opened under (``seal``)."""

    id: str = dataclasses.field(repr=False)
    csrf_token: str = dataclasses.field(repr=False)
    password_seal: str = dataclasses.field(repr=False)

    @property
    def handle(self) -> str:
        """A short name for logs and the audit trail that does not reveal the id."""
        return digest(self.id)[:12]


class SessionStore(Protocol):
    async def create(self, session: Session, *, ttl_seconds: int) -> None:
        """Store a session made by ``new_session``, expiring after the TTL."""

    async def get(self, session_id: str) -> Session | None:
        """The live session of that id, else ``None`` (unknown, expired or logged out)."""

    async def delete(self, session_id: str) -> None: ...

    async def count_failure(self, client: str, *, window_seconds: int) -> int:
        """Count one wrong password from ``client``; the number within the window."""

    async def lock(self, client: str, *, seconds: int) -> None:
        """Refuse logins from ``client`` for ``seconds``; its failure count starts over."""

    async def locked_for(self, client: str) -> float:
        """Seconds ``client`` remains locked out; 0 when it is not."""

    async def clear_failures(self, client: str) -> None: ...


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def seal(password: str, session_id: str) -> str:
    return hmac.new(password.encode(), session_id.encode(), hashlib.sha256).hexdigest()


def new_session(*, password: str) -> Session:
    """A session with a fresh random id and CSRF token, sealed with ``password``."""
    session_id = secrets.token_urlsafe(32)
    return Session(
        id=session_id,
        csrf_token=secrets.token_urlsafe(32),
        password_seal=seal(password, session_id),
    )


class MemorySessionStore:
    """Sessions of one process (the single-process mode). ``clock`` is injectable so
    tests can move time; it is monotonic, as expiry needs."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, tuple[str, str, float]] = {}
        self._failures: dict[str, tuple[int, float]] = {}
        self._locks: dict[str, float] = {}

    async def create(self, session: Session, *, ttl_seconds: int) -> None:
        self._sweep()
        self._sessions[digest(session.id)] = (
            session.csrf_token, session.password_seal, self._clock() + ttl_seconds
        )

    async def get(self, session_id: str) -> Session | None:
        found = self._sessions.get(digest(session_id))
        if found is None or found[2] <= self._clock():
            return None
        return Session(id=session_id, csrf_token=found[0], password_seal=found[1])

    async def delete(self, session_id: str) -> None:
        self._sessions.pop(digest(session_id), None)

    async def count_failure(self, client: str, *, window_seconds: int) -> int:
        now = self._clock()
        count, until = self._failures.get(client, (0, 0.0))
        if until <= now:
            count, until = 0, now + window_seconds
        self._failures[client] = (count + 1, until)
        return count + 1

    async def lock(self, client: str, *, seconds: int) -> None:
        self._locks[client] = self._clock() + seconds
        self._failures.pop(client, None)

    async def locked_for(self, client: str) -> float:
        return max(0.0, self._locks.get(client, 0.0) - self._clock())

    async def clear_failures(self, client: str) -> None:
        self._failures.pop(client, None)

    def _sweep(self) -> None:
        """Forget expired sessions and locks, so memory stays bounded by live ones."""
        now = self._clock()
        self._sessions = {k: v for k, v in self._sessions.items() if v[2] > now}
        self._locks = {k: v for k, v in self._locks.items() if v > now}
        self._failures = {k: v for k, v in self._failures.items() if v[1] > now}


# INCR and the window's expiry in one step, so a crash between them cannot leave a
# counter that never expires (which would lock an address out for good).
_COUNT_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""

DEFAULT_PREFIX = "grok2api:admin:"


class RedisSessionStore:
    """Sessions shared by every admin replica; Redis expires them (``EX``)."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    def _session_key(self, session_id: str) -> str:
        return f"{self._prefix}session:{digest(session_id)}"

    def _failures_key(self, client: str) -> str:
        return f"{self._prefix}login-failures:{client}"

    def _lock_key(self, client: str) -> str:
        return f"{self._prefix}login-lock:{client}"

    async def create(self, session: Session, *, ttl_seconds: int) -> None:
        value = json.dumps({"csrf": session.csrf_token, "seal": session.password_seal})
        await self._redis.set(self._session_key(session.id), value, ex=ttl_seconds)

    async def get(self, session_id: str) -> Session | None:
        raw = await self._redis.get(self._session_key(session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(id=session_id, csrf_token=data["csrf"], password_seal=data["seal"])

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._session_key(session_id))

    async def count_failure(self, client: str, *, window_seconds: int) -> int:
        count = await self._redis.eval(  # type: ignore[misc]
            _COUNT_FAILURE, 1, self._failures_key(client), window_seconds * 1000
        )
        return int(count)

    async def lock(self, client: str, *, seconds: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._lock_key(client), "1", ex=seconds)
            pipe.delete(self._failures_key(client))
            await pipe.execute()

    async def locked_for(self, client: str) -> float:
        remaining_ms = int(await self._redis.pttl(self._lock_key(client)))
        return max(0.0, remaining_ms / 1000)

    async def clear_failures(self, client: str) -> None:
        await self._redis.delete(self._failures_key(client))
