"""The in-process hot state's records of accounts, their quota windows and leases."""

from __future__ import annotations

import dataclasses

from grok2api_poolclient.accounts import AccountStatus, QuotaSource, QuotaWindow
from grok2api_poolclient.leases import Tier

from . import base


@dataclasses.dataclass
class Window:
    remaining: int
    total: int
    window_seconds: int
    reset_at: float  # 0: not started
    source: QuotaSource


@dataclasses.dataclass
class Account:
    tier: Tier
    status: AccountStatus
    cooling_until: float = 0.0
    inflight: int = 0
    fails: int = 0
    streak: int = 0  # transient failures in a row
    transient_until: float = 0.0  # end of the cooldown its transient failures gave it
    failed_at: float = 0.0  # when its last lease failed; 0 after a success
    last_used: float = 0.0
    last_refresh: float = 0.0
    windows: dict[str, Window] = dataclasses.field(default_factory=dict)
    refused: set[str] = dataclasses.field(default_factory=set)  # products (base.py)
    tags: tuple[str, ...] = ()
    egress: str = ""  # bound egress id (base.py); "" = none


@dataclasses.dataclass(frozen=True)
class Lease:
    account_id: str
    mode: str
    cost: int
    expires_at: float
    product: str = ""
    egress: str = ""  # the egress whose slot it holds


def view(account_id: str, acct: Account) -> base.HotAccount:
    return base.HotAccount(
        account_id=account_id,
        tier=acct.tier,
        status=acct.status,
        cooling_until=acct.cooling_until or None,
        inflight=acct.inflight,
        fail_count=acct.fails,
        last_refresh_at=acct.last_refresh or None,
        quota=tuple(
            QuotaWindow(
                mode=mode,
                remaining=w.remaining,
                total=w.total,
                window_seconds=w.window_seconds,
                reset_at=w.reset_at or None,
                source=w.source,
            )
            for mode, w in sorted(acct.windows.items())
        ),
        refused=tuple(sorted(acct.refused)),
        last_used_at=acct.last_used or None,
        tags=acct.tags,
        egress_id=acct.egress,
    )
