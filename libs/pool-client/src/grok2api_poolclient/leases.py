"""Value objects exchanged with the pool: tiers, leases, outcomes, quota figures."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable

from . import errors


class Tier(enum.StrEnum):
    BASIC = "basic"
    SUPER = "super"
    HEAVY = "heavy"


TIER_RANK = {Tier.BASIC: 0, Tier.SUPER: 1, Tier.HEAVY: 2}


def account_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """An acquire's ``account_tags`` as the pool matches them: surrounding space trimmed,
    duplicates dropped (first kept). A blank tag is ``errors.InvalidRequest``, never
    dropped: dropping it could turn a restricted acquire into an unrestricted one."""
    cleaned: dict[str, None] = {}
    for tag in tags:
        name = tag.strip()
        if not name:
            raise errors.InvalidRequest("an account tag cannot be blank")
        cleaned.setdefault(name, None)
    return tuple(cleaned)


def tag_list(tags: Iterable[str]) -> str:
    """Tags as a message names them: ``team-a`` or ``team-a or team-b``."""
    return " or ".join(tags)


class Outcome(enum.StrEnum):
    """What happened to the upstream call made with a lease; drives the account's state."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"
    INVALID_CREDENTIAL = "invalid_credential"
    FORBIDDEN = "forbidden"
    CHALLENGE = "challenge"  # Cloudflare: the egress's fault, never the account's
    UPSTREAM_ERROR = "upstream_error"  # the upstream refused the request itself: nobody's fault
    TRANSIENT = "transient"  # 5xx, transport, no first byte, empty answer: see hot/base.py
    CANCELLED = "cancelled"
    # The upstream refuses this account the lease's product (image or video generation):
    # not picked for that product until its next usage refresh; nobody blamed, cost refunded.
    PRODUCT_REFUSED = "product_refused"


@dataclasses.dataclass(frozen=True, kw_only=True)
class QuotaFigures:
    """One quota window as the upstream reported it (``POST /rest/rate-limits``)."""

    mode: str
    remaining: int
    total: int | None = None
    window_seconds: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressRoute:
    """The way out to grok.com a lease's account is bound to (``Lease.egress``): the proxy
    (``""`` = direct) and the Cloudflare clearance obtained through it with ``browser`` and
    ``user_agent``. Every upstream call made under the lease uses all of it together."""

    egress_id: str
    name: str
    """What logs and metric labels show; never the address."""
    proxy_url: str = dataclasses.field(default="", repr=False)
    """"" = direct; http(s)://, socks5:// or socks5h:// (remote DNS), maybe with credentials."""
    asset_proxy_url: str = dataclasses.field(default="", repr=False)
    """Assets and media downloads; "" = ``proxy_url``."""
    browser: str = ""
    user_agent: str = ""
    clearance_cookies: str = dataclasses.field(default="", repr=False)
    """As sent in a Cookie header ("cf_clearance=…; __cf_bm=…"); "" = none yet."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Lease:
    """The right to use one account for one upstream call, until ``expires_at`` (unix s)."""

    lease_id: str
    account_id: str
    credential: str = dataclasses.field(repr=False)
    tier: Tier
    mode: str
    cost: int
    expires_at: float
    user_id: str = ""
    """The account's grok.com user id (a UUID) when the pool knows it, else "": pass it to
    the chat so it skips ``/api/auth/session``; record a discovered one with
    ``PoolClient.set_user_id``. An upstream identifier: keep it out of logs and metrics."""
    egress: EgressRoute | None = None
    """The egress the account is bound to; None when the pool has none of its own (the
    caller's network settings apply)."""
