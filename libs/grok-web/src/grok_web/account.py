"""Account operations: rate limits per mode with tier inference (§8.1, §8.2) and
account settings over gRPC-web / REST (§14)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
from collections.abc import Iterable, Mapping

from grok_web import catalogue, context, errors, grpc_web, translate

RATE_LIMITS = "/rest/rate-limits"
BIRTH_DATE = "/rest/auth/set-birth-date"
NSFW = "/auth_mgmt.AuthManagement/UpdateUserFeatureControls"
TOS = "/auth_mgmt.AuthManagement/SetTosAcceptedVersion"
BIRTH_DATE_ALREADY_SET = "birth-date-change-limit-reached"

# (mode, totalQueries) → tier, from v2.0.0 defaults and HEAD's inferWebTierFromQuota.
_TIER_BY_TOTAL: Mapping[tuple[str, int], str] = {
    ("auto", 7): "basic",
    ("auto", 20): "basic",
    ("auto", 50): "super",
    ("auto", 150): "heavy",
    ("fast", 30): "basic",
    ("fast", 60): "basic",
    ("fast", 140): "super",
    ("fast", 400): "heavy",
}


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimit:
    """One mode's quota window. ``window_seconds`` defaults to 7200 when absent."""

    mode: str
    remaining: int
    total: int
    window_seconds: int


@dataclasses.dataclass(frozen=True, slots=True)
class AccountUsage:
    """Quota windows of several modes and the tier they imply (None = unknown)."""

    limits: Mapping[str, RateLimit]
    tier: str | None


async def rate_limits(*, ctx: context.Context, credential: str, mode: str) -> RateLimit:
    """``POST /rest/rate-limits`` for one mode (v2.x body ``{"modelName": mode}``)."""
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=ctx.page("/"))
    response = await ctx.transport.request(
        "POST",
        ctx.url(RATE_LIMITS),
        headers=headers,
        json={"modelName": mode},
        secrets=(credential,),
    )
    data = translate.json_object(response.content, what="rate-limits")
    try:
        remaining = int(data.get("remainingQueries", data.get("remainingTokens")))  # type: ignore[arg-type]
        total = int(data.get("totalQueries") or remaining)
        window = int(data.get("windowSizeSeconds") or 0)
    except (TypeError, ValueError) as exc:
        raise translate.malformed("rate-limits without remainingQueries", exc=exc) from exc
    return RateLimit(mode, remaining, total, window if window > 0 else 7200)


async def usage(
    *, ctx: context.Context, credential: str, modes: Iterable[str] | None = None
) -> AccountUsage:
    """Rate limits of several modes fetched concurrently, plus the inferred tier.
    A mode the account cannot use (4xx other than auth/rate errors) is left out."""
    wanted = tuple(modes or catalogue.modes())
    results = await asyncio.gather(
        *(rate_limits(ctx=ctx, credential=credential, mode=mode) for mode in wanted),
        return_exceptions=True,
    )
    limits: dict[str, RateLimit] = {}
    for mode, result in zip(wanted, results, strict=True):
        if isinstance(result, errors.RequestRejected):
            continue
        if isinstance(result, BaseException):
            raise result
        limits[mode] = result
    return AccountUsage(limits, infer_tier(limits))


def infer_tier(limits: Mapping[str, RateLimit]) -> str | None:
    """Tier from window totals (§8.2); conflicting signals → the lowest tier."""
    found = {
        tier
        for (mode, total), tier in _TIER_BY_TOTAL.items()
        if mode in limits and limits[mode].total == total
    }
    heavy = limits.get("heavy")
    if heavy is not None and heavy.total > 0:
        found.add("heavy")
    if not found:
        return None
    return min(found, key=catalogue.TIER_ORDER.__getitem__)


async def accept_tos(*, ctx: context.Context, credential: str) -> None:
    """SetTosAcceptedVersion on accounts.x.ai (gRPC-web, version field = 1)."""
    accounts = ctx.options.endpoints.accounts_url
    headers = ctx.headers.grpc_web(
        credential=credential, origin=accounts, referer=accounts + "/accept-tos"
    )
    await _grpc_call(ctx, accounts + TOS, headers, grpc_web.TOS_PAYLOAD, credential)


async def set_nsfw(*, ctx: context.Context, credential: str, enabled: bool) -> None:
    """UpdateUserFeatureControls on grok.com: always_show_nsfw_content on/off."""
    headers = ctx.headers.grpc_web(
        credential=credential, origin=ctx.origin, referer=ctx.page("/?_s=data")
    )
    payload = grpc_web.nsfw_payload(enabled=enabled)
    await _grpc_call(ctx, ctx.url(NSFW), headers, payload, credential)


async def set_birth_date(
    *, ctx: context.Context, credential: str, birth_date: dt.datetime | None = None
) -> bool:
    """Set the birth date (random 20-48 years ago when None, as the Python client).
    Returns False when upstream says the birth date was already set."""
    when = birth_date or _random_birth_date()
    stamp = (
        when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    )
    headers = ctx.headers.json(
        credential=credential, origin=ctx.origin, referer=ctx.page("/?_s=data")
    )
    response = await ctx.transport.request(
        "POST",
        ctx.url(BIRTH_DATE),
        headers=headers,
        json={"birthDate": stamp},
        secrets=(credential,),
        ok_statuses=(429,),
    )
    if response.status_code == 429:
        if BIRTH_DATE_ALREADY_SET in response.text:
            return False
        raise translate.from_status(
            status=429,
            body=response.content,
            retry_after=response.headers.get("retry-after"),
            secrets=(credential,),
        )
    return True


async def _grpc_call(
    ctx: context.Context, url: str, headers: dict[str, str], payload: bytes, credential: str
) -> grpc_web.GrpcReply:
    response = await ctx.transport.request(
        "POST", url, headers=headers, content=grpc_web.frame(payload), secrets=(credential,)
    )
    reply = grpc_web.parse(
        response.content,
        headers={k.lower(): v for k, v in response.headers.items() if v is not None},
        content_type=response.headers.get("content-type") or "",
    )
    if reply.status not in (None, 0):
        raise translate.from_grpc(status=reply.status, message=reply.message, secrets=(credential,))
    return reply


def _random_birth_date() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    days = random.randint(20 * 365, 48 * 365)
    seconds = random.randint(0, 86_399)
    return (now - dt.timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0) + (
        dt.timedelta(seconds=seconds)
    )
