"""Egresses as the management API shows them (``grok2api_poolclient.egresses``): stored
record + this replica's health + the hot state's load. Never a cookie; proxies masked."""

from __future__ import annotations

from datetime import datetime

from grok2api_poolclient import egresses
from grok2api_storage import masking, records

from ..hot import base
from . import health


def view_of(
    egress: records.EgressRecord,
    *,
    state: health.State,
    seen: health.Health,
    load: base.EgressLoad,
    from_settings: bool,
) -> egresses.Egress:
    return egresses.Egress(
        id=egress.id,
        name=egress.name,
        proxy_masked=masked(egress.proxy_url),
        asset_proxy_masked=masked(egress.asset_proxy_url),
        tags=egress.tags,
        enabled=egress.enabled,
        max_inflight=egress.max_inflight,
        browser=egress.browser,
        user_agent=egress.user_agent,
        clearance=clearance_info(egress.clearance, from_settings=from_settings),
        state=egresses.EgressState(state.value),
        bound_accounts=load.bound,
        inflight=load.inflight,
        calls=seen.calls,
        challenges=seen.challenges,
        challenge_rate=seen.challenge_rate,
        latency_ms=seen.recent_latency_ms,
        last_error=seen.last_error,
        from_settings=from_settings,
        created_at=_seconds(egress.created_at),
        updated_at=_seconds(egress.updated_at),
    )


def masked(proxy_url: str) -> str:
    """``scheme://host:port``; "" for direct (``masking`` says "direct", views say "")."""
    return masking.mask_proxy(proxy_url) if proxy_url else ""


def clearance_info(
    clearance: records.Clearance | None, *, from_settings: bool
) -> egresses.ClearanceInfo | None:
    if clearance is None:
        return None
    # the settings' clearance keeps its source unless the solver replaced it
    settings_made = from_settings and clearance.source is records.ClearanceSource.MANUAL
    return egresses.ClearanceInfo(
        source="settings" if settings_made else clearance.source.value,
        user_agent=clearance.user_agent,
        obtained_at=_seconds(clearance.obtained_at),
        expires_at=_seconds(clearance.expires_at) if clearance.expires_at else None,
    )


def _seconds(moment: datetime) -> float:
    """Unix seconds (the settings' egress has the epoch: 0, unknown)."""
    return moment.timestamp()
