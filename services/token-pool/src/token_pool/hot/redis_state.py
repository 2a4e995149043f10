"""Hot state in Redis, shared by every replica on the same key prefix.

Keys (``P`` = prefix): ``P:a:<id>`` hash per account (tier, status ``st``, cooldown ``cu``,
in-flight ``inf``, failures ``fl``, transient streak ``ts`` and the cooldown it gave ``tu``,
last failure ``lf``, last lease ``lu``, last refresh ``rf``, refused products ``rp``
(comma-separated), and per mode ``r:``/``t:``/``w:``/``z:``/``s:`` =
remaining/total/window/reset/source), ``P:tier:<tier>`` and ``P:all`` sets, ``P:out``
(invalid or disabled accounts), ``P:trs`` (accounts failing transiently since the last
success), ``P:leases`` (zset lease → expiry) with ``P:ld`` (lease → account|mode|cost, and
``|product`` for image and video models),
``P:tt:<tier>:<tag>`` sets (the tier's accounts carrying the tag; the account's own tags
are its field ``tg``, a JSON list), ``P:ready`` (set once the state was built from the
durable store; its absence after a Redis restart or flush triggers a rebuild, and so does
an older value than ``READY_VERSION``: a state built before the tag index had none),
``P:lock:<name>`` locks, ``P:changes`` channel; egresses (``bind.lua``): the account's field
``eg``, ``P:egc`` (egress → cap), ``P:egn`` (egress → bound accounts), ``P:egi`` (egress →
leases in flight) and ``P:lde`` (lease → the egress whose slot it holds).

Each mutation is one Lua script (``lua/``), so selection plus reservation is atomic across
replicas; acquires and releases travel in batches (``batch.lua``), one round trip and one
script run for however many arrived together. Scripts touch keys derived from the prefix,
so this needs one Redis (not Cluster).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis
from grok2api_jobs import raise_if_cancelling
from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, QuotaSource, QuotaWindow
from grok2api_poolclient.leases import QuotaFigures, Tier
from redis import exceptions as redis_errors

from . import base, outcomes

_SCRIPTS = ("batch", "usage", "put", "reclaim", "renew", "unlock", "bind")
# The ``P:ready`` value of a hot state this code built: "2" holds the account tag index.
READY_VERSION = "2"
# Script answers name tiers and statuses by value; a dict lookup is cheaper than Enum(value).
_TIERS = {tier.value: tier for tier in Tier}
_STATUSES = {status.value: status for status in AccountStatus}


def _load(name: str) -> str:
    lua = resources.files(__package__).joinpath("lua")
    return lua.joinpath("common.lua").read_text() + lua.joinpath(f"{name}.lua").read_text()


def _figure_args(figures: Sequence[QuotaFigures]) -> list[Any]:
    args: list[Any] = []
    for f in figures:
        args += [f.mode, f.remaining, "" if f.total is None else f.total]
        args.append("" if f.window_seconds is None else f.window_seconds)
    return args


class RedisHotState:
    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._scripts = {name: client.register_script(_load(name)) for name in _SCRIPTS}
        self._random = random.Random()

    async def _run(self, name: str, args: Sequence[Any]) -> Any:
        try:
            return await self._scripts[name](keys=[], args=list(args))
        except redis_errors.RedisError as exc:
            raise errors.PoolUnavailable(f"redis hot state failed: {type(exc).__name__}") from exc

    async def run_batch(
        self, *, releases: Sequence[base.ReleaseParams], acquires: Sequence[base.AcquireParams]
    ) -> base.BatchResult:
        now = max([r.now for r in releases] + [a.now for a in acquires], default=0.0)
        args = [
            self._prefix, now, base.INFLIGHT_PENALTY, base.SAMPLE_SIZE,
            orjson.dumps([_release_item(r) for r in releases]),
            orjson.dumps([self._acquire_item(a) for a in acquires]),
            base.RECENT_FAILURE_SECONDS, base.DEMOTION,
        ]  # fmt: skip
        answers = await self._run("batch", args)
        return base.BatchResult(
            released=[
                _released(params, answer) for params, answer in zip(releases, answers, strict=False)
            ],
            acquired=[_acquired(answer) for answer in answers[len(releases) :]],
        )

    def _acquire_item(self, params: base.AcquireParams) -> list[Any]:
        tiers = [
            (tier.value, params.defaults[tier].total, params.defaults[tier].window_seconds)
            for tier in params.tiers
        ]
        return [
            params.lease_id, params.mode, params.cost, params.now, params.expires_at,
            params.max_inflight, params.policy, self._random.random(), tiers,
            list(params.exclude), params.product, params.account_id, list(params.tags),
        ]  # fmt: skip

    async def put(self, seed: base.AccountSeed) -> None:
        args: list[Any] = [
            self._prefix, seed.account_id, seed.tier.value, seed.base_status, int(seed.reset),
            int(seed.clear_refusals), orjson.dumps(list(seed.tags)),
        ]  # fmt: skip
        for w in seed.quota:
            args += [w.mode, w.remaining, w.total, w.window_seconds, w.reset_at or 0, w.source]
        await self._run("put", args)

    async def remove(self, account_id: str) -> None:
        key = f"{self._prefix}:a:{account_id}"
        try:
            tier, tags, egress = await self._redis.hmget(key, ["tier", "tg", "eg"])
            async with self._redis.pipeline(transaction=True) as pipe:
                if egress is not None and _text(egress) != base.NO_EGRESS:
                    pipe.hincrby(f"{self._prefix}:egn", _text(egress), -1)
                if tier is not None:
                    pipe.srem(f"{self._prefix}:tier:{_text(tier)}", account_id)
                    for tag in orjson.loads(tags) if tags else ():
                        pipe.srem(f"{self._prefix}:tt:{_text(tier)}:{tag}", account_id)
                pipe.srem(f"{self._prefix}:all", account_id)
                pipe.srem(f"{self._prefix}:out", account_id)
                pipe.delete(key)
                await pipe.execute()
        except redis_errors.RedisError as exc:
            raise errors.PoolUnavailable("redis hot state failed") from exc

    async def bind_egress(
        self, account_id: str, *, candidates: Sequence[str], prefer: str = ""
    ) -> str | None:
        args = [self._prefix, account_id, orjson.dumps(list(candidates)), prefer]
        answer = await self._run("bind", args)
        return None if answer is None else _text(answer)

    async def set_egress_caps(self, caps: Mapping[str, int]) -> None:
        key = f"{self._prefix}:egc"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                for egress_id, cap in caps.items():
                    pipe.hset(key, egress_id, cap)
                await pipe.execute()
        except redis_errors.RedisError as exc:
            raise errors.PoolUnavailable("redis hot state failed") from exc

    async def egress_loads(self) -> dict[str, base.EgressLoad]:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name in ("egc", "egn", "egi"):
                    pipe.hgetall(f"{self._prefix}:{name}")
                caps, bound, inflight = await pipe.execute()
        except redis_errors.RedisError as exc:
            raise errors.PoolUnavailable("redis hot state failed") from exc
        bound = {_text(k): int(v) for k, v in bound.items()}
        inflight = {_text(k): int(v) for k, v in inflight.items()}
        known = {_text(k) for k in caps} | set(bound) | set(inflight)
        return {
            e: base.EgressLoad(bound=bound.get(e, 0), inflight=inflight.get(e, 0)) for e in known
        }

    async def carries_tags(self, tags: Sequence[str]) -> bool:
        keys = [f"{self._prefix}:tt:{tier.value}:{tag}" for tier in Tier for tag in tags]
        try:
            return bool(keys) and int(await self._redis.exists(*keys)) > 0
        except redis_errors.RedisError as exc:
            raise errors.PoolUnavailable("redis hot state failed") from exc

    async def apply_usage(
        self, account_id: str, *, figures: Sequence[QuotaFigures], now: float
    ) -> None:
        await self._run("usage", [self._prefix, account_id, now, *_figure_args(figures)])

    async def accounts(
        self, account_ids: Sequence[str] | None = None
    ) -> dict[str, base.HotAccount]:
        try:
            if account_ids is None:
                account_ids = sorted(
                    _text(i) for i in await self._redis.smembers(f"{self._prefix}:all")
                )
            async with self._redis.pipeline(transaction=False) as pipe:
                for account_id in account_ids:
                    pipe.hgetall(f"{self._prefix}:a:{account_id}")
                rows = await pipe.execute()
        except redis_errors.RedisError as exc:
            raise errors.PoolUnavailable("redis hot state failed") from exc
        return {
            account_id: _view(account_id, {_text(k): _text(v) for k, v in row.items()})
            for account_id, row in zip(account_ids, rows, strict=True)
            if row
        }

    async def leases_in_flight(self) -> int:
        return int(await self._redis.zcard(f"{self._prefix}:leases"))

    async def renew(self, lease_id: str, *, expires_at: float) -> bool:
        return bool(await self._run("renew", [self._prefix, lease_id, expires_at]))

    async def reclaim(self, *, now: float) -> int:
        return int(await self._run("reclaim", [self._prefix, now, 1000]))

    async def is_ready(self) -> bool:
        value = await self._redis.get(f"{self._prefix}:ready")
        return value is not None and _text(value) == READY_VERSION

    async def mark_ready(self) -> None:
        await self._redis.set(f"{self._prefix}:ready", READY_VERSION)

    async def try_lock(self, name: str, *, ttl_seconds: float) -> str | None:
        token = uuid.uuid4().hex
        key = f"{self._prefix}:lock:{name}"
        taken = await self._redis.set(key, token, nx=True, px=max(1, int(ttl_seconds * 1000)))
        return token if taken else None

    async def unlock(self, name: str, token: str) -> None:
        await self._run("unlock", [f"{self._prefix}:lock:{name}", token])

    async def publish(self, message: bytes) -> None:
        await self._redis.publish(f"{self._prefix}:changes", message)

    async def subscribe(self) -> AsyncIterator[bytes]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(f"{self._prefix}:changes")
        try:
            async for item in pubsub.listen():
                # redis-py on 3.11 can hand back an item (a message, or the subscribe
                # confirmation) that raced a cancel and drop the cancel: re-raise it, or
                # closing the pool would wait for the next change notice.
                raise_if_cancelling()
                if item.get("type") == "message":
                    data = item["data"]
                    yield data if isinstance(data, bytes) else str(data).encode()
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        """The Redis client belongs to the caller; nothing of ours to close."""


def _release_item(params: base.ReleaseParams) -> list[Any]:
    effect = outcomes.effect_of(params.outcome)
    figures = [
        (f.mode, f.remaining, "" if f.total is None else f.total,
         "" if f.window_seconds is None else f.window_seconds)
        for f in params.figures
    ]  # fmt: skip
    return [
        params.lease_id, params.account_id, params.mode, params.cost, params.outcome.value,
        params.now, "" if params.retry_after is None else params.retry_after,
        params.fail_threshold, params.default_window_seconds, int(effect.refund),
        int(effect.blame), figures, params.transient_threshold, params.transient_cooldown,
        outcomes.MAX_DOUBLINGS, int(effect.failed),
    ]  # fmt: skip


def _released(params: base.ReleaseParams, answer: list[Any]) -> base.ReleaseResult | None:
    if _text(answer[0]) == "gone":
        return None
    return base.ReleaseResult(
        account_id=params.account_id,
        status=_STATUSES[_text(answer[1])],
        previous_status=_STATUSES[_text(answer[2])],
        held=int(answer[3]) == 1,
    )


def _acquired(answer: list[Any]) -> base.AcquireAnswer:
    kind = _text(answer[0])
    if kind == "ok":
        return base.Reservation(
            account_id=_text(answer[1]), tier=_TIERS[_text(answer[2])], egress_id=_text(answer[3])
        )
    if kind == "not_ready":
        return base.NotReady()
    retry_at = float(answer[4])
    return outcomes.exhausted_error(
        n_cooling=int(answer[1]),
        n_no_quota=int(answer[2]),
        n_busy=int(answer[3]),
        retry_at=retry_at or None,
        n_refused=int(answer[5]),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _view(account_id: str, row: dict[str, str]) -> base.HotAccount:
    modes = sorted(key[2:] for key in row if key.startswith("t:"))
    quota = tuple(
        QuotaWindow(
            mode=mode,
            remaining=int(float(row.get(f"r:{mode}", 0))),
            total=int(float(row[f"t:{mode}"])),
            window_seconds=int(float(row.get(f"w:{mode}", 0))),
            reset_at=float(row.get(f"z:{mode}", 0)) or None,
            source=QuotaSource(row.get(f"s:{mode}", "default")),
        )
        for mode in modes
    )
    return base.HotAccount(
        account_id=account_id,
        tier=Tier(row.get("tier", "basic")),
        status=AccountStatus(row.get("st", "active")),
        cooling_until=float(row.get("cu", 0)) or None,
        inflight=int(row.get("inf", 0)),
        fail_count=int(row.get("fl", 0)),
        last_refresh_at=float(row.get("rf", 0)) or None,
        quota=quota,
        refused=tuple(sorted(p for p in row.get("rp", "").split(",") if p)),
        last_used_at=float(row.get("lu", 0)) or None,
        tags=tuple(orjson.loads(row["tg"])) if row.get("tg") else (),
        egress_id=row.get("eg", ""),
    )
