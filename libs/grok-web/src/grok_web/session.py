"""Session identity (protocol §16): the account's user id from ``GET /api/auth/session``.

The mgw WebSocket (§6.1) needs the user's UUID in its URL (``uid=``) and its cookie
(``x-userid=``). :class:`UserIdCache` keeps one per credential for an hour so a chat turn
does not pay the lookup each time; it is keyed by a SHA-256 of the credential, never the
credential itself, and bounded (oldest entries go first).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from grok_web import context, errors, translate

AUTH_SESSION = "/api/auth/session"
DEFAULT_TTL_SECONDS = 3600.0
DEFAULT_MAX_ENTRIES = 10_000
_UNAUTHORIZED_STATUSES = frozenset({"unauthenticated", "blocked"})


def credential_key(credential: str) -> str:
    """The cache key of a credential: a SHA-256 hex digest (the token never is a key)."""
    token = credential.strip().removeprefix("sso=")
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def fetch_user_id(*, ctx: context.Context, credential: str) -> str:
    """``GET /api/auth/session`` → the user's UUID (§16). ``status`` unauthenticated or
    blocked → :class:`errors.InvalidCredential`; no UUID → :class:`errors.MalformedResponse`."""
    headers = ctx.headers.json(
        credential=credential, origin=ctx.origin, referer=ctx.page("/"), with_statsig=False
    )
    # A GET from the page: no body type, no Sentry baggage; HEAD's app headers (§2.2).
    headers.pop("Content-Type", None)
    headers.pop("Baggage", None)
    headers["Cache-Control"] = "no-cache"
    headers["Pragma"] = "no-cache"
    reply = await ctx.transport.request(
        "GET", ctx.url(AUTH_SESSION), headers=headers, secrets=(credential,)
    )
    data = translate.json_object(reply.content, what="auth session")
    return user_id_from(data)


def user_id_from(data: Mapping[str, Any]) -> str:
    """The user id of an ``/api/auth/session`` answer: ``session.userId``, then
    ``user.id|userId|sub``, then top-level ``id|userId|sub`` (§16)."""
    status = str(data.get("status") or "").lower()
    if status in _UNAUTHORIZED_STATUSES:
        raise errors.InvalidCredential(f"auth session status={status!r}", status=401)
    candidates: list[Any] = []
    session = data.get("session")
    if isinstance(session, Mapping):
        candidates.append(session.get("userId"))
    user = data.get("user")
    if isinstance(user, Mapping):
        candidates.extend(user.get(key) for key in ("id", "userId", "sub"))
    candidates.extend(data.get(key) for key in ("id", "userId", "sub"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            try:
                return str(uuid.UUID(candidate.strip()))
            except ValueError:
                continue
    raise translate.malformed("auth session without a user id (UUID)")


class UserIdCache:
    """User ids per credential (hash-keyed), each kept ``ttl`` seconds, at most
    ``max_entries``; concurrent lookups of one credential share one request."""

    def __init__(
        self, *, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self._ttl = ttl
        self._max = max(1, max_entries)
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"UserIdCache(entries={len(self._entries)}, ttl={self._ttl:g})"

    def cached(self, credential: str) -> str | None:
        """The cached user id of ``credential`` if still fresh."""
        key = credential_key(credential)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, user_id = entry
        if expires <= time.monotonic():
            del self._entries[key]
            return None
        return user_id

    def forget(self, credential: str) -> None:
        """Drop the entry of ``credential``."""
        self._entries.pop(credential_key(credential), None)

    async def get(self, *, ctx: context.Context, credential: str) -> str:
        """The user id of ``credential``, fetched when not cached (or expired)."""
        found = self.cached(credential)
        if found is not None:
            return found
        key = credential_key(credential)
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(fetch_user_id(ctx=ctx, credential=credential))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(pending)

    def _settle(self, key: str, done: asyncio.Future[str]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if done.cancelled() or done.exception() is not None:
            return
        self._entries[key] = (time.monotonic() + self._ttl, done.result())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
