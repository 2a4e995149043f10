"""Per-key limits held in this process (the single-process mode): the same answers as
``redis_limits`` without a network hop.

Each key keeps the admission times of the rolling minute (oldest first), the ids of its
requests in flight and its use per UTC day and month. Only the limits a key has are kept up
to date (a key without a daily quota counts no daily use), as in Redis. Nothing here awaits,
so every call is atomic on the event loop. There is no slot expiry: when the process dies,
its requests in flight die with it.
"""

from __future__ import annotations

import bisect
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable

from grok2api_storage.records import ClientKeyLimits

from .limit_rules import CONCURRENCY_BACKOFF_SECONDS, UtcCalendar, free_pass, last_to_lift
from .limits import WINDOW_SECONDS, Admitted, KeyCounters, Limit, Refused


class _KeyState:
    __slots__ = ("days", "months", "requests", "slots")

    def __init__(self) -> None:
        self.requests: deque[float] = deque()
        """Admission times inside the rolling minute, oldest first."""
        self.slots: set[str] = set()
        self.days: dict[str, int] = {}
        """Units used per UTC day: the current day and the one before (for late refunds)."""
        self.months: dict[str, int] = {}


def _charge(periods: dict[str, int], name: str, units: int) -> None:
    if name not in periods and len(periods) >= 2:
        # A new period began: keep only the newest earlier one, for a refund still to come.
        newest = max(periods)
        for old in [period for period in periods if period != newest]:
            del periods[old]
    periods[name] = periods.get(name, 0) + units


def _refund(periods: dict[str, int], name: str, units: int) -> None:
    if name in periods:
        periods[name] = max(0, periods[name] - units)


class MemoryLimitStore:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._calendar = UtcCalendar()
        self._keys: dict[str, _KeyState] = {}
        self._slot_prefix = uuid.uuid4().hex[:8] + "-"
        self._slot_ids = itertools.count()

    def _state(self, key_id: str) -> _KeyState:
        state = self._keys.get(key_id)
        if state is None:
            state = self._keys[key_id] = _KeyState()
        return state

    async def admit(
        self, key_id: str, limits: ClientKeyLimits, *, units: int
    ) -> Admitted | Refused:
        free = free_pass(key_id, limits, units)
        if free is not None:
            return free
        rpm = limits.rate_limit_per_minute
        concurrent = limits.max_concurrent
        daily = limits.daily_quota
        monthly = limits.monthly_quota
        now = self._clock()
        state = self._state(key_id)
        refusals: list[Refused] = []
        if rpm is not None:
            window = state.requests
            horizon = now - WINDOW_SECONDS
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= rpm:
                retry = window[0] + WINDOW_SECONDS - now if window else WINDOW_SECONDS
                refusals.append(Refused(Limit.REQUESTS_PER_MINUTE, rpm, retry))
        if concurrent is not None and len(state.slots) >= concurrent:
            refusals.append(
                Refused(Limit.CONCURRENT_REQUESTS, concurrent, CONCURRENCY_BACKOFF_SECONDS)
            )
        day = self._calendar.day(now) if daily is not None else None
        if day is not None and daily is not None and state.days.get(day.name, 0) + units > daily:
            refusals.append(Refused(Limit.DAILY_QUOTA, daily, day.end - now))
        month = self._calendar.month(now) if monthly is not None else None
        if (
            month is not None
            and monthly is not None
            and state.months.get(month.name, 0) + units > monthly
        ):
            refusals.append(Refused(Limit.MONTHLY_QUOTA, monthly, month.end - now))
        if refusals:
            return last_to_lift(refusals)

        if rpm is not None:
            if state.requests and now < state.requests[-1]:
                bisect.insort(state.requests, now)  # the wall clock stepped back
            else:
                state.requests.append(now)
        slot = ""
        if concurrent is not None:
            slot = f"{self._slot_prefix}{next(self._slot_ids)}"
            state.slots.add(slot)
        if day is not None:
            _charge(state.days, day.name, units)
        if month is not None:
            _charge(state.months, month.name, units)
        return Admitted(
            key_id=key_id,
            slot=slot,
            units=units,
            day=day.name if day is not None else "",
            month=month.name if month is not None else "",
        )

    async def release(self, admitted: Admitted, *, refund: bool = False) -> None:
        state = self._keys.get(admitted.key_id)
        if state is None:
            return
        if admitted.slot:
            state.slots.discard(admitted.slot)
        if refund and admitted.units:
            if admitted.day:
                _refund(state.days, admitted.day, admitted.units)
            if admitted.month:
                _refund(state.months, admitted.month, admitted.units)

    async def counters(self, key_id: str) -> KeyCounters:
        state = self._keys.get(key_id)
        if state is None:
            return KeyCounters(requests_last_minute=0, in_flight=0, used_today=0, used_this_month=0)
        now = self._clock()
        horizon = now - WINDOW_SECONDS
        return KeyCounters(
            requests_last_minute=sum(1 for admitted_at in state.requests if admitted_at > horizon),
            in_flight=len(state.slots),
            used_today=state.days.get(self._calendar.day(now).name, 0),
            used_this_month=state.months.get(self._calendar.month(now).name, 0),
        )

    async def aclose(self) -> None:
        self._keys.clear()
