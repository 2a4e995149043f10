"""A lease's egress as ``grok_web`` takes it: the one conversion every caller uses (the
gateway, the media worker), so a call and everything it fetches leave the same way."""

from __future__ import annotations

from grok_web import options as grok_options

from . import leases


def grok_egress(lease: leases.Lease) -> grok_options.Egress | None:
    """The ``egress`` to pass to ``GrokClient`` calls made under ``lease``; None when the
    pool has no egress of its own (the client's network settings apply)."""
    return None if lease.egress is None else from_route(lease.egress)


def from_route(route: leases.EgressRoute) -> grok_options.Egress:
    """``grok_web``'s :class:`~grok_web.options.Egress` for a pool's egress route."""
    return grok_options.egress(
        egress_id=route.egress_id,
        name=route.name,
        proxy_url=route.proxy_url,
        asset_proxy_url=route.asset_proxy_url,
        browser=route.browser,
        user_agent=route.user_agent,
        clearance_cookies=route.clearance_cookies,
    )


def egress_label(lease: leases.Lease) -> str:
    """What logs name a lease's egress by: its name, "default" without one (never an
    address)."""
    return lease.egress.name if lease.egress is not None and lease.egress.name else "default"
