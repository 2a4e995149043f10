"""Per-key limits in Redis, shared by every gateway replica on the same key prefix.

Keys (``P`` = prefix, ``K`` = client key id), each touched only when the key has that limit:

- ``P{K}:rpm`` ZSET of the requests admitted in the rolling minute, scored by admission time
  (a grant's entries by its expiry; an exact window: never more than N admissions in any
  60 seconds);
- ``P{K}:slots`` ZSET of the requests in flight, scored by when the slot expires. A gateway
  refreshes the slots it holds every ``slot_ttl / 3``; a slot of a gateway that died is
  dropped by the next admit once ``slot_ttl`` has passed since its last refresh;
- ``P{K}:d:{YYYY-MM-DD}`` and ``P{K}:m:{YYYY-MM}`` the units used per UTC day and month,
  expiring ``COUNTER_GRACE_SECONDS`` after their period ends (a late refund still lands in
  the period it was charged to).

Calls are coalesced (``redis_limit_batches``): one run of the Lua script
(``redis_limit_script``) takes a batch of admits, releases and grant returns, of any client
keys, and applies them one after another in arrival order, answering each admit. Every admit
is still atomic and exact across replicas: inside the script it drops what expired, checks
every limit of its key and takes from all of them or from none, seeing every operation before
it in the batch (a release ahead of it has freed its slot).

Far from a key's limits most admits make no round trip at all: an admit sent to Redis asks for
a grant (``redis_grants``), and when it passes Redis also reserves for this store up to
``GRANT_MAX - 1`` further admissions (at most ``1 / GRANT_SHARE`` of what is left of each
limit), taken from every limit as if used. The store lends them locally for
``GRANT_SECONDS`` under the same limits, UTC day and month; an admit Redis refused is lent
one too when this store's own grant has it. When the grant ends (expiry, by the clock at the
next admit or by a loop timer for an idle key; a changed limit; a new day or month; used up;
``aclose``) its unused entries, free slots and units go back in one queued operation that
rides the next run like a release. Near a limit there is no grant, so every admit goes to
Redis and refusals and their ``Retry-After`` stay exact; until a grant is returned, another
replica counts it as used (stricter). A replica that dies holding a grant leaves only
stricter state: its slots expire by ``slot_ttl`` as any slot does, its unused rolling-minute
entries stay counted until they leave the window (``GRANT_SECONDS`` + 60 s), and its unused
units stay charged (at most ``(GRANT_MAX - 1) * units`` per key). Refunds still go to Redis.

A release never waits for Redis: it is queued, rides the next run and ``release`` returns at
once. A slot is so held a few milliseconds longer than its request ran, which only ever makes
the limits stricter; ``flush``, ``counters`` and ``aclose`` send what this store has queued
first. A release never raises: when its batch fails it is logged and the slot expires on its
own.

The script runs go over one connection the store holds, as an EVALSHA whose fixed part is
encoded once (``redis_limit_wire``).

An admit whose caller is cancelled before its batch is sent never happens. One cancelled
after it was sent cannot be undone from here: when its answer still arrives (it rode a queued
batch) an admitted slot and any grant are given back in the next batch; when the caller's own
call was cut off mid-flight, the slots expire ``slot_ttl`` after admission and a grant it took
stays taken as a dead replica's would. Its rolling-minute entry and quota units stay taken,
as for a request that ran.

Times come from the gateway's clock (``clock``), not Redis's, so replicas should keep NTP time.
A batch travels as one JSON argument (the client encodes one argument per run, not one per
field) and the script builds its key names from the prefix and the key ids in it, declaring
no KEYS: every key under the prefix must live on one Redis (no Cluster hash-slot spreading;
a batch spans client keys anyway).
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
from typing import Any

import redis.asyncio as aioredis
from grok2api_storage.records import ClientKeyLimits
from redis import exceptions as redis_errors

from . import redis_grants
from .limit_rules import (
    CONCURRENCY_BACKOFF_SECONDS,
    Period,
    UtcCalendar,
    free_pass,
    last_to_lift,
)
from .limits import WINDOW_SECONDS, Admitted, KeyCounters, Limit, Refused
from .redis_grants import Grant, Miss
from .redis_limit_batches import MAX_BATCH_OPS, LimitBatches
from .redis_limit_script import CONCURRENT, DAILY, MONTHLY, RPM
from .redis_limit_wire import ScriptWire

log = logging.getLogger(__name__)

COUNTER_GRACE_SECONDS = 86_400
"""How long a day or month counter outlives its period (for refunds arriving late)."""
WINDOW_KEY_GRACE_MS = 1_000
"""The rolling-minute ZSET expires this long after its newest entry has left the window."""


class RedisLimitStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "g2a:limits:",
        clock: Callable[[], float] = time.time,
        slot_ttl: float = 30.0,
        max_batch_ops: int = MAX_BATCH_OPS,
        grant_max: int = redis_grants.GRANT_MAX,
    ) -> None:
        if slot_ttl <= 0:
            raise ValueError(f"slot_ttl must be positive, got {slot_ttl}")
        if max_batch_ops < 1:
            raise ValueError(f"max_batch_ops must be at least 1, got {max_batch_ops}")
        if grant_max < 1:
            raise ValueError(f"grant_max must be at least 1, got {grant_max}")
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._slot_ttl = slot_ttl
        self._slots_key_ttl_ms = math.ceil(max(2 * slot_ttl, WINDOW_SECONDS) * 1000)
        self._rpm_key_ttl_ms = math.ceil(WINDOW_SECONDS * 1000) + WINDOW_KEY_GRACE_MS
        header = [
            prefix,
            repr(slot_ttl),
            self._slots_key_ttl_ms,
            self._rpm_key_ttl_ms,
            repr(redis_grants.GRANT_SECONDS),
            redis_grants.GRANT_SHARE,
        ]
        self._calendar = UtcCalendar()
        self._wire = ScriptWire(redis, header)
        self._batches = LimitBatches(
            self._run, max_batch_ops=max_batch_ops, orphaned=self._orphaned
        )
        self._request_prefix = uuid.uuid4().hex[:12] + "-"
        self._request_ids = itertools.count()
        self._held: dict[str, str] = {}
        """Slots admitted here and not yet released (a grant's, lent or free, included):
        slot id -> its slots key."""
        self._extra_wanted = grant_max - 1
        self._grants: dict[str, Grant] = {}
        """The live grant of each key that has one."""
        self._asking: set[str] = set()
        """Keys with an admit asking for a grant in flight (one ask at a time per key)."""
        self._refresher: asyncio.Task[None] | None = None
        self._closed = False

    # --- sending ---------------------------------------------------------------------------

    async def _run(self, ops: list[list[Any]]) -> list[Any]:
        return await self._wire.run(ops)

    async def flush(self) -> None:
        """Wait until every operation queued here so far (releases included) was sent and
        answered."""
        await self._batches.flush()

    # --- the LimitStore --------------------------------------------------------------------

    async def admit(
        self, key_id: str, limits: ClientKeyLimits, *, units: int
    ) -> Admitted | Refused:
        free = free_pass(key_id, limits, units)
        if free is not None:
            return free
        now = self._clock()
        day = self._calendar.day(now) if limits.daily_quota is not None else None
        month = self._calendar.month(now) if limits.monthly_quota is not None else None
        day_name = "" if day is None else day.name
        month_name = "" if month is None else month.name
        grant = self._grants.get(key_id)
        if grant is not None:
            lent = grant.lend(limits, units, now, day_name, month_name)
            if isinstance(lent, str):  # admitted here, no round trip
                return Admitted(key_id, lent, units, day_name, month_name)
            if lent is Miss.DONE:
                self._end_grant(grant)
                grant = None
        asks = grant is None and self._extra_wanted > 0 and key_id not in self._asking
        request_id = f"{self._request_prefix}{next(self._request_ids)}"
        op = _admit_op(
            key_id, limits, units, now, request_id, day, month,
            self._extra_wanted if asks else 0,
        )  # fmt: skip
        if asks:
            self._asking.add(key_id)
        try:
            answer = await self._batches.send(op)
        finally:
            if asks:
                self._asking.discard(key_id)
        if isinstance(answer, int):
            slot = ""
            if limits.max_concurrent is not None:
                slot = request_id
                self._held[slot] = f"{self._prefix}{key_id}:slots"
                self._start_refresher()
            if answer > 0:
                self._start_grant(self._grant_of(op, limits, answer))
            return Admitted(key_id, slot, units, day_name, month_name)
        grant = self._grants.get(key_id)
        if grant is not None:
            # Refused by what this store's own grant holds (it came while the admit was on
            # its way): the grant is this store's to lend, if it still lives now.
            lent = grant.lend(limits, units, self._clock(), day_name, month_name)
            if isinstance(lent, str):
                return Admitted(key_id, lent, units, day_name, month_name)
        return self._refusal(answer, limits, now, day, month)

    @staticmethod
    def _refusal(
        answer: list[Any],
        limits: ClientKeyLimits,
        now: float,
        day: Period | None,
        month: Period | None,
    ) -> Refused:
        bits, oldest = int(answer[0]), answer[1]
        refusals: list[Refused] = []
        rpm, concurrent = limits.rate_limit_per_minute, limits.max_concurrent
        if bits & RPM and rpm is not None:
            retry = float(oldest) + WINDOW_SECONDS - now if oldest else WINDOW_SECONDS
            refusals.append(Refused(Limit.REQUESTS_PER_MINUTE, rpm, retry))
        if bits & CONCURRENT and concurrent is not None:
            refusals.append(
                Refused(Limit.CONCURRENT_REQUESTS, concurrent, CONCURRENCY_BACKOFF_SECONDS)
            )
        if bits & DAILY and day is not None and limits.daily_quota is not None:
            refusals.append(Refused(Limit.DAILY_QUOTA, limits.daily_quota, day.end - now))
        if bits & MONTHLY and month is not None and limits.monthly_quota is not None:
            refusals.append(Refused(Limit.MONTHLY_QUOTA, limits.monthly_quota, month.end - now))
        return last_to_lift(refusals)

    # --- grants ----------------------------------------------------------------------------

    def _grant_of(self, op: list[Any], limits: ClientKeyLimits, extra: int) -> Grant:
        """The grant Redis answered ``extra`` to, for the admit ``op``."""
        return Grant(
            key_id=op[1],
            grant_id=op[4],
            limits=limits,
            extra=extra,
            units=op[3],
            expires=op[2] + redis_grants.GRANT_SECONDS,
            day=op[9],
            month=op[11],
        )

    def _start_grant(self, grant: Grant) -> None:
        slots_key = f"{self._prefix}{grant.key_id}:slots"
        for slot in grant.free:
            self._held[slot] = slots_key  # refreshed like any held slot while it lives
        if grant.free:
            self._start_refresher()
        if self._closed:
            self._end_grant(grant)
            return
        previous = self._grants.get(grant.key_id)
        if previous is not None:
            self._end_grant(previous)
        self._grants[grant.key_id] = grant
        grant.timer = asyncio.get_running_loop().call_later(
            redis_grants.GRANT_SECONDS, self._end_grant, grant
        )

    def _end_grant(self, grant: Grant) -> None:
        """Queue the return of what ``grant`` did not use; its lent slots stay held, to be
        released as ordinary slots."""
        if grant.ended:
            return
        grant.ended = True
        if grant.timer is not None:
            grant.timer.cancel()
        if self._grants.get(grant.key_id) is grant:
            del self._grants[grant.key_id]
        for slot in grant.free:
            self._held.pop(slot, None)
        op = grant.return_op()
        if op is not None:
            self._batches.queue(op)

    def _orphaned(self, op: list[Any], answer: Any) -> None:
        """Give back what an admit took whose caller left before its answer came: nobody
        will use its slot or its grant."""
        if not isinstance(answer, int):
            return  # refused: it took nothing
        if op[6] is not False:
            self._batches.queue(["r", op[1], op[4], 0, "", ""])
        if answer > 0:
            limits = ClientKeyLimits(
                rate_limit_per_minute=None if op[5] is False else op[5],
                max_concurrent=None if op[6] is False else op[6],
            )
            self._end_grant(self._grant_of(op, limits, answer))

    async def release(self, admitted: Admitted, *, refund: bool = False) -> None:
        """Free the slot (and with ``refund`` give the units back). Queued without waiting:
        it rides this store's next run, or is sent alone after ``RELEASE_LINGER_SECONDS``."""
        slot = admitted.slot
        if slot:
            grant = self._grants.get(admitted.key_id)
            if grant is not None and grant.take_back(slot):
                slot = ""  # the grant keeps it, still held, for its next lend
            else:
                self._held.pop(slot, None)
        refund = refund and admitted.units > 0 and bool(admitted.day or admitted.month)
        if refund:
            op = ["r", admitted.key_id, slot, admitted.units, admitted.day, admitted.month]
        elif slot:
            op = ["r", admitted.key_id, slot, 0, "", ""]
        else:
            return
        self._batches.queue(op)

    async def counters(self, key_id: str) -> KeyCounters:
        """The key's use in Redis, less what this store's own grant holds unused. Another
        replica's grant counts as used until it is returned (within ``GRANT_SECONDS``)."""
        await self.flush()  # this store's queued releases land first
        now = self._clock()
        base = f"{self._prefix}{key_id}:"
        day, month = self._calendar.day(now).name, self._calendar.month(now).name
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(base + "rpm", f"({now - WINDOW_SECONDS!r}", "+inf")
            pipe.zcount(base + "slots", f"({now!r}", "+inf")
            pipe.get(f"{base}d:{day}")
            pipe.get(f"{base}m:{month}")
            last_minute, in_flight, today, this_month = await pipe.execute()
        counted = KeyCounters(
            requests_last_minute=int(last_minute),
            in_flight=int(in_flight),
            used_today=int(today or 0),
            used_this_month=int(this_month or 0),
        )
        grant = self._grants.get(key_id)
        if grant is None:
            return counted
        return KeyCounters(
            requests_last_minute=counted.requests_last_minute - grant.unused_entries(),
            in_flight=counted.in_flight - len(grant.free),
            used_today=counted.used_today - (grant.units_left if grant.day == day else 0),
            used_this_month=counted.used_this_month
            - (grant.units_left if grant.month == month else 0),
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
        """Send the releases still queued, then stop the slot refresher. Slots still held are
        not freed here: they expire ``slot_ttl`` after their last refresh (the Redis client
        belongs to the caller)."""
        self._closed = True
        for grant in list(self._grants.values()):
            self._end_grant(grant)
        await self._batches.aclose()
        await self._wire.release()
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _admit_op(
    key_id: str,
    limits: ClientKeyLimits,
    units: int,
    now: float,
    request_id: str,
    day: Period | None,
    month: Period | None,
    extra_wanted: int,
) -> list[Any]:
    """An admit as the batch script reads it (``redis_limit_script``: false for a limit the
    key does not have)."""
    rpm, concurrent = limits.rate_limit_per_minute, limits.max_concurrent
    daily, monthly = limits.daily_quota, limits.monthly_quota
    return [
        "a",
        key_id,
        now,
        units,
        request_id,
        False if rpm is None else rpm,
        False if concurrent is None else concurrent,
        False if daily is None else daily,
        False if monthly is None else monthly,
        "" if day is None else day.name,
        0 if day is None else math.ceil(day.end - now) + COUNTER_GRACE_SECONDS,
        "" if month is None else month.name,
        0 if month is None else math.ceil(month.end - now) + COUNTER_GRACE_SECONDS,
        extra_wanted,
    ]
