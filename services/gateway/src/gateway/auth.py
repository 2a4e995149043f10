"""Client authentication: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``.

A key is accepted when it equals ``app.api_key`` (compared in constant time) or when the
client-key store verifies it. An empty ``app.api_key`` leaves the API OPEN to anyone who
can reach it (the README says so); store keys are checked only when a key is configured.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Protocol

from fastapi import Request

from . import errors

log = logging.getLogger(__name__)


class KeyVerifier(Protocol):
    async def verify(self, plain_key: str) -> Any | None:
        """The enabled key record matching ``plain_key``, else None."""
        ...


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
    return (request.headers.get("x-api-key") or "").strip()


async def authenticate(*, request: Request, api_key: str, store: KeyVerifier | None) -> None:
    """Raise ``errors.AuthenticationFailed`` unless the request may use the API."""
    if not api_key:
        return
    key = presented_key(request)
    if not key:
        raise errors.AuthenticationFailed(
            "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key'."
        )
    if hmac.compare_digest(key.encode(), api_key.encode()):
        return
    if store is not None and await store.verify(key) is not None:
        return
    log.info("auth_rejected")
    raise errors.AuthenticationFailed("Incorrect API key provided.")
