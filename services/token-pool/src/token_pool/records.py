"""Translation between the durable store's records and the pool's values."""

from __future__ import annotations

from datetime import UTC, datetime

from grok2api_poolclient import accounts
from grok2api_poolclient.leases import Tier
from grok2api_storage import records

from .hot import base

SSO_PREFIX = "sso="


def normalise_credential(raw: str) -> str:
    """The bare sso cookie value: surrounding space and a leading ``sso=`` removed."""
    value = raw.strip()
    if value.startswith(SSO_PREFIX):
        value = value[len(SSO_PREFIX) :].strip()
    return value


def tier_of(record: records.AccountRecord) -> Tier:
    """A stored account without a known tier is treated as basic until refreshed."""
    return Tier(record.tier.value) if record.tier else Tier.BASIC


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def windows_of(record: records.AccountRecord) -> tuple[accounts.QuotaWindow, ...]:
    return tuple(
        accounts.QuotaWindow(
            mode=mode,
            remaining=w.remaining,
            total=w.total,
            window_seconds=w.window_seconds,
            reset_at=_ts(w.reset_at),
            source=accounts.QuotaSource(w.source.value),
        )
        for mode, w in sorted(record.quota.items())
    )


def stored_windows(windows: tuple[accounts.QuotaWindow, ...]) -> dict[str, records.QuotaWindow]:
    return {
        w.mode: records.QuotaWindow(
            remaining=w.remaining,
            total=w.total,
            window_seconds=w.window_seconds,
            reset_at=datetime.fromtimestamp(w.reset_at, UTC) if w.reset_at else None,
            source=records.QuotaSource(w.source.value),
        )
        for w in windows
    }


def seed_of(
    record: records.AccountRecord, *, reset: bool = False, clear_refusals: bool = False
) -> base.AccountSeed:
    status: base.BaseStatus = "active"
    if not record.enabled or record.status is records.AccountStatus.DISABLED:
        status = "disabled"
    elif record.status is records.AccountStatus.INVALID:
        status = "invalid"
    return base.AccountSeed(
        account_id=record.id,
        tier=tier_of(record),
        base_status=status,
        quota=windows_of(record),
        reset=reset,
        clear_refusals=clear_refusals,
        tags=tuple(record.tags),
    )


def view_of(
    record: records.AccountRecord, hot: base.HotAccount | None, *, now: float
) -> accounts.Account:
    """The account as listed: durable fields, live state on top, credential masked."""
    status = accounts.AccountStatus(hot.status.value) if hot else accounts.AccountStatus.ACTIVE
    if hot is None and record.status is records.AccountStatus.INVALID:
        status = accounts.AccountStatus.INVALID
    cooling_until = hot.cooling_until if hot else None
    if status is accounts.AccountStatus.COOLING and (cooling_until or 0) <= now:
        status, cooling_until = accounts.AccountStatus.ACTIVE, None
    if status is not accounts.AccountStatus.COOLING:
        cooling_until = None
    if not record.enabled:
        status = accounts.AccountStatus.DISABLED
    return accounts.Account(
        account_id=record.id,
        credential_masked=record.masked_credential,
        tier=hot.tier if hot else tier_of(record),
        status=status,
        enabled=record.enabled,
        tags=tuple(record.tags),
        note=record.note,
        quota=hot.quota if hot and hot.quota else windows_of(record),
        inflight=hot.inflight if hot else 0,
        fail_count=hot.fail_count if hot else record.fail_count,
        cooling_until=cooling_until,
        last_refresh_at=hot.last_refresh_at if hot else None,
        created_at=record.created_at.timestamp(),
        updated_at=record.updated_at.timestamp(),
        refused_products=hot.refused if hot else (),
        last_used_at=(
            hot.last_used_at if hot and hot.last_used_at
            else record.last_used_at.timestamp() if record.last_used_at else None
        ),
    )
