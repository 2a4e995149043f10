"""Per-key limits in Redis, shared by every gateway replica on the same key prefix.

Keys (``P`` = prefix, ``K`` = client key id), each touched only when the key has that limit:

- ``P{K}:rpm`` ZSET of the requests admitted in the rolling minute, scored by admission time
  (an exact window: never more than N admissions in any 60 seconds);
- ``P{K}:slots`` ZSET of the requests in flight, scored by when the slot expires. A gateway
  refreshes the slots it holds every ``slot_ttl / 3``; a slot of a gateway that died is
  dropped by the next admit once ``slot_ttl`` has passed since its last refresh;
- ``P{K}:d:{YYYY-MM-DD}`` and ``P{K}:m:{YYYY-MM}`` the units used per UTC day and month,
  expiring ``COUNTER_GRACE_SECONDS`` after their period ends (a late refund still lands in
  the period it was charged to).

An admit is one Lua script run (one round trip) that drops what expired, checks every limit
and either takes from all of them or from none; a release is one command or script run. Times
come from the gateway's clock (``clock``), not Redis's, so replicas should keep NTP time.
Scripts touch only the keys they are given, but the keys of one client key must live on one
Redis (no Cluster hash-slot spreading).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis
from grok2api_storage.records import ClientKeyLimits
from redis import exceptions as redis_errors

from .limit_rules import CONCURRENCY_BACKOFF_SECONDS, UtcCalendar, last_to_lift
from .limits import WINDOW_SECONDS, Admitted, KeyCounters, Limit, Refused

log = logging.getLogger(__name__)

COUNTER_GRACE_SECONDS = 86_400
"""How long a day or month counter outlives its period (for refunds arriving late)."""
WINDOW_KEY_GRACE_MS = 1_000
"""The rolling-minute ZSET expires this long after its newest entry has left the window."""

# Refusal bits answered by the admit script.
_RPM, _CONCURRENT, _DAILY, _MONTHLY = 1, 2, 4, 8

# KEYS: 1 rolling minute, 2 slots, 3 day counter, 4 month counter.
# ARGV: 1 now, 2 units, 3 request id (rpm entry and slot), 4 rpm, 5 max concurrent,
#   6 daily quota, 7 monthly quota (each "" when the key has no such limit), 8 slot expiry,
#   9 slots key ttl ms, 10 rpm key ttl ms, 11 day counter ttl s, 12 month counter ttl s.
# Answers 0 when admitted, else {refusal bits, score of the oldest rpm entry or ""}.
_ADMIT = """
local now = tonumber(ARGV[1])
local units = tonumber(ARGV[2])
local rpm = tonumber(ARGV[4])
local concurrent = tonumber(ARGV[5])
local daily = tonumber(ARGV[6])
local monthly = tonumber(ARGV[7])
local refused = 0
local oldest = ''
if rpm then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60)
  if redis.call('ZCARD', KEYS[1]) >= rpm then
    refused = refused + 1
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if first[2] then oldest = first[2] end
  end
end
if concurrent then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= concurrent then refused = refused + 2 end
end
if daily and tonumber(redis.call('GET', KEYS[3]) or '0') + units > daily then
  refused = refused + 4
end
if monthly and tonumber(redis.call('GET', KEYS[4]) or '0') + units > monthly then
  refused = refused + 8
end
if refused ~= 0 then return {refused, oldest} end
if rpm then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[10])
end
if concurrent then
  redis.call('ZADD', KEYS[2], ARGV[8], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[9])
end
if daily and redis.call('INCRBY', KEYS[3], units) == units then
  redis.call('EXPIRE', KEYS[3], ARGV[11])
end
if monthly and redis.call('INCRBY', KEYS[4], units) == units then
  redis.call('EXPIRE', KEYS[4], ARGV[12])
end
return 0
"""

# KEYS: 1 slots, 2 day counter, 3 month counter. ARGV: 1 slot or "", 2 units.
# A counter that already expired is left alone (its period is long over); one never goes
# below zero. INCRBY/DECRBY keep the counter's expiry.
_RELEASE = """
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
local units = tonumber(ARGV[2])
for i = 2, 3 do
  if KEYS[i] ~= '' and redis.call('EXISTS', KEYS[i]) == 1 then
    local left = redis.call('DECRBY', KEYS[i], units)
    if left < 0 then redis.call('INCRBY', KEYS[i], -left) end
  end
