"""Conversions between the pool's value objects and the ``grok2api.tokenpool.v1`` messages.

Used by both ends (this package's client, the token-pool server), so they cannot drift.
Absent times are 0 on the wire and None in values.
Enum values are typed ``Any``: the generated stubs type enum fields as wrapper classes.
"""

from __future__ import annotations

from typing import Any

from grok2api.tokenpool.v1 import token_pool_pb2 as pb

from . import accounts, leases, server_info

_TIERS = {
    leases.Tier.BASIC: pb.TIER_BASIC,
    leases.Tier.SUPER: pb.TIER_SUPER,
    leases.Tier.HEAVY: pb.TIER_HEAVY,
}
_STATUSES = {
    accounts.AccountStatus.ACTIVE: pb.ACCOUNT_STATUS_ACTIVE,
    accounts.AccountStatus.COOLING: pb.ACCOUNT_STATUS_COOLING,
    accounts.AccountStatus.INVALID: pb.ACCOUNT_STATUS_INVALID,
    accounts.AccountStatus.DISABLED: pb.ACCOUNT_STATUS_DISABLED,
}
_OUTCOMES = {o: getattr(pb, f"OUTCOME_{o.name}") for o in leases.Outcome}
_SOURCES = {s: getattr(pb, f"QUOTA_SOURCE_{s.name}") for s in accounts.QuotaSource}
_KINDS = {k: getattr(pb.AccountChange, f"KIND_{k.name}") for k in accounts.ChangeKind}
_SORTS: dict[accounts.AccountSort, Any] = {
    s: getattr(pb, f"ACCOUNT_SORT_{s.name}")
    for s in accounts.AccountSort
    if s is not accounts.AccountSort.ID
}
_ACTIONS = {a: getattr(pb, f"ACCOUNT_ACTION_{a.name}") for a in accounts.AccountAction}


def _reverse(table: dict) -> dict:  # type: ignore[type-arg]
    return {v: k for k, v in table.items()}


_TIERS_BACK = _reverse(_TIERS)
_STATUSES_BACK = _reverse(_STATUSES)
_OUTCOMES_BACK = _reverse(_OUTCOMES)
_SOURCES_BACK = _reverse(_SOURCES)
_KINDS_BACK = _reverse(_KINDS)
_SORTS_BACK = _reverse(_SORTS)
_ACTIONS_BACK = _reverse(_ACTIONS)


def sort_to_pb(sort: accounts.AccountSort) -> Any:
    return _SORTS.get(sort, pb.ACCOUNT_SORT_UNSPECIFIED)


def sort_from_pb(value: int) -> accounts.AccountSort:
    return _SORTS_BACK.get(value, accounts.AccountSort.ID)  # type: ignore[no-any-return]


def action_to_pb(action: accounts.AccountAction) -> Any:
    return _ACTIONS[action]


def action_from_pb(value: int) -> accounts.AccountAction | None:
    return _ACTIONS_BACK.get(value)


def tier_to_pb(tier: leases.Tier | None) -> Any:
    return pb.TIER_UNSPECIFIED if tier is None else _TIERS[tier]


def tier_from_pb(value: int) -> leases.Tier | None:
    return _TIERS_BACK.get(value)


def status_to_pb(status: accounts.AccountStatus | None) -> Any:
    return pb.ACCOUNT_STATUS_UNSPECIFIED if status is None else _STATUSES[status]


def status_from_pb(value: int) -> accounts.AccountStatus | None:
    return _STATUSES_BACK.get(value)


def outcome_to_pb(outcome: leases.Outcome) -> Any:
    return _OUTCOMES[outcome]


def outcome_from_pb(value: int) -> leases.Outcome | None:
    return _OUTCOMES_BACK.get(value)


def lease_to_pb(lease: leases.Lease, *, with_credential: bool = True) -> pb.Lease:
    """``with_credential=False`` for releases: the pool needs the ids, not the secret."""
    return pb.Lease(
        lease_id=lease.lease_id,
        account_id=lease.account_id,
        credential=lease.credential if with_credential else "",
        tier=_TIERS[lease.tier],
        mode=lease.mode,
        cost=lease.cost,
        expires_at=lease.expires_at,
        user_id=lease.user_id if with_credential else "",
        egress=_egress_to_pb(lease.egress, with_secrets=with_credential),
    )


