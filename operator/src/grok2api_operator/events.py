"""Kubernetes Events on a GrokToken's state changes (``kubectl describe groktoken``).

An Event is posted when the status's ``state`` changes (or, in the error state, its
message), never on a refresh that changes nothing, so a cooling account does not post one
Event a minute. Messages never carry the credential (see ``status.scrub``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from . import status as status_fields

_BY_STATE = {
    "active": ("Normal", "Active", "the account is in the pool and can be leased"),
    "cooling": ("Warning", "Cooling", "grok.com rate limited the account: it rests until "
                                      "its cooldown ends"),
    "invalid": ("Warning", "InvalidCredential", "grok.com rejected the credential: put a "
                                                "fresh one in the Secret"),
    "disabled": ("Normal", "Disabled", "spec.enabled is false: the account is never leased"),
}  # fmt: skip


def announce_change(
    body: kopf.Body, *, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """Post an Event when ``after`` (the status written now) differs in state from ``before``."""
    state = after.get("state")
    if state == before.get("state") and after.get("message") == before.get("message"):
        return
    if state == status_fields.ERROR:
        ready = _condition(after, status_fields.READY)
        kopf.warn(body, reason=ready.get("reason") or "SyncFailed", message=after["message"])
        return
    kind, reason, message = _BY_STATE.get(str(state), ("Normal", "Synced", ""))
    text = f"account {after.get('accountId')}: {message}"
    if kind == "Warning":
        kopf.warn(body, reason=reason, message=text)
    else:
        kopf.info(body, reason=reason, message=text)


def announce_rotation(body: kopf.Body, *, old_account: str, new_account: str) -> None:
    kopf.info(body, reason="CredentialRotated", message=(
        f"the Secret holds a new credential: account {new_account} replaces {old_account}"
    ))  # fmt: skip


def announce_removal(body: kopf.Body, *, account_id: str) -> None:
    kopf.info(body, reason="Removed", message=f"account {account_id} removed from the pool")


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or () if c.get("type") == kind), {})
