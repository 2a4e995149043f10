"""Simulated Grok accounts: credential, tier, user id, quota windows, account settings.

Credential convention (usable from any client, no control API needed): a credential that
starts with `sim-` or contains `fault-<kind>` is created on first use. In it,
`tier-super` / `tier-heavy` pick the tier (default basic), `quota-<N>` sets every window's
total to N, and each `fault-<kind>` arms that fault for good on this account.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import faults, quota

TIERS = ("basic", "super", "heavy")
_USER_NAMESPACE = uuid.UUID("5b0c1d0e-6a39-4a53-9a57-3d1f1f9c0a11")
_QUOTA_MARK = re.compile(r"quota-(\d+)")


@dataclass(kw_only=True)
class Account:
    """One account's mutable state inside the simulator."""

    credential: str
    tier: str
    user_id: str
    windows: dict[str, quota.QuotaWindow]
    standing_faults: tuple[str, ...] = ()
    birth_date: str | None = None
    tos_version: int | None = None
    nsfw: bool = False
    posts: dict[str, dict[str, object]] = field(default_factory=dict)
    conversations: dict[str, list[str]] = field(default_factory=dict)
    """Conversation id -> its assistant response ids (for continuation, §3.2)."""

    def masked(self) -> str:
        """A credential hint safe to show: never more than the last 4 characters."""
        return "…" + self.credential[-4:] if len(self.credential) > 8 else "…"


def user_id_for(credential: str) -> str:
    """The stable user UUID the simulator assigns to a credential."""
    return str(uuid.uuid5(_USER_NAMESPACE, credential))


def is_conventional(credential: str) -> bool:
    return credential.startswith("sim-") or bool(faults.convention_faults(credential))


def convention_spec(credential: str) -> tuple[str, dict[str, object]]:
    """Tier and quota overrides encoded in a conventional credential."""
    tier = "basic"
    if "tier-heavy" in credential:
        tier = "heavy"
    elif "tier-super" in credential:
        tier = "super"
    overrides: dict[str, object] = {}
    match = _QUOTA_MARK.search(credential)
    if match:
        total = int(match.group(1))
        overrides = {mode: total for mode in quota.DEFAULT_QUOTAS[tier]}
    return tier, overrides


class AccountRegistry:
    """All accounts, keyed by credential; conventional credentials appear on first use."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}

    def add(
        self,
        *,
        credential: str,
        tier: str = "basic",
        quotas: Mapping[str, object] | None = None,
        now: float,
    ) -> Account:
        credential = normalise_credential(credential)
        if not credential:
            raise ValueError("credential must not be empty")
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")
        account = Account(
            credential=credential,
            tier=tier,
            user_id=user_id_for(credential),
            windows=quota.build_windows(tier=tier, overrides=quotas, now=now),
            standing_faults=faults.convention_faults(credential),
        )
        self._accounts[credential] = account
        return account

    def remove(self, credential: str) -> bool:
        return self._accounts.pop(normalise_credential(credential), None) is not None

    def find(self, credential: str, *, now: float) -> Account | None:
        """The account for `credential`, creating conventional ones on first use."""
        account = self._accounts.get(credential)
        if account is None and is_conventional(credential):
            tier, overrides = convention_spec(credential)
            account = self.add(credential=credential, tier=tier, quotas=overrides, now=now)
        return account

    def all(self) -> Iterable[Account]:
        return list(self._accounts.values())

    def clear(self) -> None:
        self._accounts.clear()


def normalise_credential(credential: str) -> str:
    """Strip whitespace and a leading `sso=` like the real clients do."""
    credential = credential.strip()
    return credential[4:] if credential.startswith("sso=") else credential