end
return 0
"""


def _limit(value: int | None) -> int | str:
    return "" if value is None else value


class RedisLimitStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "g2a:limits:",
        clock: Callable[[], float] = time.time,
        slot_ttl: float = 30.0,
    ) -> None:
        if slot_ttl <= 0:
            raise ValueError(f"slot_ttl must be positive, got {slot_ttl}")
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._slot_ttl = slot_ttl
        self._slots_key_ttl_ms = math.ceil(max(2 * slot_ttl, WINDOW_SECONDS) * 1000)
        self._rpm_key_ttl_ms = math.ceil(WINDOW_SECONDS * 1000) + WINDOW_KEY_GRACE_MS
        self._calendar = UtcCalendar()
        self._admit = redis.register_script(_ADMIT)
        self._release = redis.register_script(_RELEASE)
        self._request_prefix = uuid.uuid4().hex[:12] + "-"
        self._request_ids = itertools.count()
        self._held: dict[str, str] = {}
        """Slots admitted here and not yet released: slot id -> its slots key."""
        self._refresher: asyncio.Task[None] | None = None
        self._closed = False

    async def admit(
        self, key_id: str, limits: ClientKeyLimits, *, units: int
    ) -> Admitted | Refused:
        if units < 0:
            raise ValueError(f"units must not be negative, got {units}")
        rpm = limits.rate_limit_per_minute
        concurrent = limits.max_concurrent
        daily = limits.daily_quota
        monthly = limits.monthly_quota
        if rpm is None and concurrent is None and daily is None and monthly is None:
            return Admitted(key_id=key_id, slot="", units=units, day="", month="")
        now = self._clock()
        base = f"{self._prefix}{key_id}:"
        day = self._calendar.day(now) if daily is not None else None
        month = self._calendar.month(now) if monthly is not None else None
        request_id = f"{self._request_prefix}{next(self._request_ids)}"
        slots_key = base + "slots"
        answer = await self._admit(
            keys=[
                base + "rpm",
                slots_key,
                f"{base}d:{day.name}" if day is not None else base + "d",
                f"{base}m:{month.name}" if month is not None else base + "m",
            ],
            args=[
                repr(now),
                units,
                request_id,
                _limit(rpm),
                _limit(concurrent),
                _limit(daily),
                _limit(monthly),
                repr(now + self._slot_ttl),
                self._slots_key_ttl_ms,
                self._rpm_key_ttl_ms,
                math.ceil(day.end - now) + COUNTER_GRACE_SECONDS if day is not None else 0,
                math.ceil(month.end - now) + COUNTER_GRACE_SECONDS if month is not None else 0,
            ],
        )
        if answer == 0:
            slot = ""
            if concurrent is not None:
                slot = request_id
                self._held[slot] = slots_key
                self._start_refresher()
            return Admitted(
                key_id=key_id,
                slot=slot,
                units=units,
                day=day.name if day is not None else "",
                month=month.name if month is not None else "",
            )
        bits, oldest = int(answer[0]), answer[1]
        refusals: list[Refused] = []
        if bits & _RPM and rpm is not None:
            retry = float(oldest) + WINDOW_SECONDS - now if oldest else WINDOW_SECONDS
            refusals.append(Refused(Limit.REQUESTS_PER_MINUTE, rpm, retry))
        if bits & _CONCURRENT and concurrent is not None:
            refusals.append(
                Refused(Limit.CONCURRENT_REQUESTS, concurrent, CONCURRENCY_BACKOFF_SECONDS)
            )
        if bits & _DAILY and day is not None and daily is not None:
            refusals.append(Refused(Limit.DAILY_QUOTA, daily, day.end - now))
        if bits & _MONTHLY and month is not None and monthly is not None:
            refusals.append(Refused(Limit.MONTHLY_QUOTA, monthly, month.end - now))
        return last_to_lift(refusals)

    async def release(self, admitted: Admitted, *, refund: bool = False) -> None:
        if admitted.slot:
            self._held.pop(admitted.slot, None)
        base = f"{self._prefix}{admitted.key_id}:"
        refund = refund and admitted.units > 0 and bool(admitted.day or admitted.month)
        try:
            if refund:
                await self._release(
                    keys=[
                        base + "slots",
                        f"{base}d:{admitted.day}" if admitted.day else "",
                        f"{base}m:{admitted.month}" if admitted.month else "",
                    ],
                    args=[admitted.slot, admitted.units],
                )
            elif admitted.slot:
                await self._redis.zrem(base + "slots", admitted.slot)
        except (redis_errors.RedisError, OSError) as exc:
            log.warning(
                "releasing a limit slot of key %s failed (%s: %s); it expires on its own",
                admitted.key_id,
                type(exc).__name__,
                exc,
            )

    async def counters(self, key_id: str) -> KeyCounters:
        now = self._clock()
        base = f"{self._prefix}{key_id}:"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(base + "rpm", f"({now - WINDOW_SECONDS!r}", "+inf")
            pipe.zcount(base + "slots", f"({now!r}", "+inf")
            pipe.get(f"{base}d:{self._calendar.day(now).name}")
            pipe.get(f"{base}m:{self._calendar.month(now).name}")
            last_minute, in_flight, today, this_month = await pipe.execute()
        return KeyCounters(
            requests_last_minute=int(last_minute),
            in_flight=int(in_flight),
            used_today=int(today or 0),
            used_this_month=int(this_month or 0),
        )

    async def refresh_slots(self) -> int:
        """Push back the expiry of every slot this store holds, in one pipelined round trip;
        answers how many slots it refreshed. A slot that already expired (and may have been
        reclaimed by another request) is not brought back. The background refresher calls
        this every ``slot_ttl / 3``."""
        if not self._held:
            return 0
        expiry = self._clock() + self._slot_ttl
        by_key: dict[str, dict[str, float]] = {}
        for slot, slots_key in self._held.items():
            by_key.setdefault(slots_key, {})[slot] = expiry
        async with self._redis.pipeline(transaction=False) as pipe:
            for slots_key, mapping in by_key.items():
                pipe.zadd(slots_key, mapping, xx=True)
                pipe.pexpire(slots_key, self._slots_key_ttl_ms)
            await pipe.execute()
        return sum(len(mapping) for mapping in by_key.values())

    def _start_refresher(self) -> None:
        if self._refresher is None and not self._closed:
            self._refresher = asyncio.create_task(
                self._refresh_forever(), name="limit-slot-refresher"
            )

    async def _refresh_forever(self) -> None:
        interval = self._slot_ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh_slots()
            except (redis_errors.RedisError, OSError) as exc:
                log.warning(
                    "refreshing %d limit slots failed (%s: %s); retrying in %.1fs",
                    len(self._held),
                    type(exc).__name__,
                    exc,
                    interval,
                )

    async def aclose(self) -> None:
        """Stop the slot refresher. Slots still held are not freed here: they expire
        ``slot_ttl`` after their last refresh (the Redis client belongs to the caller)."""
        self._closed = True
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