def _egress_to_pb(route: leases.EgressRoute | None, *, with_secrets: bool) -> pb.LeaseEgress | None:
    if route is None:
        return None
    if not with_secrets:  # a release names the egress; the pool knows the rest
        return pb.LeaseEgress(egress_id=route.egress_id, name=route.name)
    return pb.LeaseEgress(
        egress_id=route.egress_id, name=route.name, proxy_url=route.proxy_url,
        asset_proxy_url=route.asset_proxy_url, browser=route.browser,
        user_agent=route.user_agent, clearance_cookies=route.clearance_cookies,
    )  # fmt: skip


def _egress_from_pb(msg: pb.Lease) -> leases.EgressRoute | None:
    if not msg.HasField("egress"):
        return None
    e = msg.egress
    return leases.EgressRoute(
        egress_id=e.egress_id, name=e.name, proxy_url=e.proxy_url,
        asset_proxy_url=e.asset_proxy_url, browser=e.browser, user_agent=e.user_agent,
        clearance_cookies=e.clearance_cookies,
    )  # fmt: skip


def lease_from_pb(msg: pb.Lease) -> leases.Lease:
    return leases.Lease(
        lease_id=msg.lease_id,
        account_id=msg.account_id,
        credential=msg.credential,
        tier=_TIERS_BACK.get(msg.tier, leases.Tier.BASIC),
        mode=msg.mode,
        cost=msg.cost,
        expires_at=msg.expires_at,
        user_id=msg.user_id,
        egress=_egress_from_pb(msg),
    )


def figures_to_pb(figure: leases.QuotaFigures) -> pb.QuotaFigures:
    return pb.QuotaFigures(
        mode=figure.mode,
        remaining=figure.remaining,
        total=figure.total,
        window_seconds=figure.window_seconds,
    )


def figures_from_pb(msg: pb.QuotaFigures) -> leases.QuotaFigures:
    return leases.QuotaFigures(
        mode=msg.mode,
        remaining=msg.remaining,
        total=msg.total if msg.HasField("total") else None,
        window_seconds=msg.window_seconds if msg.HasField("window_seconds") else None,
    )


def account_to_pb(account: accounts.Account) -> pb.Account:
    return pb.Account(
        account_id=account.account_id,
        credential_masked=account.credential_masked,
        tier=_TIERS[account.tier],
        status=_STATUSES[account.status],
        enabled=account.enabled,
        tags=list(account.tags),
        note=account.note,
        quota=[
            pb.QuotaWindow(
                mode=w.mode,
                remaining=w.remaining,
                total=w.total,
                window_seconds=w.window_seconds,
                reset_at=w.reset_at or 0.0,
                source=_SOURCES[w.source],
            )
            for w in account.quota
        ],
        inflight=account.inflight,
        fail_count=account.fail_count,
        cooling_until=account.cooling_until or 0.0,
        last_refresh_at=account.last_refresh_at or 0.0,
        created_at=account.created_at,
        updated_at=account.updated_at,
        refused_products=list(account.refused_products),
        last_used_at=account.last_used_at or 0.0,
    )


def account_from_pb(msg: pb.Account) -> accounts.Account:
    return accounts.Account(
        account_id=msg.account_id,
        credential_masked=msg.credential_masked,
        tier=_TIERS_BACK.get(msg.tier, leases.Tier.BASIC),
        status=_STATUSES_BACK.get(msg.status, accounts.AccountStatus.ACTIVE),
        enabled=msg.enabled,
        tags=tuple(msg.tags),
        note=msg.note,
        quota=tuple(
            accounts.QuotaWindow(
                mode=w.mode,
                remaining=w.remaining,
                total=w.total,
                window_seconds=w.window_seconds,
                reset_at=w.reset_at or None,
                source=_SOURCES_BACK.get(w.source, accounts.QuotaSource.DEFAULT),
            )
            for w in msg.quota
        ),
        inflight=msg.inflight,
        fail_count=msg.fail_count,
        cooling_until=msg.cooling_until or None,
        last_refresh_at=msg.last_refresh_at or None,
        created_at=msg.created_at,
        updated_at=msg.updated_at,
        refused_products=tuple(msg.refused_products),
        last_used_at=msg.last_used_at or None,
    )


def progress_to_pb(p: accounts.RefreshProgress) -> pb.RefreshProgress:
    return pb.RefreshProgress(
        account_id=p.account_id, ok=p.ok, error=p.error, done=p.done, total=p.total,
        finished=p.finished, skipped=p.skipped,
    )  # fmt: skip


def progress_from_pb(m: pb.RefreshProgress) -> accounts.RefreshProgress:
    return accounts.RefreshProgress(
        account_id=m.account_id, ok=m.ok, error=m.error, done=m.done, total=m.total,
        finished=m.finished, skipped=m.skipped,
    )  # fmt: skip


