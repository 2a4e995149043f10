"""What both limit stores share: the admission of a key without limits, the UTC calendar
of the quotas and how a refusal is chosen."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from grok2api_storage.records import ClientKeyLimits

from .limits import Admitted, Refused

CONCURRENCY_BACKOFF_SECONDS = 1.0
"""``retry_after`` of a concurrency refusal: nobody knows when a request in flight ends."""


def free_pass(key_id: str, limits: ClientKeyLimits, units: int) -> Admitted | None:
    """The admission of a key that has no limit at all (nothing to take: no state to touch,
    no call to make), else None. Negative ``units`` are a caller's bug (``ValueError``)."""
    if units < 0:
        raise ValueError(f"units must not be negative, got {units}")
    if (
        limits.rate_limit_per_minute is None
        and limits.max_concurrent is None
        and limits.daily_quota is None
        and limits.monthly_quota is None
    ):
        return Admitted(key_id=key_id, slot="", units=units, day="", month="")
    return None


def last_to_lift(refusals: Sequence[Refused]) -> Refused:
    """The refusal to report when several limits refuse at once: the one lifting last (its
    ``retry_after`` is the soonest the request could pass); on a tie, the first listed."""
    return max(refusals, key=lambda refused: refused.retry_after)


@dataclasses.dataclass(frozen=True, slots=True)
class Period:
    name: str
    """``2026-12-07`` for a day, ``2026-12`` for a month."""
    start: float
    end: float
    """Unix seconds: the period is ``start <= t < end``."""


_NONE = Period("", 0.0, 0.0)


class UtcCalendar:
    """Answers ``day(t)`` and ``month(t)``; the last answer of each is cached, so a busy
    gateway builds a ``datetime`` once per day rather than once per request."""

    def __init__(self) -> None:
        self._day = _NONE
        self._month = _NONE

    def day(self, now: float) -> Period:
        cached = self._day
        if cached.start <= now < cached.end:
            return cached
        moment = datetime.fromtimestamp(now, UTC)
        start = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
        self._day = Period(
            start.strftime("%Y-%m-%d"), start.timestamp(), (start + timedelta(days=1)).timestamp()
        )
        return self._day

    def month(self, now: float) -> Period:
        cached = self._month
        if cached.start <= now < cached.end:
            return cached
        moment = datetime.fromtimestamp(now, UTC)
        start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        end = (
            datetime(moment.year + 1, 1, 1, tzinfo=UTC)
            if moment.month == 12
            else datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
        )
        self._month = Period(start.strftime("%Y-%m"), start.timestamp(), end.timestamp())
        return self._month
