"""Grok accounts: the stored account, its quota windows, and what adding, changing,
listing and importing accounts take and return."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .. import masking
from .common import UNSET, Unset


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"
    INVALID = "invalid"
    DISABLED = "disabled"


class AccountTier(enum.StrEnum):
    BASIC = "basic"
    SUPER = "super"
    HEAVY = "heavy"


class QuotaSource(enum.StrEnum):
    REAL = "real"
    """Reported by the upstream's rate-limits answer."""
    ESTIMATED = "estimated"
    """Derived by counting our own use since the last real figure."""
    DEFAULT = "default"
    """The tier's documented default; nothing better is known yet."""


@dataclasses.dataclass(frozen=True)
class QuotaWindow:
    """One mode's quota: ``remaining`` of ``total`` per ``window_seconds``."""

    remaining: int
    total: int
    window_seconds: int
    reset_at: datetime | None = None
    source: QuotaSource = QuotaSource.DEFAULT

    def to_json(self) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "total": self.total,
            "window_seconds": self.window_seconds,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
            "source": self.source.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuotaWindow:
        reset_at = data.get("reset_at")
        return cls(
            remaining=int(data["remaining"]),
            total=int(data["total"]),
            window_seconds=int(data["window_seconds"]),
            reset_at=datetime.fromisoformat(reset_at) if reset_at else None,
            source=QuotaSource(data.get("source", QuotaSource.DEFAULT)),
        )


def quota_to_json(quota: Mapping[str, QuotaWindow]) -> dict[str, Any]:
    return {mode: window.to_json() for mode, window in sorted(quota.items())}


def quota_from_json(data: Mapping[str, Any] | None) -> dict[str, QuotaWindow]:
    return {mode: QuotaWindow.from_json(window) for mode, window in (data or {}).items()}


@dataclasses.dataclass(frozen=True)
class AccountRecord:
    """A stored Grok account, credential decrypted (never shown by ``repr``)."""

    id: str
    credential: str = dataclasses.field(repr=False)
    fingerprint: str = dataclasses.field(repr=False)
    tier: AccountTier | None
    status: AccountStatus
    enabled: bool
    tags: tuple[str, ...]
    note: str
    fail_count: int
    quota: Mapping[str, QuotaWindow]
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    user_id: str = ""
    """The account's grok.com user id (a UUID), discovered from ``/api/auth/session`` the
    first time a chat needed it; "" until then. Not a secret, but an upstream identifier:
    never logged next to the credential, never a metrics label."""

    @property
    def masked_credential(self) -> str:
        return masking.mask_secret(self.credential)


@dataclasses.dataclass(frozen=True)
class NewAccount:
    """An account to add or import. Only ``credential`` is required."""

    credential: str = dataclasses.field(repr=False)
    tier: AccountTier | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    enabled: bool = True
    tags: tuple[str, ...] = ()
    note: str = ""
    quota: Mapping[str, QuotaWindow] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class QuotaCheckpoint:
    """An account's quota windows and last lease as the pool's hot state counts them, saved
    so a rebuilt hot state does not forget what was spent (``AccountRepository.save_quotas``)."""

    quota: Mapping[str, QuotaWindow]
    last_used_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class AccountPatch:
    """Fields to change on an account; ``UNSET`` fields are left as they are.

    Changing ``credential`` re-encrypts it and recomputes the fingerprint; it fails with
    ``DuplicateError`` when another account already holds the new credential. It also
    forgets the ``user_id`` (another credential may be another user) unless the same
    patch sets one.
    """

    credential: str | Unset = dataclasses.field(default=UNSET, repr=False)
    tier: AccountTier | Unset | None = UNSET
    status: AccountStatus | Unset = UNSET
    enabled: bool | Unset = UNSET
    tags: tuple[str, ...] | Unset = UNSET
    note: str | Unset = UNSET
    fail_count: int | Unset = UNSET
    quota: Mapping[str, QuotaWindow] | Unset = UNSET
    last_used_at: datetime | Unset | None = UNSET
    user_id: str | Unset = UNSET

    def changes(self) -> dict[str, Any]:
        """The set fields by name."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not UNSET
        }


@dataclasses.dataclass(frozen=True)
class AccountFilter:
    """Listing filters; ``None`` means "any". ``search`` matches the id or the note
    (case-insensitive substring) or, exactly, a pasted credential (by fingerprint)."""

    status: AccountStatus | None = None
    tier: AccountTier | None = None
    tag: str | None = None
    enabled: bool | None = None
    search: str | None = None


@dataclasses.dataclass(frozen=True)
class AccountPage:
    """One page of a listing, ordered by creation time then id; ``total`` ignores paging."""

    items: tuple[AccountRecord, ...]
    total: int
    offset: int
    limit: int


@dataclasses.dataclass(frozen=True)
class UpsertResult:
    account: AccountRecord
    created: bool


@dataclasses.dataclass(frozen=True)
class ImportCounts:
    """Outcome of a bulk import: new accounts, changed existing ones, and the rest
    (unchanged existing accounts, duplicates within the batch, blank credentials)."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
