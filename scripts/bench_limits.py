"""Benchmark the per-key limit stores: CPU per admit+release pair, in the calling process.

Each scenario runs ``--calls`` admit+release pairs from ``--concurrency`` concurrent tasks on
one client key (every pair is admitted: the limits are set high) and reports the process's
CPU time (``time.process_time()``) per pair, the wall time per pair, and for Redis also the
CPU the Redis server spent per pair (``INFO cpu``; other clients of a shared Redis add to it).

Scenarios: ``memory`` and ``redis`` with all four limits set (rpm, concurrency, daily and
monthly quota), ``redis / rpm only`` (one limit, no slot), and ``redis / no limits`` (no round
trip at all). Uses the local Redis (``--redis``) under a unique prefix, deleted afterwards.

    uv run python scripts/bench_limits.py [--calls 20000] [--concurrency 64]
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


async def scenario(
    name: str,
    store: LimitStore,
    limits: ClientKeyLimits,
    args: argparse.Namespace,
    client: aioredis.Redis | None,
) -> None:
    await drive(store, limits, min(1000, args.calls), args.concurrency)  # warm up, load scripts
    gc.collect()
    server_before = await redis_cpu(client) if client is not None else 0.0
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    await drive(store, limits, args.calls, args.concurrency)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    line = (
        f"{name:<22} {cpu / args.calls * 1e6:8.1f} µs CPU/pair   "
        f"{wall / args.calls * 1e6:8.1f} µs wall/pair"
    )
    if client is not None:
        server = await redis_cpu(client) - server_before
        line += f"   redis server {server / args.calls * 1e6:6.1f} µs CPU/pair"
    print(line, flush=True)


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.calls} admit+release pairs, {args.concurrency} concurrent, one key "
        f"(CPU = this process's time.process_time())"
    )
    memory = MemoryLimitStore()
    await scenario("memory / every limit", memory, EVERY_LIMIT, args, None)
    await scenario("memory / no limits", memory, NO_LIMITS, args, None)
    await memory.aclose()

    client = aioredis.Redis.from_url(args.redis, max_connections=args.concurrency + 4)
    prefix = f"bench:limits:{uuid.uuid4().hex}:"
    store = RedisLimitStore(client, prefix=prefix)
    try:
        await scenario("redis / every limit", store, EVERY_LIMIT, args, client)
        await scenario("redis / rpm only", store, RPM_ONLY, args, client)
        await scenario("redis / no limits", store, NO_LIMITS, args, client)
    finally:
        await store.aclose()
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
