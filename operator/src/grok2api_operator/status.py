"""What the operator writes into ``GrokToken.status`` (pure functions, no I/O).

Besides the account's mirror (``accountId``, ``state``, ``tier``, ``remainingQuota``) the
status carries two conditions in the Kubernetes API conventions' shape
(type/status/reason/message/lastTransitionTime/observedGeneration):

- ``CredentialAvailable``: the Secret could be read and the pool holds a credential it
  has not refused (False: Secret missing or unreadable, credential rejected or invalid).
- ``Ready``: the account can be leased now (False: cooling, disabled, invalid, or the
  operator could not sync it).

``lastTransitionTime`` changes only when a condition's ``status`` flips.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from grok2api_poolclient import accounts

ERROR = "error"
READY = "Ready"
CREDENTIAL_AVAILABLE = "CredentialAvailable"

_NOT_READY_REASONS = {
    accounts.AccountStatus.COOLING: ("Cooling", "rate limited by grok.com; leased again after"),
    accounts.AccountStatus.DISABLED: ("Disabled", "spec.enabled is false"),
    accounts.AccountStatus.INVALID: ("InvalidCredential", "grok.com rejected the credential"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Actor:
    """Who writes the status: the operator replica acting, and the object's generation."""

    operator: str
    generation: int | None


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds")


def from_account(
    account: accounts.Account, *, actor: Actor, previous: Mapping[str, Any]
) -> dict[str, Any]:
    """The status mirroring one pool account; clears any earlier error message."""
    ready = _readiness(account)
    credential = Condition(
        type=CREDENTIAL_AVAILABLE,
        status=account.status != accounts.AccountStatus.INVALID,
        reason="InvalidCredential" if account.status == accounts.AccountStatus.INVALID
        else "SecretRead",
        message="grok.com rejected the credential: put a fresh one in the Secret"
        if account.status == accounts.AccountStatus.INVALID else "",
    )  # fmt: skip
    return {
        "accountId": account.account_id,
        "state": str(account.status),
        "tier": str(account.tier),
        "remainingQuota": account.remaining,
        "message": "",
        **_common(actor, previous, (ready, credential)),
    }


def failed(
    message: str, *, reason: str, credential_ok: bool, actor: Actor,
    previous: Mapping[str, Any], credential: str | None = None,
) -> dict[str, Any]:
    """An error status; ``credential``, if given, is masked out of ``message`` defensively.

    ``credential_ok`` says whether the Secret was read and its credential not refused
    (a pool outage is not the credential's fault).
    """
    text = scrub(message, credential=credential)
    conditions = (
        Condition(type=READY, status=False, reason=reason, message=text),
        Condition(type=CREDENTIAL_AVAILABLE, status=credential_ok,
                  reason="SecretRead" if credential_ok else reason,
                  message="" if credential_ok else text),
    )  # fmt: skip
    return {"state": ERROR, "message": text, **_common(actor, previous, conditions)}


def scrub(message: str, *, credential: str | None) -> str:
    """``message`` with every occurrence of ``credential`` replaced by ``***``."""
    if credential:
        message = message.replace(credential, "***")
    return message


def _readiness(account: accounts.Account) -> Condition:
    if account.status == accounts.AccountStatus.ACTIVE:
        return Condition(type=READY, status=True, reason="Active")
    reason, message = _NOT_READY_REASONS[account.status]
    if account.status == accounts.AccountStatus.COOLING and account.cooling_until:
        until = datetime.datetime.fromtimestamp(account.cooling_until, tz=datetime.UTC)
        message = f"{message} {until.isoformat(timespec='seconds')}"
    elif account.status == accounts.AccountStatus.COOLING:
        message = f"{message} its cooldown"
    return Condition(type=READY, status=False, reason=reason, message=message)


def _common(
    actor: Actor, previous: Mapping[str, Any], conditions: Sequence[Condition]
) -> dict[str, Any]:
    written: dict[str, Any] = {
        "operator": actor.operator,
        "lastSynced": now(),
        "conditions": merge_conditions(
            previous.get("conditions") or [], conditions, generation=actor.generation
        ),
    }
    if actor.generation is not None:
        written["observedGeneration"] = actor.generation
    return written


def merge_conditions(
    previous: Sequence[Mapping[str, Any]], current: Sequence[Condition], *,
    generation: int | None,
) -> list[dict[str, Any]]:
    """``current`` as condition objects, keeping each one's ``lastTransitionTime`` unless
    its status flipped since ``previous``."""
    before = {c.get("type"): c for c in previous}
    stamp = now()
    merged = []
    for condition in current:
        value = "True" if condition.status else "False"
        old = before.get(condition.type) or {}
        since = old.get("lastTransitionTime") if old.get("status") == value else None
        item: dict[str, Any] = {
            "type": condition.type, "status": value, "reason": condition.reason,
            "message": condition.message, "lastTransitionTime": since or stamp,
        }  # fmt: skip
        if generation is not None:
            item["observedGeneration"] = generation
        merged.append(item)
    return merged
