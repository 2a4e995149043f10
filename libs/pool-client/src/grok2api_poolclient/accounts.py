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


class AccountSort(enum.StrEnum):
    """Orders of ``list_accounts``; ties always fall back to the account id ascending."""

    ID = "id"
    REMAINING = "remaining"  # remaining quota summed over the modes
    LAST_USED = "last_used"
    FAILURES = "failures"
    CREATED = "created"


class AccountAction(enum.StrEnum):
    """Upstream actions ``run_action`` applies to accounts (protocol §10, §14)."""

    ACCEPT_TOS = "accept_tos"
    SET_BIRTH_DATE = "set_birth_date"
    ENABLE_NSFW = "enable_nsfw"
    CLEAR_ASSETS = "clear_assets"  # list every asset, then delete each


class ChangeKind(enum.StrEnum):
    UPSERTED = "upserted"
    STATE_CHANGED = "state_changed"
    REMOVED = "removed"


MANAGED_TAG_PREFIX = "k8s:"
"""Accounts declared by a Kubernetes ``GrokToken`` carry the reserved tag
``k8s:<namespace>/<name>`` (written by the operator on every sync). The object is their
source of truth: the admin API shows such accounts read-only, and refuses tags with this
prefix on accounts it edits, so the mark can be neither forged nor removed there."""


def managed_tag(*, namespace: str, name: str) -> str:
    """The reserved tag that marks an account managed by GrokToken ``namespace/name``."""
    return f"{MANAGED_TAG_PREFIX}{namespace}/{name}"


def managed_by(tags: tuple[str, ...] | list[str]) -> str | None:
    """``namespace/name`` of the GrokToken managing an account with ``tags``, or None."""
    for tag in tags:
        if tag.startswith(MANAGED_TAG_PREFIX):
            return tag[len(MANAGED_TAG_PREFIX) :]
    return None


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
    last_used_at: float | None = None
    """Unix seconds of the last lease; None when not leased since the hot state was built."""

    @property
    def managed_by(self) -> str | None:
        """``namespace/name`` of the GrokToken that manages the account, or None."""
        return managed_by(self.tags)

    @property
    def remaining(self) -> int:
        """Remaining quota summed over the modes (what ``AccountSort.REMAINING`` orders)."""
        return sum(w.remaining for w in self.quota)


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
class ActionProgress:
    """One step of ``run_action``: an account done, or (``finished``) the summary, whose
    counts are summed over the accounts and whose ``ok`` is False when any failed."""

    account_id: str
    ok: bool
    done: int
    total: int
    error: str = ""
    finished: bool = False
    assets_found: int = 0
    assets_deleted: int = 0
    already_done: bool = False  # set_birth_date: the upstream had a date already


@dataclasses.dataclass(frozen=True, kw_only=True)
class Asset:
    """One upstream asset of an account (fields the upstream omits are '' / None)."""

    asset_id: str
    name: str = ""
    mime_type: str = ""
    key: str = ""
    size: int | None = None
    created_at: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class AssetPage:
    assets: tuple[Asset, ...]
    next_page_token: str  # "" on the last page


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
