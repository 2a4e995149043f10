"""The audit trail of changes made through the admin API.

Every handler that changes something calls ``await audit(request, "account.update",
account_id, tier="super")`` after the change succeeded. The entry records when, the
action, its target, who (the session or the bearer key, set on ``request.state`` by the
admin check) and from which client address, and lands in the durable store's audit log
(``AuditRepository``), listed by ``GET /api/audit``.

``detail`` must never carry a secret; as a second line of defence, values of keys that
name one (``password``, ``credential``, ``token``, ``cookie``...) are replaced by ``"***"``.
A failure to write the entry is logged and does not undo or fail the change already made.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from grok2api_storage import AuditEntry, AuditPage, AuditRepository
from grok2api_storage.records import utcnow

log = logging.getLogger(__name__)

_SECRET_WORDS = frozenset(
    {"password", "passwd", "credential", "credentials", "secret", "token", "cookie", "sso",
     "key", "authorization"}
)
# Names that contain a secret word yet only identify or describe something.
_NOT_SECRET = frozenset({"token_id", "key_id", "key_name", "key_prefix", "tokens"})


async def audit(request: Request, action: str, target: str = "", **detail: Any) -> None:
    """Record that ``action`` was done to ``target`` by this request's admin."""
    entry = AuditEntry(
        at=utcnow(),
        action=action,
        target=target,
        actor=actor(request),
        client=client_address(request),
        detail=scrub(detail),
    )
    audit_log: AuditRepository = request.app.state.audit_log
    try:
        await audit_log.add(entry)
    except Exception:
        log.exception("audit_write_failed action=%s target=%s", action, target)
        return
    log.info("admin_audit action=%s target=%s actor=%s client=%s",
             action, target, entry.actor, entry.client)


def actor(request: Request) -> str:
    """Who is making this request: ``session:<id prefix>``, ``bearer``, or ``anonymous``."""
    return str(getattr(request.state, "admin_actor", "anonymous"))


def client_address(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy, uvicorn's
    ``--forwarded-allow-ips`` decides whether ``X-Forwarded-For`` is believed)."""
    return request.client.host if request.client is not None else "unknown"


def scrub(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` as JSON values, those of secret-named keys masked, at any depth (a value
    JSON cannot hold, such as a datetime or an enum, is kept as its ``str``)."""
    return {
        str(name): "***" if _names_secret(str(name)) else _jsonable(value)
        for name, value in detail.items()
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return scrub(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _names_secret(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_SECRET:
        return False
    return any(word in _SECRET_WORDS for word in lowered.replace("-", "_").split("_"))


class MemoryAuditLog:
    """An ``AuditRepository`` in process memory: the default when no store is given
    (tests, and an admin app built without one); real deployments pass ``store.audit``."""

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []

    async def add(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    async def list(self, *, offset: int = 0, limit: int = 50) -> AuditPage:
        newest_first = self._entries[::-1]
        return AuditPage(
            items=tuple(newest_first[offset : offset + limit]),
            total=len(self._entries),
            offset=offset,
            limit=limit,
        )
