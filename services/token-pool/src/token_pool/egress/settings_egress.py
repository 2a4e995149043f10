"""The legacy one-egress pool: the seed's single proxy and clearance settings.

When the durable store holds no egress, ``network.base_proxy_url`` / ``asset_proxy_url``
and ``security.cf_clearance`` (with ``security.browser`` / ``user_agent``) form one egress,
id ``settings``, name ``default``, so deployments configured that way keep working. With
none of them set there is no egress at all and leases carry ``egress=None``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from grok2api_settings import Settings
from grok2api_storage import records

SETTINGS_EGRESS_ID = "settings"
SETTINGS_EGRESS_NAME = "default"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def clearance_cookies(value: str) -> str:
    """``security.cf_clearance`` holds the bare cookie value; a pasted ``name=value; …``
    header is taken as it is."""
    value = value.strip()
    if not value or "=" in value:
        return value
    return f"cf_clearance={value}"


def from_settings(settings: Settings) -> records.EgressRecord | None:
    network, security = settings.network, settings.security
    cookies = clearance_cookies(security.cf_clearance)
    if not (network.base_proxy_url or network.asset_proxy_url or cookies):
        return None
    clearance = (
        records.Clearance(cookies=cookies, user_agent=security.user_agent, obtained_at=_EPOCH)
        if cookies
        else None
    )
    return records.EgressRecord(
        id=SETTINGS_EGRESS_ID,
        name=SETTINGS_EGRESS_NAME,
        proxy_url=network.base_proxy_url,
        asset_proxy_url=network.asset_proxy_url,
        tags=(),
        enabled=True,
        max_inflight=0,
        browser=security.browser,
        user_agent=security.user_agent,
        clearance=clearance,
        created_at=_EPOCH,
        updated_at=_EPOCH,
    )
