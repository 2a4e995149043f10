"""Value objects of account management: accounts as listed, pages, progress, statistics.

Credentials never appear here except in ``ExportedAccount`` (backups), where the field is
kept out of ``repr``. Listings carry ``credential_masked`` only.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from .leases import Tier


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"  # rate limited until ``cooling_until``
    INVALID = "invalid"  # the upstream rejected the credential ``fail_threshold`` times
    DISABLED = "disabled"  # switched off by an operator


class QuotaSource(enum.StrEnum):
    DEFAULT = "default"  # nothing known: the tier's default figures
    ESTIMATED = "estimated"  # last upstream figure (or default) minus local use since
    REAL = "real"  # as the upstream's rate-limits answer reported it


class ChangeKind(enum.StrEnum):
    UPSERTED = "upserted"
    STATE_CHANGED = "state_changed"
    REMOVED = "removed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class QuotaWindow:
    mode: str
    remaining: int
    total: int
    window_seconds: int
    reset_at: float | None  # unix seconds when the window refills; None when unknown
    source: QuotaSource


@dataclasses.dataclass(frozen=True, kw_only=True)
class Account:
    account_id: str
    credential_masked: str
    tier: Tier
    status: AccountStatus
    enabled: bool
    tags: tuple[str, ...] = ()
    note: str = ""
    quota: tuple[QuotaWindow, ...] = ()
    inflight: int = 0
    fail_count: int = 0
    cooling_until: float | None = None
    last_refresh_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    refused_products: tuple[str, ...] = ()
    """Products (``image``, ``video``) the upstream refused this account: it is not leased
    for them until its next successful usage refresh (or an operator edit)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountPage:
    accounts: tuple[Account, ...]
    next_page_token: str  # "" on the last page
    total: int  # accounts matching the filter, over all pages


@dataclasses.dataclass(frozen=True, kw_only=True)
class RefreshProgress:
    """One step of a usage refresh; the last event has ``finished`` set and no account."""

    account_id: str
    ok: bool
    done: int
    total: int
    error: str = ""
    skipped: bool = False  # another replica holds this account's refresh lock
    finished: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class TierStats:
    tier: Tier
    by_status: Mapping[str, int]
    remaining_by_mode: Mapping[str, int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PoolStats:
    total_accounts: int
    leases_in_flight: int
    tiers: tuple[TierStats, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountChange:
    kind: ChangeKind
    account_id: str
    account: Account | None  # None for removals


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExportedAccount:
    credential: str = dataclasses.field(repr=False)
    tier: Tier
    status: AccountStatus
    enabled: bool = True
    tags: tuple[str, ...] = ()
    note: str = ""
