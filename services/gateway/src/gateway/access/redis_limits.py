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

Calls are coalesced (the token pool's hot-state pattern): one Lua script run takes a batch of
admits and releases, of any client keys, and applies them one after another in arrival order,
answering each admit. A call made while the store has no batch in flight is sent at once (no
timer, no added latency at low load); calls made while one is in flight wait and go together
in the next round trip, at most ``MAX_BATCH_OPS`` to a run, so the batch size follows the load
and redis-py's per-call cost is shared. Every admit is still atomic and exact across replicas:
inside the script it drops what expired, checks every limit of its key and takes from all of
them or from none, seeing every operation before it in the batch (a release ahead of it has
freed its slot).

A release sent while the store is idle is awaited like before; one made while a batch is in
flight is queued and ``release`` returns at once (it goes in the next batch; ``counters`` and
``aclose`` wait for what this store has queued). A release never raises: when its batch fails
it is logged and the slot expires on its own. An admit whose caller is cancelled before its
batch is sent never happens. One cancelled after it was sent cannot be undone from here: when
its answer still arrives (it rode a queued batch) an admitted slot is released in the next
batch; when the caller's own call was cut off mid-flight, the slot expires ``slot_ttl`` after
admission. Its rolling-minute entry and quota units stay taken, as for a request that ran.

Times come from the gateway's clock (``clock``), not Redis's, so replicas should keep NTP time.
A batch travels as one JSON argument (the client encodes one argument per run, not one per
field) and the script builds its key names from the prefix and the key ids in it, declaring
no KEYS: every key under the prefix must live on one Redis (no Cluster hash-slot spreading;
a batch spans client keys anyway).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from grok2api_storage.records import ClientKeyLimits
from redis import exceptions as redis_errors

from .limit_rules import CONCURRENCY_BACKOFF_SECONDS, UtcCalendar, free_pass, last_to_lift
from .limits import WINDOW_SECONDS, Admitted, KeyCounters, Limit, Refused

log = logging.getLogger(__name__)

COUNTER_GRACE_SECONDS = 86_400
"""How long a day or month counter outlives its period (for refunds arriving late)."""
WINDOW_KEY_GRACE_MS = 1_000
"""The rolling-minute ZSET expires this long after its newest entry has left the window."""
MAX_BATCH_OPS = 256
"""Admits and releases per script run; bounds its argument list and how long it blocks Redis."""

# Refusal bits answered by the batch script.
_RPM, _CONCURRENT, _DAILY, _MONTHLY = 1, 2, 4, 8

# ARGV: 1 key prefix, 2 slot ttl s, 3 slots key ttl ms, 4 rpm key ttl ms, 5 the operations in
# order, as one JSON array (one argument, so a batch costs the client one encode, not one per
# field):
#   admit:   ["a", key id, now, units, request id (rpm entry and slot), rpm, max concurrent,
#             daily quota, monthly quota (each false when the key has no such limit),
#             day name or "", day counter ttl s, month name or "", month counter ttl s];
#   release: ["r", key id, slot or "", units to refund, day name or "", month name or ""]
#             (a day or month named is refunded into).
# Answers one entry per operation, in order: for an admit 0 when admitted, else {refusal
# bits, score of the oldest rpm entry or ""}; nil for a release. A refund skips a counter that
# already expired (its period is long over) and never takes one below zero; INCRBY/DECRBY
# keep the counter's expiry.
_BATCH = """
local prefix = ARGV[1]
local slot_ttl = tonumber(ARGV[2])
local slots_ttl_ms = ARGV[3]
local rpm_ttl_ms = ARGV[4]
local ops = cjson.decode(ARGV[5])
local answers = {}
for i = 1, #ops do
  local op = ops[i]
  local base = prefix .. op[2] .. ':'
  if op[1] == 'a' then
    local now, units, id = op[3], op[4], op[5]
    local rpm, concurrent, daily, monthly = op[6], op[7], op[8], op[9]
    local rpm_key = base .. 'rpm'
    local slots_key = base .. 'slots'
    local day_key = base .. 'd:' .. op[10]
    local month_key = base .. 'm:' .. op[12]
    local refused = 0
    local oldest = ''
    if rpm then
      redis.call('ZREMRANGEBYSCORE', rpm_key, '-inf', now - 60)
      if redis.call('ZCARD', rpm_key) >= rpm then
        refused = refused + 1
        local first = redis.call('ZRANGE', rpm_key, 0, 0, 'WITHSCORES')
        if first[2] then oldest = first[2] end
      end
    end
    if concurrent then
      redis.call('ZREMRANGEBYSCORE', slots_key, '-inf', now)
      if redis.call('ZCARD', slots_key) >= concurrent then refused = refused + 2 end
    end
    if daily and tonumber(redis.call('GET', day_key) or '0') + units > daily then
      refused = refused + 4
    end
    if monthly and tonumber(redis.call('GET', month_key) or '0') + units > monthly then
      refused = refused + 8
    end
    if refused ~= 0 then
      answers[i] = {refused, oldest}
    else
      if rpm then
        redis.call('ZADD', rpm_key, now, id)
        redis.call('PEXPIRE', rpm_key, rpm_ttl_ms)
      end
      if concurrent then
        redis.call('ZADD', slots_key, now + slot_ttl, id)
        redis.call('PEXPIRE', slots_key, slots_ttl_ms)
      end
      if daily and redis.call('INCRBY', day_key, units) == units then
        redis.call('EXPIRE', day_key, op[11])
      end
      if monthly and redis.call('INCRBY', month_key, units) == units then
        redis.call('EXPIRE', month_key, op[13])
      end
      answers[i] = 0
    end
  else
    if op[3] ~= '' then redis.call('ZREM', base .. 'slots', op[3]) end
    local units = op[4]
    local counters = {}
    if op[5] ~= '' then counters[#counters + 1] = base .. 'd:' .. op[5] end
    if op[6] ~= '' then counters[#counters + 1] = base .. 'm:' .. op[6] end
    for _, counter in ipairs(counters) do
      if redis.call('EXISTS', counter) == 1 then
        local left = redis.call('DECRBY', counter, units)
        if left < 0 then redis.call('INCRBY', counter, -left) end
      end
    end
    answers[i] = false
  end
end
return answers
"""


class _Op:
    """One queued operation: an admit (``future`` answers its raw script answer), a release
    (no future), or a barrier (no ``op``; ``future`` resolves once everything queued before
    it was sent)."""

    __slots__ = ("future", "op")

    def __init__(self, op: list[Any] | None, future: asyncio.Future[Any] | None) -> None:
        self.op = op
        self.future = future


class RedisLimitStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "g2a:limits:",
        clock: Callable[[], float] = time.time,
        slot_ttl: float = 30.0,
        max_batch_ops: int = MAX_BATCH_OPS,
    ) -> None:
        if slot_ttl <= 0:
            raise ValueError(f"slot_ttl must be positive, got {slot_ttl}")
        if max_batch_ops < 1:
            raise ValueError(f"max_batch_ops must be at least 1, got {max_batch_ops}")
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._slot_ttl = slot_ttl
        self._max_batch_ops = max_batch_ops
        self._slots_key_ttl_ms = math.ceil(max(2 * slot_ttl, WINDOW_SECONDS) * 1000)
        self._rpm_key_ttl_ms = math.ceil(WINDOW_SECONDS * 1000) + WINDOW_KEY_GRACE_MS
        self._header: list[Any] = [
            prefix,
            repr(slot_ttl),
            self._slots_key_ttl_ms,
            self._rpm_key_ttl_ms,
        ]
        self._calendar = UtcCalendar()
        self._batch = redis.register_script(_BATCH)
        self._request_prefix = uuid.uuid4().hex[:12] + "-"
        self._request_ids = itertools.count()
        self._held: dict[str, str] = {}
        """Slots admitted here and not yet released: slot id -> its slots key."""
        self._queue: collections.deque[_Op] = collections.deque()
        self._busy = False
        """A batch is in flight (or the drainer is about to send the queue)."""
        self._drainer: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._closed = False

    # --- sending ---------------------------------------------------------------------------

    async def _run(self, ops: list[list[Any]]) -> list[Any]:
        """One script run of ``ops``, in order; one answer per operation."""
        batch = orjson.dumps(ops)
        try:
            return await self._redis.evalsha(self._batch.sha, 0, *self._header, batch)
        except redis_errors.NoScriptError:
            self._batch.sha = await self._redis.script_load(_BATCH)
            return await self._redis.evalsha(self._batch.sha, 0, *self._header, batch)

    async def _run_alone(self, op: list[Any]) -> Any:
        """Send one operation at once and answer its answer; the caller has set ``_busy``."""
        try:
            return (await self._run([op]))[0]
        finally:
            self._after_run()

    def _after_run(self) -> None:
        if self._queue:
            if self._drainer is None:
                self._drainer = asyncio.get_running_loop().create_task(
                    self._drain(), name="limit-batch-drainer"
                )
        else:
            self._busy = False

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._run_group(self._take())
        finally:
            self._drainer = None
            self._busy = False
            # Only when cancelled (the loop is shutting down): nobody is left waiting.
            self._settle(list(self._queue), redis_errors.ConnectionError("limit store stopping"))
            self._queue.clear()

    def _take(self) -> list[_Op]:
        group: list[_Op] = []
        size = 0
        queue = self._queue
        while queue and size < self._max_batch_ops:
            queued = queue.popleft()
            if queued.future is not None and queued.future.done():
                continue  # its caller gave up before anything was sent: the admit never happens
            group.append(queued)
            if queued.op is not None:
                size += 1
        return group

    async def _run_group(self, group: list[_Op]) -> None:
        ops = [queued.op for queued in group if queued.op is not None]
        answers: list[Any] = []
        if ops:
            try:
                answers = await self._run(ops)
            except (redis_errors.RedisError, OSError) as exc:
                self._settle(group, exc)
                return
            except BaseException as exc:  # cancelled (shutting down) or a bug: nobody hangs
                self._settle(group, redis_errors.ConnectionError(f"limit batch not run: {exc!r}"))
                raise
        index = 0
        for queued in group:
            future, op = queued.future, queued.op
            if op is None:  # a barrier
                if future is not None and not future.done():
                    future.set_result(None)
                continue
            answer = answers[index]
            index += 1
            if future is None:  # a release
                continue
            if not future.done():
                future.set_result(answer)
            elif answer == 0 and op[6] is not False:
                # Admitted after its caller left: give the slot back (nobody will use it).
                self._queue.append(_Op(["r", op[1], op[4], 0, "", ""], None))

    def _settle(self, group: list[_Op], failure: Exception) -> None:
        """Answer ``group`` without a run: admits raise ``failure``, releases are logged."""
        for queued in group:
            future, op = queued.future, queued.op
            if future is None:
                if op is not None:
                    self._log_lost_release(op[1], f"{type(failure).__name__}: {failure}")
            elif not future.done():
                if op is not None:
                    future.set_exception(failure)
                else:
                    future.set_result(None)

    async def _flush(self) -> None:
        """Wait until every operation queued so far was sent and answered."""
        if not self._busy:
            return
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Op(None, future))
        await future

    @staticmethod
    def _log_lost_release(key_id: str, reason: str) -> None:
        log.warning(
            "releasing a limit slot of key %s failed (%s); it expires on its own", key_id, reason
        )

    # --- the LimitStore --------------------------------------------------------------------

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
        request_id = f"{self._request_prefix}{next(self._request_ids)}"
        day = self._calendar.day(now) if daily is not None else None
        month = self._calendar.month(now) if monthly is not None else None
        op = [
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
        ]
        if self._busy:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._queue.append(_Op(op, future))
            answer = await future
        else:
            self._busy = True
            answer = await self._run_alone(op)
        if answer == 0:
            slot = ""
            if concurrent is not None:
                slot = request_id
                self._held[slot] = f"{self._prefix}{key_id}:slots"
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
        """Free the slot (and with ``refund`` give the units back). Sent at once when the
        store is idle; queued for the next batch, without waiting, while one is in flight."""
        slot = admitted.slot
        if slot:
            self._held.pop(slot, None)
        refund = refund and admitted.units > 0 and bool(admitted.day or admitted.month)
        if refund:
            op = ["r", admitted.key_id, slot, admitted.units, admitted.day, admitted.month]
        elif slot:
            op = ["r", admitted.key_id, slot, 0, "", ""]
        else:
            return
        if self._busy:
            self._queue.append(_Op(op, None))
            return
        self._busy = True
        try:
            await self._run_alone(op)
        except (redis_errors.RedisError, OSError) as exc:
            self._log_lost_release(admitted.key_id, f"{type(exc).__name__}: {exc}")

    async def counters(self, key_id: str) -> KeyCounters:
        await self._flush()  # this store's queued releases land first
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
        """Send the releases still queued, then stop the slot refresher. Slots still held are
        not freed here: they expire ``slot_ttl`` after their last refresh (the Redis client
        belongs to the caller)."""
        self._closed = True
        while self._busy:  # until the queue is empty (a flushed batch may queue a release)
            await self._flush()
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
