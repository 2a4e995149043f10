"""Client API keys: the key as listed, its limits, and what creating and changing one
take and return."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from .common import UNSET, Unset


class QuotaUnit(enum.StrEnum):
    """What a client key's daily and monthly quotas count."""

    REQUESTS = "requests"
    COST = "cost"
    """The model catalogue's cost units (``ModelSpec.cost``; a heavier model costs more)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientKeyLimits:
    """What a client key may do. ``None`` everywhere means "no limit"."""

    allowed_models: tuple[str, ...] | None = None
    """``None``: every model is allowed."""
    rate_limit_per_minute: int | None = None
    """Requests admitted in any rolling 60 seconds."""
    max_concurrent: int | None = None
    """Requests in flight at once, across every gateway replica."""
    quota_unit: QuotaUnit = QuotaUnit.REQUESTS
    daily_quota: int | None = None
    """Units per UTC calendar day."""
    monthly_quota: int | None = None
    """Units per UTC calendar month."""
    account_tags: tuple[str, ...] | None = None
    """``None``: any account; else only accounts carrying at least one of these tags."""
    expires_at: datetime | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientKeyRecord:
    """A client API key as listed: the plain key is never stored, only its hash."""

    id: str
    name: str
    prefix: str
    enabled: bool
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    """Set once by ``revoke``; a revoked key never works again (``enabled`` cannot undo it)."""
    limits: ClientKeyLimits = ClientKeyLimits()

    @property
    def masked(self) -> str:
        return f"{self.prefix}…"

    def refusal(self, now: datetime) -> str | None:
        """Why the key cannot be used at ``now`` ("revoked", "disabled", "expired"), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if not self.enabled:
            return "disabled"
        expires = self.limits.expires_at
        if expires is not None and expires <= now:
            return "expired"
        return None


@dataclasses.dataclass(frozen=True)
class CreatedClientKey:
    """The answer to ``create``: the only time the plain key is available."""

    record: ClientKeyRecord
    plain_key: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientKeyPatch:
    """A change to a key; every field left ``UNSET`` stays as it is."""

    name: str | Unset = UNSET
    enabled: bool | Unset = UNSET
    allowed_models: tuple[str, ...] | Unset | None = UNSET
    rate_limit_per_minute: int | Unset | None = UNSET
    max_concurrent: int | Unset | None = UNSET
    quota_unit: QuotaUnit | Unset = UNSET
    daily_quota: int | Unset | None = UNSET
    monthly_quota: int | Unset | None = UNSET
    account_tags: tuple[str, ...] | Unset | None = UNSET
    expires_at: datetime | Unset | None = UNSET

    def changes(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not UNSET
        }
