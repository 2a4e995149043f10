"""Benchmark the per-key limit stores: CPU per admit+release pair, in the calling process.

Each scenario runs ``--calls`` admit+release pairs from N concurrent tasks on one client key
(every pair is admitted: the limits are set high) and reports the process's CPU time
(``time.process_time()``) per pair, the wall time per pair, and for Redis also the CPU the
Redis server spent per pair (``INFO cpu``) and the script runs per pair (``INFO
commandstats``, EVALSHA calls): the coalesced store sends one run per batch of admits and
releases, a release rides the next admit's run, and a key this far from its limits is lent
most admissions from a grant (up to 32 per run), so runs per pair are about 1/32 at any
concurrency (1 per pair when the store is built with ``grant_max=1``). Other clients of a
shared Redis add to both server figures.

Scenarios: ``memory`` with all four limits set (rpm, concurrency, daily and monthly quota);
``redis`` with all four limits at each ``--concurrency`` (default 1, 8 and 64); ``redis / rpm
only`` (one limit, no slot) and ``redis / no limits`` (no round trip at all) at the highest.
Uses the local Redis (``--redis``) under a unique prefix, deleted afterwards.

    uv run python scripts/bench_limits.py [--calls 20000] [--concurrency 1 8 64] [--uvloop]

``--uvloop`` runs on uvloop, the event loop the gateway runs on; the default is asyncio's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid

import redis.asyncio as aioredis
from gateway.access.limits import Admitted, LimitStore
from gateway.access.memory_limits import MemoryLimitStore
from gateway.access.redis_limits import RedisLimitStore
from grok2api_storage.records import ClientKeyLimits

HIGH = 10**12
EVERY_LIMIT = ClientKeyLimits(
    rate_limit_per_minute=HIGH, max_concurrent=HIGH, daily_quota=HIGH, monthly_quota=HIGH
)
RPM_ONLY = ClientKeyLimits(rate_limit_per_minute=HIGH)
NO_LIMITS = ClientKeyLimits()


async def drive(store: LimitStore, limits: ClientKeyLimits, calls: int, concurrency: int) -> None:
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            admitted = await store.admit("bench-key", limits, units=1)
            assert isinstance(admitted, Admitted), admitted
            await store.release(admitted)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def redis_cpu(client: aioredis.Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def evalsha_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def scenario(
    name: str,
    store: LimitStore,
    limits: ClientKeyLimits,
    calls: int,
    concurrency: int,
    client: aioredis.Redis | None,
) -> None:
    await drive(store, limits, min(1000, calls), concurrency)  # warm up, load scripts
    await store.counters("bench-key")  # and let the last queued releases land
    gc.collect()
    server_before = await redis_cpu(client) if client is not None else 0.0
    runs_before = await evalsha_calls(client) if client is not None else 0
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    await drive(store, limits, calls, concurrency)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    line = (
        f"{name:<24} c={concurrency:<3} {cpu / calls * 1e6:7.1f} µs CPU/pair  "
        f"{wall / calls * 1e6:7.1f} µs wall/pair"
    )
    if client is not None:
        await store.counters("bench-key")  # releases still queued are part of the work
        server = await redis_cpu(client) - server_before
        runs = await evalsha_calls(client) - runs_before
        line += (
            f"  redis server {server / calls * 1e6:6.1f} µs CPU/pair"
            f"  {runs / calls:5.3f} script runs/pair"
        )
    print(line, flush=True)


async def main(args: argparse.Namespace) -> None:
    top = max(args.concurrency)
    print(
        f"{args.calls} admit+release pairs per line, one key, "
        f"{'uvloop' if args.uvloop else 'asyncio'} event loop "
        f"(CPU = this process's time.process_time(); c = concurrent tasks)"
    )
    memory = MemoryLimitStore()
    await scenario("memory / every limit", memory, EVERY_LIMIT, args.calls, top, None)
    await memory.aclose()

    client = aioredis.Redis.from_url(args.redis, max_connections=top + 4)
    prefix = f"bench:limits:{uuid.uuid4().hex}:"
    store = RedisLimitStore(client, prefix=prefix)
    try:
        for concurrency in args.concurrency:
            await scenario(
                "redis / every limit", store, EVERY_LIMIT, args.calls, concurrency, client
            )
        await scenario("redis / rpm only", store, RPM_ONLY, args.calls, top, client)
        await scenario("redis / no limits", store, NO_LIMITS, args.calls, top, client)
    finally:
        await store.aclose()
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (as the gateway)")
    arguments = parser.parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
