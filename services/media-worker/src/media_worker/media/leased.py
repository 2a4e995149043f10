"""One media call under the one lease-and-retry path (``grok2api_poolclient.leasing``).

A media attempt yields a single item, its finished result, so every failure happens
before the first item: a rate-limited, refused or failing account, and a generation the
upstream blocked (no final image), are all retried on another account within the retry
policy, and a result is only ever produced by one account.

A job is asynchronous, so a token pool that cannot be reached for a moment (restarting,
a replica going away) is waited out with growing pauses inside the job's deadline instead
of failing the job, for up to ``retry.retry_budget`` seconds: nothing reached the upstream
yet when an acquire fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import leases, leasing
from grok2api_settings.sections import RetrySettings
from grok_web import errors as grok_errors

from .context import MediaContext

T = TypeVar("T")
log = logging.getLogger(__name__)

# Pauses between tries while the token pool cannot be reached: 0.25 s doubling up to 5 s.
POOL_PAUSE_FIRST, POOL_PAUSE_MAX = 0.25, 5.0

# ``leasing.classify`` gives a blocked generation (``ContentBlocked``) this status: for
# media it usually means one account's session was moderated, so another one may succeed.
BLOCKED_STATUS = 422


def media_policy(ctx: MediaContext) -> leasing.RetryPolicy:
    """The retry policy of the current ``retry`` settings, blocked generations retried too.
    Built once per settings section, not per job (two frozen dataclasses and a frozenset);
    a settings change brings a new section, and with it a new policy."""
    section = ctx.settings().retry
    if _last.section is not section or _last.policy is None:
        policy = leasing.RetryPolicy.from_settings(section)
        codes = policy.retry_status_codes | {BLOCKED_STATUS}
        _last.policy = dataclasses.replace(policy, retry_status_codes=codes)
        _last.section = section  # held, so ``is`` is never fooled by a recycled address
    return _last.policy


@dataclasses.dataclass
class _LastPolicy:
    section: RetrySettings | None = None
    policy: leasing.RetryPolicy | None = None


_last = _LastPolicy()


async def run(
    ctx: MediaContext,
    *,
    model: str,
    attempt: Callable[[leases.Lease], Awaitable[T]],
    request_id: str,
    prefer_tier: str = "",
    account_tags: Sequence[str] = (),
) -> T:
    """``attempt(lease)``'s result, trying other accounts as the retry policy allows;
    ``account_tags`` (the job's, empty for any) restrict every attempt to accounts
    carrying one of them."""
    pause, loop = POOL_PAUSE_FIRST, asyncio.get_running_loop()
    give_up_at = loop.time() + ctx.settings().retry.retry_budget
    while True:
        try:
            return await _run_once(
                ctx, model=model, attempt=attempt, request_id=request_id,
                prefer_tier=prefer_tier, account_tags=account_tags,
            )  # fmt: skip
        except pool_errors.PoolUnavailable as exc:
            if loop.time() + pause > give_up_at:
                raise
            log.warning("media_pool_unavailable request_id=%s error=%s retry_in=%.2f",
                        request_id, exc, pause)  # fmt: skip
            await asyncio.sleep(pause)
            pause = min(pause * 2, POOL_PAUSE_MAX)


async def _run_once(
    ctx: MediaContext,
    *,
    model: str,
    attempt: Callable[[leases.Lease], Awaitable[T]],
    request_id: str,
    prefer_tier: str,
    account_tags: Sequence[str],
) -> T:

    async def opener(lease: leases.Lease) -> AsyncIterator[T]:
        yield await attempt(lease)

    stream = leasing.leased_stream(
        pool=ctx.pool,
        policy=media_policy(ctx),
        model=model,
        opener=opener,
        request_id=request_id,
        prefer_tier=prefer_tier,
        account_tags=account_tags,
    )
    async with contextlib.aclosing(stream) as items:  # type: ignore[type-var]
        async for item in items:
            return item
    raise grok_errors.EmptyStream("the media call ended without a result")
