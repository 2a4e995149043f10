"""Per-key limits, held in hot state that every gateway replica shares.

``admit`` checks all of a key's limits and takes from each in one atomic step, or takes
nothing and says which limit refused and when to retry; ``release`` gives the concurrency
slot back (and, for a failed request, its quota units). Two backends implement
``LimitStore`` and pass one contract suite: ``redis_limits`` (a split deployment: concurrent
calls coalesced into one Lua script run per round trip, and far from a key's limits most
admissions lent from a grant reserved in advance, with no round trip) and ``memory_limits``
(the single-process mode).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import NamedTuple, Protocol

from grok2api_storage.records import ClientKeyLimits

WINDOW_SECONDS = 60.0
"""The rolling window of ``rate_limit_per_minute``."""


class Limit(enum.StrEnum):
    """The limit that refused a request (named in the 429 answer)."""

    REQUESTS_PER_MINUTE = "requests_per_minute"
    CONCURRENT_REQUESTS = "concurrent_requests"
    DAILY_QUOTA = "daily_quota"
    MONTHLY_QUOTA = "monthly_quota"


@dataclasses.dataclass(frozen=True)
class Refused:
    limit: Limit
    allowed: int
    """The limit's configured value."""
    retry_after: float
    """Seconds until the request could pass (a concurrency refusal: a short back-off)."""


class Admitted(NamedTuple):
    """What ``admit`` took, for ``release`` to give back. A named tuple, not a frozen
    dataclass: one is made per request, and the dataclass's ``object.__setattr__`` per field
    cost about 8 k instructions of it."""

    key_id: str
    slot: str
    """Unique per request; "" when the key has no concurrency limit."""
    units: int
    day: str
    """The UTC day (``2026-12-07``) and month (``2026-12``) the units were charged to; ""
    for a quota the key does not have (nothing was charged, nothing is refunded)."""
    month: str


@dataclasses.dataclass(frozen=True)
class KeyCounters:
    """A key's current use, for the admin panel and ``grok2api keys show``."""

    requests_last_minute: int
    in_flight: int
    used_today: int
    used_this_month: int


class LimitStore(Protocol):
    async def admit(
        self, key_id: str, limits: ClientKeyLimits, *, units: int
    ) -> Admitted | Refused:
        """Check the rolling minute, concurrency, daily and monthly quota (``units`` counted
        against the quotas, in the key's ``quota_unit``) and, when all pass, take from every
        one of them at once. A refusal takes nothing."""

    async def release(self, admitted: Admitted, *, refund: bool = False) -> None:
        """Free the slot; with ``refund``, give the units back to the day and month they were
        charged to. Safe to call once per admission; never raises for a lost connection
        (a slot that is never released expires on its own)."""

    async def counters(self, key_id: str) -> KeyCounters: ...

    async def aclose(self) -> None: ...
