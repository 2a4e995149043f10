"""One media call under the one lease-and-retry path (``grok2api_poolclient.leasing``).

A media attempt yields a single item, its finished result, so every failure happens
before the first item: a rate-limited, refused or failing account, and a generation the
upstream blocked (no final image), are all retried on another account within the retry
policy, and a result is only ever produced by one account.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from grok2api_poolclient import leases, leasing
from grok_web import errors as grok_errors

from .context import MediaContext

T = TypeVar("T")

# ``leasing.classify`` gives a blocked generation (``ContentBlocked``) this status: for
# media it usually means one account's session was moderated, so another one may succeed.
BLOCKED_STATUS = 422


def media_policy(ctx: MediaContext) -> leasing.RetryPolicy:
    policy = leasing.RetryPolicy.from_settings(ctx.settings().retry)
    codes = policy.retry_status_codes | {BLOCKED_STATUS}
    return dataclasses.replace(policy, retry_status_codes=codes)


async def run(
    ctx: MediaContext,
    *,
    model: str,
    attempt: Callable[[leases.Lease], Awaitable[T]],
    request_id: str,
    prefer_tier: str = "",
) -> T:
    """``attempt(lease)``'s result, trying other accounts as the retry policy allows."""

    async def opener(lease: leases.Lease) -> AsyncIterator[T]:
        yield await attempt(lease)

    stream = leasing.leased_stream(
        pool=ctx.pool,
        policy=media_policy(ctx),
        model=model,
        opener=opener,
        request_id=request_id,
        prefer_tier=prefer_tier,
    )
    async with contextlib.aclosing(stream) as items:  # type: ignore[type-var]
        async for item in items:
            return item
    raise grok_errors.EmptyStream("the media call ended without a result")
