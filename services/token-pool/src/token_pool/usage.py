"""Reading an account's usage from the upstream (``POST /rest/rate-limits`` per mode)."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from grok2api_poolclient.leases import QuotaFigures, Tier
from grok_web import client as grok_client
from grok_web import errors as grok_errors


class CredentialRejected(Exception):
    """The upstream says the credential is invalid, expired or blocked."""


class UsageUnavailable(Exception):
    """The usage could not be read now (network, 5xx, challenge); try again later."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Usage:
    figures: tuple[QuotaFigures, ...]
    tier: Tier | None  # inferred from the totals; None when inconclusive


class UsageReader(Protocol):
    async def read(self, credential: str) -> Usage:
        """Every mode's window; ``CredentialRejected`` / ``UsageUnavailable`` on failure."""
        ...


class GrokUsageReader:
    """``UsageReader`` over ``grok_web.GrokClient.usage`` (the client belongs to the caller)."""

    def __init__(self, client: grok_client.GrokClient) -> None:
        self._client = client

    async def read(self, credential: str) -> Usage:
        try:
            answer = await self._client.usage(credential=credential)
        except grok_errors.InvalidCredential as exc:
            raise CredentialRejected("credential rejected by the upstream") from exc
        except grok_errors.GrokWebError as exc:
            raise UsageUnavailable(type(exc).__name__) from exc
        figures = tuple(
            QuotaFigures(
                mode=mode,
                remaining=limit.remaining,
                total=limit.total,
                window_seconds=limit.window_seconds,
            )
            for mode, limit in sorted(answer.limits.items())
        )
        return Usage(figures=figures, tier=Tier(answer.tier) if answer.tier else None)
