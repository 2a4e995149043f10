"""Grants: admissions a ``RedisLimitStore`` took from Redis in advance for one client key, so
that a replica serving a key far from all its limits admits most requests without a round
trip, while the limits still hold exactly across replicas.

A grant is taken by an admit that Redis passed (``redis_limit_script``): ``extra`` rolling-
minute entries scored at the grant's expiry, ``extra`` concurrency slots and ``extra * units``
quota units, all already counted in Redis as if used. A replica takes at most
``1 / GRANT_SHARE`` of what is left of each limit, so near a limit there is no grant and every
admit goes to Redis (its refusals and ``Retry-After`` stay exact).

``Grant.lend`` admits locally from it: while it lives (``GRANT_SECONDS``), under the same
``ClientKeyLimits``, in the same UTC day and month, with an entry, a free slot and enough
units left. A lent slot given back while the grant lives returns to its free list. Once the
grant ends (expiry, a changed limit, a new day, used up, the store closing), ``return_op`` is
the operation giving Redis back the unused entries, free slots and units; slots still lent
stay held and are released one by one as ordinary slots.
"""

from __future__ import annotations

import enum
from typing import Any

from grok2api_storage.records import ClientKeyLimits

GRANT_MAX = 32
"""Admissions one grant request may bring, the admit that asked included."""
GRANT_SHARE = 8
"""A replica takes at most ``1 / GRANT_SHARE`` of what is left of each limit."""
GRANT_SECONDS = 1.0
"""How long a grant may admit locally. Its rolling-minute entries are scored at its expiry,
so each stays in the window at least a minute after any admission it made."""


class Miss(enum.Enum):
    """Why ``Grant.lend`` admitted nothing."""

    BUSY = "busy"
    """The grant is good but every slot is lent: admit through Redis, keep the grant."""
    DONE = "done"
    """The grant is used up, expired, or taken under other limits, day or month: end it."""


class Grant:
    """One key's grant in this store; every method is synchronous (atomic on the loop)."""

    __slots__ = (
        "day",
        "ended",
        "expires",
        "extra",
        "free",
        "has_rpm",
        "id",
        "key_id",
        "lent",
        "limits",
        "month",
        "taken",
        "timer",
        "units_left",
    )

    def __init__(
        self,
        *,
        key_id: str,
        grant_id: str,
        limits: ClientKeyLimits,
        extra: int,
        units: int,
        expires: float,
        day: str,
        month: str,
    ) -> None:
        self.key_id = key_id
        self.id = grant_id
        self.limits = limits
        self.extra = extra
        self.expires = expires
        """Clock time after which nothing is lent."""
        self.day = day
        self.month = month
        """The UTC day and month the units were charged to ("" without that quota)."""
        self.has_rpm = limits.rate_limit_per_minute is not None
        self.taken = 0
        """Admissions lent so far (rpm entries ``<id>:0`` .. ``<id>:taken-1`` are used). With
        no rpm limit, lending is bounded only by the slots, the units and the expiry."""
        self.units_left = extra * units
        self.free: list[str] = (
            [f"{grant_id}:{n}" for n in range(extra)] if limits.max_concurrent is not None else []
        )
        self.lent: set[str] = set()
        self.ended = False
        self.timer: Any = None
        """The loop timer ending the grant (an idle key's grant goes back promptly)."""

    @property
    def slots(self) -> list[str]:
        """Every slot of the grant, lent or free."""
        return [*self.free, *self.lent]

    def lend(
        self, limits: ClientKeyLimits, units: int, now: float, day: str, month: str
    ) -> str | Miss:
        """One admission from the grant: its slot ("" for a key without a concurrency
        limit), or why there is none."""
        if (
            now >= self.expires
            or (self.has_rpm and self.taken >= self.extra)
            or day != self.day
            or month != self.month
            or (limits is not self.limits and limits != self.limits)
            or ((day or month) and units > self.units_left)
        ):
            return Miss.DONE
        slot = ""
        if limits.max_concurrent is not None:
            if not self.free:
                return Miss.BUSY
            slot = self.free.pop()
            self.lent.add(slot)
        self.taken += 1
        self.units_left -= units
        return slot

    def take_back(self, slot: str) -> bool:
        """Whether ``slot`` was lent by this grant (it is free again, for the next lend)."""
        if slot not in self.lent:
            return False
        self.lent.discard(slot)
        self.free.append(slot)
        return True

    def unused_entries(self) -> int:
        """Rolling-minute entries counted in Redis but not lent."""
        return self.extra - self.taken if self.has_rpm else 0

    def return_op(self) -> list[Any] | None:
        """The batch operation giving back what was not used (None: nothing to give)."""
        entries = [f"{self.id}:{n}" for n in range(self.taken, self.extra)] if self.has_rpm else []
        units = self.units_left if self.day or self.month else 0
        if not entries and not self.free and units <= 0:
            return None
        return ["g", self.key_id, entries, list(self.free), units, self.day, self.month]
