"""Per-request context that log records pick up without being passed around."""

from __future__ import annotations

import contextvars
import secrets

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    return secrets.token_hex(8)