def action_progress_to_pb(p: accounts.ActionProgress) -> pb.ActionProgress:
    return pb.ActionProgress(
        account_id=p.account_id, ok=p.ok, error=p.error, done=p.done, total=p.total,
        finished=p.finished, assets_found=p.assets_found, assets_deleted=p.assets_deleted,
        already_done=p.already_done,
    )


def action_progress_from_pb(m: pb.ActionProgress) -> accounts.ActionProgress:
    return accounts.ActionProgress(
        account_id=m.account_id, ok=m.ok, error=m.error, done=m.done, total=m.total,
        finished=m.finished, assets_found=m.assets_found, assets_deleted=m.assets_deleted,
        already_done=m.already_done,
    )


def asset_page_to_pb(page: accounts.AssetPage) -> pb.ListAssetsResponse:
    return pb.ListAssetsResponse(
        assets=[
            pb.Asset(
                asset_id=a.asset_id, name=a.name, mime_type=a.mime_type, key=a.key,
                size=a.size, created_at=a.created_at,
            )
            for a in page.assets
        ],
        next_page_token=page.next_page_token,
    )


def asset_page_from_pb(msg: pb.ListAssetsResponse) -> accounts.AssetPage:
    return accounts.AssetPage(
        assets=tuple(
            accounts.Asset(
                asset_id=a.asset_id, name=a.name, mime_type=a.mime_type, key=a.key,
                size=a.size if a.HasField("size") else None, created_at=a.created_at,
            )
            for a in msg.assets
        ),
        next_page_token=msg.next_page_token,
    )


def stats_to_pb(stats: accounts.PoolStats) -> pb.PoolStats:
    return pb.PoolStats(
        total_accounts=stats.total_accounts,
        leases_in_flight=stats.leases_in_flight,
        tiers=[
            pb.TierStats(
                tier=_TIERS[t.tier],
                by_status=dict(t.by_status),
                remaining_by_mode=dict(t.remaining_by_mode),
            )
            for t in stats.tiers
        ],
    )


def stats_from_pb(msg: pb.PoolStats) -> accounts.PoolStats:
    return accounts.PoolStats(
        total_accounts=msg.total_accounts,
        leases_in_flight=msg.leases_in_flight,
        tiers=tuple(
            accounts.TierStats(
                tier=_TIERS_BACK.get(t.tier, leases.Tier.BASIC),
                by_status=dict(t.by_status),
                remaining_by_mode=dict(t.remaining_by_mode),
            )
            for t in msg.tiers
        ),
    )


def change_to_pb(change: accounts.AccountChange) -> pb.AccountChange:
    msg = pb.AccountChange(kind=_KINDS[change.kind], account_id=change.account_id)
    if change.account is not None:
        msg.account.CopyFrom(account_to_pb(change.account))
    return msg


def change_from_pb(msg: pb.AccountChange) -> accounts.AccountChange:
    return accounts.AccountChange(
        kind=_KINDS_BACK.get(msg.kind, accounts.ChangeKind.UPSERTED),
        account_id=msg.account_id,
        account=account_from_pb(msg.account) if msg.HasField("account") else None,
    )


def exported_to_pb(item: accounts.ExportedAccount) -> pb.ExportedAccount:
    return pb.ExportedAccount(
        credential=item.credential, tier=_TIERS[item.tier], status=_STATUSES[item.status],
        tags=list(item.tags), note=item.note, enabled=item.enabled,
    )  # fmt: skip


def exported_from_pb(msg: pb.ExportedAccount) -> accounts.ExportedAccount:
    return accounts.ExportedAccount(
        credential=msg.credential,
        tier=_TIERS_BACK.get(msg.tier, leases.Tier.BASIC),
        status=_STATUSES_BACK.get(msg.status, accounts.AccountStatus.ACTIVE),
        enabled=msg.enabled,
        tags=tuple(msg.tags),
        note=msg.note,
    )


def server_info_to_pb(info: server_info.ServerInfo) -> pb.ServerInfo:
    return pb.ServerInfo(
        store_fingerprint=info.store_fingerprint, store_kind=info.store_kind, version=info.version
    )


def server_info_from_pb(msg: pb.ServerInfo) -> server_info.ServerInfo:
    return server_info.ServerInfo(
        store_fingerprint=msg.store_fingerprint, store_kind=msg.store_kind, version=msg.version
    )
