"""What the operator writes into ``GrokToken.status`` (pure functions, no I/O)."""

from __future__ import annotations

import datetime
from typing import Any

from grok2api_poolclient import accounts

ERROR = "error"


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds")


def from_account(account: accounts.Account) -> dict[str, Any]:
    """The status fields mirroring one pool account; clears any earlier error message."""
    return {
        "accountId": account.account_id,
        "state": str(account.status),
        "tier": str(account.tier),
        "message": "",
        "lastSynced": _now(),
    }


def failed(message: str, *, credential: str | None = None) -> dict[str, Any]:
    """An error status; ``credential``, if given, is masked out of ``message`` defensively."""
    return {"state": ERROR, "message": scrub(message, credential=credential), "lastSynced": _now()}


def scrub(message: str, *, credential: str | None) -> str:
    """``message`` with every occurrence of ``credential`` replaced by ``***``."""
    if credential:
        message = message.replace(credential, "***")
    return message
